"""Validate a partner's JSON against the project's JSON Schemas (``xsd/json/``, Draft 2020-12).

The schemas live beside the XSDs and are installed with them (package data ``gateway.schemas``).
They refer to each other by relative ``$ref`` (``common.schema.json#/$defs/person``); every
reference is resolved from this folder and nowhere else: a schema never fetches anything.

>>> problems = validate_json({"documentType": "border-event"}, "border-event.schema.json")
>>> problems[0].reason, problems[0].path
('JSON_SCHEMA_INVALID', '/')
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Imported when a JSON document is validated (issue #20, point 6): jsonschema and its
    # dependencies are some forty modules that `edigw translate` of EDIFACT never uses.
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError
    from referencing import Resource

JSON_FOLDER = "json"
#: Problems reported for one document at most: the first tells the sender what to fix.
MAX_PROBLEMS = 20


@dataclass(frozen=True, slots=True)
class JsonProblem:
    path: str  # a JSON Pointer into the document ("/vehicle/vin"), "/" for the whole
    sentence: str
    reason: str = "JSON_SCHEMA_INVALID"


def _schema_text(name: str) -> str:
    folder = resources.files("gateway.schemas").joinpath(JSON_FOLDER)
    return folder.joinpath(name).read_text("utf-8")


def _retrieve(uri: str) -> Resource[Any]:
    from referencing import Resource
    from referencing.exceptions import NoSuchResource

    # Only the bare file names of our own folder: never a URL, never a path out of it.
    if "/" in uri or "\\" in uri or not uri.endswith(".schema.json"):
        raise NoSuchResource(uri)
    try:
        return Resource.from_contents(json.loads(_schema_text(uri)))
    except FileNotFoundError:
        raise NoSuchResource(uri) from None


@cache
def validator(name: str) -> Draft202012Validator:
    """The validator of one schema file of ``xsd/json/`` (checked, cached)."""
    from jsonschema import Draft202012Validator
    from referencing import Registry

    schema = json.loads(_schema_text(name))
    Draft202012Validator.check_schema(schema)
    registry: Registry[Any] = Registry(retrieve=_retrieve)  # type: ignore[call-arg]
    return Draft202012Validator(
        schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def _pointer(error: ValidationError) -> str:
    return "/" + "/".join(str(p) for p in error.absolute_path)


def validate_json(document: Any, schema: str) -> list[JsonProblem]:
    """Problems of ``document`` (already parsed) against ``schema``; empty means valid.

    The most relevant problem comes first (jsonschema's ``best_match``).
    """
    from jsonschema.exceptions import best_match

    errors = []
    for error in validator(schema).iter_errors(document):
        errors.append(error)
        if len(errors) >= MAX_PROBLEMS:
            break
    if not errors:
        return []
    first = best_match(errors)
    ordered = [first] + [e for e in errors if e is not first]
    return [JsonProblem(_pointer(e), _sentence(e)) for e in ordered]


def _sentence(error: ValidationError) -> str:
    """jsonschema's message, cut: it quotes the whole offending value, which may be large."""
    message: str = error.message
    return message if len(message) <= 300 else message[:297] + "..."
