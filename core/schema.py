"""What the typed schemas of the definition files share: the base model, the small types,
and the translation of a validation error into the file's key path and a plain problem.
Pure Python (pydantic): no Django import."""

from collections.abc import Callable, Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

KEY_PATTERN = r"^[a-z0-9][a-z0-9_]*$"
TRIAL_CODE_PATTERN = r"^[A-Z]{2,6}$"
ARM_CODE_PATTERN = r"^[A-Z][A-Z0-9_]*$"
PATTERN_PROBLEMS = {
    KEY_PATTERN: "must be a key of lower-case letters, digits and underscores",
    TRIAL_CODE_PATTERN: "must be 2 to 6 capital letters",
    ARM_CODE_PATTERN: "arm codes are capital letters, digits and underscores",
}

# Scalars are strict (a quoted "5" is not a number, 1 is not true); lists may be any sequence.
Key = Annotated[StrictStr, Field(pattern=KEY_PATTERN)]
Text = Annotated[StrictStr, Field(min_length=1, pattern=r"\S")]
Whole = StrictInt
Flag = StrictBool
Number = StrictInt | float  # a whole number stays whole


class Schema(BaseModel):
    """A section of a definition file: unknown keys are refused, values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class At(ValueError):
    """A problem found across fields, with the key path it belongs to (relative to the
    model that raised it)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(problem)
        self.path, self.problem = path, problem


def unique_keys(items: Sequence[Any], where: str) -> None:
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.key in seen:
            raise At(f"{where}[{i}].key", f"'{item.key}' appears twice")
        seen.add(item.key)


def _problem(error: dict) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    if kind in ("string_type", "string_too_short"):
        return "must be a non-empty str"
    if kind == "string_pattern_mismatch":
        return PATTERN_PROBLEMS.get(ctx.get("pattern"), "must be a non-empty str")
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "must be a whole number"
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        return f"must be a whole number, {bound} or more"
    if kind in ("float_type", "float_parsing"):
        return "must be a number"
    if kind in ("bool_type", "bool_parsing"):
        return "must be true or false"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}".replace("'", "")
    if kind in ("list_type", "tuple_type", "frozen_set_type", "set_type"):
        return "must be a list"
    if kind == "too_short":
        return "must be a non-empty list" if error.get("input") == [] else "is too short"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "must be a mapping"
    if kind == "value_error":
        cause = ctx.get("error")
        return cause.problem if isinstance(cause, At) else str(cause)
    return error["msg"]


def key_path(
    loc: Sequence[str | int], data: Any, named: Callable[[tuple], bool] | None = None
) -> str:
    """A location as the file's key path: `schedule.visits[1].day`. Where `named` says so
    for a list's path, its items are named by their key (a form's fields: `fields.mood.type`)."""
    path, node, seen = "", data, []
    for part in loc:
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and part < len(node) else None
            key = item.get("key") if isinstance(item, dict) else None
            if named and named(tuple(seen)) and isinstance(key, str):
                path = f"{path}.{key}"
            else:
                path = f"{path}[{part}]"
            node = item
        else:
            path = f"{path}.{part}" if path else str(part)
            node = node.get(part) if isinstance(node, dict) else None
        seen.append(part)
    return path


def first_problem(
    exc: ValidationError, data: Any, named: Callable[[tuple], bool] | None = None
) -> tuple[str, str]:
    """The first error of a validation as (key path, problem)."""
    error = exc.errors(include_url=False)[0]
    path = key_path(error["loc"], data, named)
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, At):
        path = f"{path}.{cause.path}" if path and cause.path else (cause.path or path)
    return path or "(file)", _problem(error)
