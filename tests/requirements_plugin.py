"""Requirement markers: `@pytest.mark.requirement("QC-03", "QC-04")` says which requirements of
`docs/requirements.yaml` a test verifies (SPEC §2.10).

At collection every marked test's ids are checked against the register: an unknown or retired id
stops the run before any test runs, so the traceability matrix never cites a requirement that
does not exist. Each marked test carries its ids (and its node id) as JUnit properties, which
`manage.py validation_report --junit` reads.
"""

import pytest

from radiopharmacy.validation.junit import NODEID_PROPERTY, REQUIREMENTS_PROPERTY
from radiopharmacy.validation.register import load_register


def requirement_ids(item: pytest.Item) -> list[str]:
    """The ids the test's requirement markers name (its class's and module's included)."""
    ids: list[str] = []
    for marker in item.iter_markers("requirement"):
        ids.extend(str(arg) for arg in marker.args)
    return list(dict.fromkeys(ids))


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "requirement(*ids): the requirements of docs/requirements.yaml this test verifies "
        "(SPEC §2.10)",
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    register = None
    problems = []
    for item in items:
        if item.get_closest_marker("requirement") is None:
            continue
        register = register if register is not None else load_register()
        ids = requirement_ids(item)
        if not ids:
            problems.append(f"{item.nodeid}: a requirement marker names no id")
            continue
        unknown = [i for i in ids if i not in register]
        retired = [i for i in ids if i in register and register[i].retired]
        if unknown:
            problems.append(f"{item.nodeid}: not in docs/requirements.yaml: {', '.join(unknown)}")
        if retired:
            problems.append(f"{item.nodeid}: retired requirement: {', '.join(retired)}")
        item.user_properties.append((REQUIREMENTS_PROPERTY, " ".join(ids)))
        item.user_properties.append((NODEID_PROPERTY, item.nodeid))
    if problems:
        raise pytest.UsageError("Unknown requirement ids in markers:\n  " + "\n  ".join(problems))
