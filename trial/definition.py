"""Reads and checks a trial definition file against its schema (trial/schema.py). Errors
name the file, the key path and the problem."""

import hashlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from core.schema import first_problem

from .schema import TrialDefinition


class DefinitionError(Exception):
    def __init__(self, path: Path | str, key: str, problem: str) -> None:
        super().__init__(f"{path}: {key}: {problem}")
        self.path, self.key, self.problem = str(path), key, problem


SECTIONS = ", ".join(TrialDefinition.model_fields)


def validated(data: Any, path: Path | str) -> TrialDefinition:
    """The definition as its typed model, or the first problem with its key path."""
    if not isinstance(data, dict):
        raise DefinitionError(path, "(file)", "must be a mapping of sections")
    try:
        return TrialDefinition.model_validate(data)
    except ValidationError as exc:
        key, problem = first_problem(exc, data)
        if "." not in key and "[" not in key:
            problem = {
                "unknown key": f"unknown section (known: {SECTIONS})",
                "required key is missing": "required section is missing",
            }.get(problem, problem)
        raise DefinitionError(path, key, problem) from None


def read_definition(path: Path | str) -> tuple[dict[str, Any], str]:
    """The checked definition (as read from the file) and the SHA-256 of the file's bytes."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DefinitionError(path, "(file)", f"cannot be read: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise DefinitionError(path, "(file)", f"is not valid YAML: {exc}") from exc
    validated(data, path)
    return data, hashlib.sha256(raw).hexdigest()
