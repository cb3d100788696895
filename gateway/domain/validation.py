"""Validate canonical XML against the project's XSD.

libxml2 (lxml) answers yes or no fast on the hot path; only when it says no does
xmlschema explain, because its messages carry element paths an operator can read.

>>> from lxml import etree
>>> problems = validate(etree.fromstring(b'<CargoManifest xmlns="urn:port-edi-gateway:customs:1"/>'))
>>> problems[0].reason
'CANONICAL_INVALID'
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree

if TYPE_CHECKING:
    import xmlschema  # imported when libxml2 has refused a document (issue #20, point 6)

SCHEMA_FILE = "customs-1.xsd"


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    path: str
    sentence: str
    reason: str = "CANONICAL_INVALID"


def schema_path(name: str = SCHEMA_FILE) -> Path:
    # The package's folder, as importlib.resources would find it, without loading
    # importlib.resources (tempfile, shutil, zipfile: issue #20, point 6).
    return Path(str(importlib.import_module("gateway.schemas").__file__)).parent / name


@cache
def _lxml_schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(schema_path(name))))


@cache
def _explainer(name: str) -> xmlschema.XMLSchema:
    import xmlschema

    return xmlschema.XMLSchema(str(schema_path(name)))


def validate(root: etree._Element, schema: str = SCHEMA_FILE) -> list[SchemaProblem]:
    """Problems with ``root`` against ``schema``; an empty list means valid."""
    if _lxml_schema(schema).validate(root):
        return []
    problems = []
    # UTF-8, not lxml's ASCII default: that writes a non-ASCII attribute name as a character
    # reference, which is not XML, and xmlschema's parser raised on it (found by fuzzing).
    try:
        for error in _explainer(schema).iter_errors(etree.tostring(root, encoding="utf-8")):
            problems.append(
                SchemaProblem(path=error.path or "/", sentence=error.reason or str(error.message))
            )
    except Exception:  # found by fuzzing: expat refusing what libxml2 read, a year overflow
        problems = []  # the explainer only words the problems, libxml2 decided: its log says why
    if not problems:  # the two engines disagree; trust libxml2 and report its log
        problems = [SchemaProblem(path="/", sentence=str(_lxml_schema(schema).error_log))]
    return problems
