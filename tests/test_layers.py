"""The layer contract of pyproject.toml ([tool.importlinter]) holds on the code, and breaks as
soon as a lower layer imports an upper one (checked on a copy of the tree with deliberate
violations, the way `make lint` runs it)."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("radiopharmacy", "qc", "scheduling", "tests")


def _copy_tree(target: Path) -> None:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, target / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")


def _lint_imports(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def test_lint_imports_passes_on_the_tree_and_names_each_deliberate_violation(tmp_path):
    _copy_tree(tmp_path)
    intact = _lint_imports(tmp_path)
    assert intact.returncode == 0, intact.stdout + intact.stderr

    # The foundation reaching into an app, the production domain into QC, QC into scheduling,
    # a pure module into Django, the product into the tests.
    _append(tmp_path / "radiopharmacy/core/sitetime.py", "import radiopharmacy.services.batches")
    _append(tmp_path / "radiopharmacy/services/batches.py", "import qc.guards")
    _append(tmp_path / "qc/guards.py", "import scheduling.selectors")
    _append(tmp_path / "radiopharmacy/physics.py", "import django.conf")
    _append(tmp_path / "scheduling/selectors.py", "import tests.factories")
    broken = _lint_imports(tmp_path)
    report = broken.stdout + broken.stderr
    assert broken.returncode != 0, report
    for importer, imported in [
        ("radiopharmacy.core.sitetime", "radiopharmacy.services.batches"),
        ("radiopharmacy.services.batches", "qc.guards"),
        ("qc.guards", "scheduling.selectors"),
        ("radiopharmacy.physics", "django"),
        ("scheduling.selectors", "tests.factories"),
    ]:
        assert f"{importer} -> {imported}" in report, (importer, imported, report)
