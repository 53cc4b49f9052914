"""Every API query parameter and body field that takes a trial identifier checks its check
character: a mistyped one is a 400 naming the parameter, never an empty list. The places are
found by walking the OpenAPI schema (by the identifier mark, and by name as a safety net),
so that a new one is tested with the rest."""

import re
from functools import cache

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers

from api.fields import IDENTIFIER_MARK, TypedIdentifierField
from tests.access import crf_query, family_at
from trial.identifiers import CHECK_SYMBOLS

METHODS = ("get", "post", "put", "patch", "delete")
# Named for an identifier: family, screening, identifier, family_identifier, ... (not a
# person's family_name).
IDENTIFIER_NAMES = re.compile(
    r"(?:^|_)(?:family|identifier|screening)(?:_identifier)?$", re.IGNORECASE
)
# What the walk must find at least: if it finds fewer, the walk is broken, not the API.
KNOWN = {
    ("get", "/api/v1/audit/events/", "family"),
    ("get", "/api/v1/audit/events/export/", "family"),
    ("get", "/api/v1/queries/", "family"),
    ("get", "/api/v1/families/", "identifier"),
    ("get", "/api/v1/screening/", "identifier"),
}


@cache
def _schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _takes_identifier(name: str, schema: dict) -> bool:
    """Marked as an identifier; or named like one and a string (an integer `family` or
    `screening` is a record's id, which holds no check character)."""
    if schema.get(IDENTIFIER_MARK):
        return True
    return bool(IDENTIFIER_NAMES.search(name)) and schema.get("type") == "string"


def _resolved(schema: dict, components: dict) -> dict:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _resolved(schema["allOf"][0], components)
    return schema


def _body_fields(schema: dict, components: dict, prefix: tuple = ()) -> list[tuple]:
    """The writable properties of a request body that take an identifier, as paths into it
    (nested objects followed; a list's first item stands for its items)."""
    schema = _resolved(schema, components)
    found = []
    for name, prop in schema.get("properties", {}).items():
        if prop.get("readOnly"):
            continue
        resolved = _resolved(prop, components)
        path = (*prefix, name)
        if resolved.get("type") == "object" and "properties" in resolved:
            found += _body_fields(resolved, components, path)
        elif resolved.get("type") == "array":
            items = _resolved(resolved.get("items", {}), components)
            if "properties" in items:
                found += _body_fields(items, components, (*path, 0))
        elif _takes_identifier(name, {**resolved, **prop}):
            found.append(path)
    return found


def identifier_places() -> set[tuple]:
    """(method, path, name) for each query parameter, and (method, path, (body path,)) for
    each body field, that takes an identifier."""
    schema = _schema()
    components = schema["components"]["schemas"]
    places = set()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and _takes_identifier(
                    parameter["name"], {**parameter.get("schema", {}), **parameter}
                ):
                    places.add((method, path, parameter["name"]))
            for content in operation.get("requestBody", {}).get("content", {}).values():
                for field in _body_fields(content["schema"], components):
                    places.add((method, path, field))
                break  # the JSON body stands for the others
    return places


PLACES = sorted(identifier_places(), key=str)


def test_the_walk_finds_every_identifier_parameter_we_know_of():
    assert set(PLACES) >= KNOWN, KNOWN - set(PLACES)


def test_the_known_parameters_carry_the_identifier_mark_and_say_so():
    schema = _schema()
    for method, path, name in KNOWN:
        (parameter,) = (p for p in schema["paths"][path][method]["parameters"] if p["name"] == name)
        assert parameter[IDENTIFIER_MARK] is True
        assert "check character" in parameter["description"]


def _mistyped(identifier: str) -> str:
    wrong = next(c for c in CHECK_SYMBOLS if c != identifier[-1])
    return identifier[:-1] + wrong


def _path_values(world) -> dict:
    """How to fill the path of an endpoint that takes an identifier: a record of BUC."""
    family = family_at(world, "BUC")
    values = {"family_id": family.pk, "screening_id": family.screening_id}
    if any("{query_id}" in path or "{response_id}" in path for _, path, _ in PLACES):
        query = crf_query(world)
        values |= {"query_id": query.pk, "response_id": query.response_id}
        values["family_id"] = query.family_id
    return values


def _nested(field: tuple, value) -> dict | list:
    head, *rest = field
    inner = _nested(tuple(rest), value) if rest else value
    return [inner] if isinstance(head, int) else {head: inner}


def _example(schema: dict, components: dict):
    """A value the schema accepts, for a body's other required fields: so that a check made
    after the body is read (in the view, or the service) is reached too."""
    schema = _resolved(schema, components)
    if "enum" in schema:
        return next(v for v in schema["enum"] if v is not None)
    kind, form = schema.get("type"), schema.get("format")
    if kind == "string":
        return {"date": "2026-01-05", "date-time": "2026-01-05T10:00:00Z"}.get(form, "x")
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    return {
        name: _example(prop, components)
        for name, prop in schema.get("properties", {}).items()
        if name in schema.get("required", ())
    }


