"""The JSON Schemas of the definition files, as published under docs/schemas/ for the
editors of trial designers. Made from the typed models, never written by hand."""

import json
from pathlib import Path

from pydantic import BaseModel

SCHEMAS_DIR = Path(__file__).resolve().parents[1] / "docs" / "schemas"


def json_schema(model: type[BaseModel], *, name: str, title: str) -> dict:
    schema = model.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://reconnect-trial.example/schemas/{name}",
        **schema,
        "title": title,
    }


def schema_text(schema: dict) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
