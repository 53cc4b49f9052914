"""Reads and checks a trial definition file. Errors name the file, the key and the problem."""

import hashlib
import re
from pathlib import Path
from typing import Any

import yaml


class DefinitionError(Exception):
    def __init__(self, path: Path | str, key: str, problem: str) -> None:
        super().__init__(f"{path}: {key}: {problem}")
        self.path, self.key, self.problem = str(path), key, problem


# Each section's keys: name -> (type, required). Later capabilities add their sections here.
SECTIONS: dict[str, dict[str, tuple[type, bool]]] = {
    "trial": {
        "code": (str, True),
        "short_name": (str, True),
        "name": (str, True),
        "sponsor": (str, True),
    },
}
REQUIRED_SECTIONS = {"trial"}


def read_definition(path: Path | str) -> tuple[dict[str, Any], str]:
    """The checked definition and the SHA-256 of the file's bytes."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DefinitionError(path, "(file)", f"cannot be read: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise DefinitionError(path, "(file)", f"is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise DefinitionError(path, "(file)", "must be a mapping of sections")
    check_definition(path, data)
    return data, hashlib.sha256(raw).hexdigest()


def check_definition(path: Path | str, data: dict[str, Any]) -> None:
    for section in sorted(REQUIRED_SECTIONS - set(data)):
        raise DefinitionError(path, section, "required section is missing")
    for section, body in data.items():
        if section not in SECTIONS:
            raise DefinitionError(path, section, f"unknown section (known: {', '.join(SECTIONS)})")
        if not isinstance(body, dict):
            raise DefinitionError(path, section, "must be a mapping")
        spec = SECTIONS[section]
        for key in body:
            if key not in spec:
                raise DefinitionError(path, f"{section}.{key}", "unknown key")
        for key, (kind, required) in spec.items():
            if key not in body:
                if required:
                    raise DefinitionError(path, f"{section}.{key}", "required key is missing")
                continue
            if not isinstance(body[key], kind) or (kind is str and not body[key].strip()):
                raise DefinitionError(
                    path, f"{section}.{key}", f"must be a non-empty {kind.__name__}"
                )
    if not re.fullmatch(r"[A-Z]{2,6}", data["trial"]["code"]):
        raise DefinitionError(path, "trial.code", "must be 2 to 6 capital letters")