def _bodies(method: str, path: str, field: tuple, bad: str) -> list:
    """The field alone, and the body's required fields filled in besides."""
    schema = _schema()
    components = schema["components"]["schemas"]
    content = schema["paths"][path][method]["requestBody"]["content"]
    full = _example(next(iter(content.values()))["schema"], components)
    if len(field) == 1:
        full[field[0]] = bad
    else:
        full = {**full, **_nested(field, bad)}
    return [_nested(field, bad), full]


def _named(error: dict, name: str) -> bool:
    fields = error.get("fields", {})
    return name in fields and any("check character" in m for m in fields[name])


@pytest.mark.parametrize(("method", "path", "name"), PLACES, ids=str)
def test_a_mistyped_check_character_is_400_naming_the_parameter(world, api, method, path, name):
    family = family_at(world, "BUC")
    bad = _mistyped(family.identifier)
    values = _path_values(world)
    missing = set(re.findall(r"{(\w+)}", path)) - set(values)
    assert not missing, f"say how to fill {missing} of {path} in _path_values"
    url = path.format(**values)
    answers = {}
    field = name if isinstance(name, str) else ".".join(str(part) for part in name)
    for account, user in world.users.items():
        client = api(user)
        if isinstance(name, str):
            sent = [getattr(client, method)(url, {name: bad})]
        else:
            sent = [
                getattr(client, method)(url, body, format="json")
                for body in _bodies(method, path, name, bad)
            ]
        for answer in sent:
            assert answer.status_code < 500, (account, answer.content)
            assert not 200 <= answer.status_code < 300, (
                f"{account} got {answer.status_code} for {field}={bad}: a mistyped identifier "
                "must be refused, not looked up"
            )
        # Named when the field is sent alone, or with the rest of the body.
        answers[account] = next(
            (a for a in sent if a.status_code == 400 and _named(a.json()["error"], field)),
            sent[0],
        )
    refused = {
        account: a.json()["error"]
        for account, a in answers.items()
        if a.status_code == 400 and _named(a.json()["error"], field)
    }
    assert refused, {a: (r.status_code, r.content[:200]) for a, r in answers.items()}
    for error in refused.values():
        assert "check character" in error["fields"][field][0]
        assert "look at the last character" in error["fields"][field][0]


def test_a_mistyped_family_in_the_audit_filter_is_400_for_the_monitor(world, api):
    family = family_at(world, "BUC")
    answer = api(world.monitor_buc).get(
        "/api/v1/audit/events/", {"family": _mistyped(family.identifier)}
    )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["message"].startswith("family: The check character does not match")
    right = api(world.monitor_buc).get("/api/v1/audit/events/", {"family": family.identifier})
    assert right.status_code == 200
    assert right.json()["results"]
    assert {e["family"] for e in right.json()["results"]} == {family.identifier}


def test_the_families_and_the_screening_log_find_by_identifier(world, api):
    family = family_at(world, "BUC")
    family_at(world, "OXF")
    client = api(world.manager)
    found = client.get("/api/v1/families/", {"identifier": family.identifier.lower()}).json()
    assert [f["id"] for f in found["results"]] == [family.pk]
    for identifier in (family.identifier, family.screening.identifier):
        found = client.get("/api/v1/screening/", {"identifier": identifier}).json()
        assert [s["id"] for s in found["results"]] == [family.screening_id]


def test_a_referral_s_identifier_is_not_a_family_s(world, api):
    family = family_at(world, "BUC")
    answer = api(world.manager).get(
        "/api/v1/families/", {"identifier": family.screening.identifier}
    )
    assert answer.status_code == 400
    assert "referral's identifier" in answer.json()["error"]["fields"]["identifier"][0]


def test_another_site_s_family_by_identifier_is_not_found(world, api):
    family = family_at(world, "OXF")
    answer = api(world.coord_buc).get("/api/v1/families/", {"identifier": family.identifier})
    assert answer.status_code == 200 and answer.json()["results"] == []


def test_queries_by_family_id_or_identifier(world, api):
    query = crf_query(world)
    client = api(world.monitor_buc)
    for family in (str(query.family_id), query.family.identifier):
        found = client.get("/api/v1/queries/", {"family": family}).json()
        assert [q["id"] for q in found["results"]] == [query.pk]
    garbage = client.get("/api/v1/queries/", {"family": "the Morgans"})
    assert garbage.status_code == 400
    assert "not a trial identifier" in garbage.json()["error"]["fields"]["family"][0]


class _Body(serializers.Serializer):
    family = TypedIdentifierField()
    referral = TypedIdentifierField(families_only=False)


def test_a_body_field_for_an_identifier_checks_it(world):
    family = family_at(world, "BUC")
    good = _Body(
        data={"family": family.identifier.lower(), "referral": family.screening.identifier}
    )
    assert good.is_valid(), good.errors
    assert good.validated_data["family"] == family.identifier
    bad = _Body(data={"family": _mistyped(family.identifier), "referral": "RC-BUC"})
    assert not bad.is_valid()
    assert "check character" in str(bad.errors["family"][0])
    assert "not a trial identifier" in str(bad.errors["referral"][0])
