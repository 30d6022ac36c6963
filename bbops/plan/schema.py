"""The plan's JSON Schema (shipped as package data) and schema validation as data.

Messages are written here rather than taken from jsonschema, because its default
messages repeat the offending value, and in a plan that value may be a secret.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from bbops.errors import Problem
from bbops.plan.loader import Loaded, shown_key


@cache
def plan_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(resources.files("bbops.schema").joinpath("plan.schema.json").read_text("utf-8"))
    return schema


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(plan_schema())


def schema_problems(loaded: Loaded) -> list[Problem]:
    problems = []
    for error in _validator().iter_errors(loaded.data):
        error = _deepest(error)
        path = tuple(error.absolute_path)
        if error.validator == "additionalProperties":
            # Point at each unexpected key itself, not at its parent mapping.
            allowed = sorted(_schema(error).get("properties", {}))
            for key in _unexpected_keys(error):
                hint = f"; expected one of: {', '.join(allowed)}" if allowed else ""
                problems.append(loaded.problem((*path, key), f"unknown field `{shown_key(key)}`{hint}"))
            continue
        if error.validator == "dependentRequired" and isinstance(error.instance, dict):
            # Point at each field that lacks the one it needs, not at the mapping holding them.
            depends = error.validator_value if isinstance(error.validator_value, dict) else {}
            for key, needs in depends.items():
                missing = [n for n in needs if key in error.instance and n not in error.instance]
                if missing:
                    problems.append(loaded.problem((*path, key), f"`{key}` applies only together with `{missing[0]}`"))
            continue
        problems.append(loaded.problem(path, describe(error)))
    return sorted(set(problems), key=lambda p: (p.line, p.column, p.field, p.message))


def _deepest(error: ValidationError) -> ValidationError:
    # oneOf/anyOf failures carry the real reasons in their context; pick the most relevant one.
    while error.context:
        error = best_match(error.context)
    return error


def _unexpected_keys(error: ValidationError) -> list[str]:
    instance = error.instance if isinstance(error.instance, dict) else {}
    known = set(_schema(error).get("properties", {}))
    patterns = _schema(error).get("patternProperties", {})
    return [k for k in instance if k not in known and not patterns]


def _schema(error: ValidationError) -> Mapping[str, Any]:
    # The failing subschema; a boolean schema (`true`/`false`) has no keywords to read.
    return error.schema if isinstance(error.schema, Mapping) else {}


def _short(value: Any) -> str:
    """A value safe to repeat: numbers, booleans and null; strings are never echoed."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return str(value)
    return f"a {_type_name(value)}"


def _type_name(value: Any) -> str:
    return {dict: "mapping", list: "list", str: "string", bool: "boolean", int: "integer", float: "number"}.get(
        type(value), type(value).__name__
    )


def describe(error: ValidationError) -> str:
    v, schema = str(error.validator), _schema(error)
    expected: Any = error.validator_value  # the keyword's value as written in the schema: JSON of any shape
    what = schema.get("description", "")
    if v == "required":
        missing = [k for k in expected if not isinstance(error.instance, dict) or k not in error.instance]
        return f"missing required field `{missing[0] if missing else expected[0]}`"
    if v == "type":
        types = expected if isinstance(expected, list) else [expected]
        return f"expected {' or '.join(types)}, got {_type_name(error.instance)}"
    if v in ("enum", "const"):
        options = expected if v == "enum" else [expected]
        return f"must be one of: {', '.join(json.dumps(o) for o in options)} (got {_short(error.instance)})"
    if v == "pattern":
        if "${NAME}" in what:
            return "must be a `${NAME}` reference to an environment variable, never a literal value"
        return f"does not have the expected form: {what}" if what else f"must match {expected}"
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        relation = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}[v]
        return f"must be {relation} {expected} (got {_short(error.instance)})"
    if v in ("minLength", "maxLength"):
        return f"must be {'at least' if v == 'minLength' else 'at most'} {expected} characters long"
    if v in ("minItems", "maxItems", "minProperties", "maxProperties"):
        return f"must have {'at least' if v.startswith('min') else 'at most'} {expected} entries"
    if v == "uniqueItems":
        return "entries must be unique"
    if v == "dependentRequired":
        return "a field is set without the field it depends on"
    if v == "propertyNames":
        return f"invalid name: {schema.get('description') or 'does not have the expected form'}"
    if v in ("oneOf", "anyOf"):
        fields = [f"`{k}`" for alt in expected for k in alt.get("required", [])]
        return f"must set exactly one of {' or '.join(fields)}" if fields else "matches none of the allowed forms"
    return f"invalid ({v})"
