"""The requirements register `docs/requirements.yaml`: ids, texts and source clauses."""

from dataclasses import dataclass
from pathlib import Path

import yaml

REGISTER_PATH = Path(__file__).resolve().parents[2] / "docs" / "requirements.yaml"

REQUIRED_FIELDS = ("id", "text", "source")


class RegisterError(ValueError):
    """The register file is malformed (a missing field, a duplicate id)."""


@dataclass(frozen=True)
class Requirement:
    id: str
    text: str
    source: str
    retired: str = ""


def load_register(path: Path | None = None) -> dict[str, Requirement]:
    """The register's requirements by id, in the file's order."""
    path = path or REGISTER_PATH
    # The C loader where libyaml is there: the register is read at every test collection.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}
    entries = data.get("requirements")
    if not isinstance(entries, list):
        raise RegisterError(f"{path.name}: a top-level 'requirements' list is required")
    register: dict[str, Requirement] = {}
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise RegisterError(f"{path.name}: entry {number} is not a mapping")
        missing = [name for name in REQUIRED_FIELDS if not str(entry.get(name) or "").strip()]
        if missing:
            raise RegisterError(f"{path.name}: entry {number} lacks {', '.join(missing)}")
        requirement_id = str(entry["id"]).strip()
        if requirement_id in register:
            raise RegisterError(f"{path.name}: id {requirement_id} appears twice")
        register[requirement_id] = Requirement(
            id=requirement_id,
            text=str(entry["text"]).strip(),
            source=str(entry["source"]).strip(),
            retired=str(entry.get("retired") or "").strip(),
        )
    return register
