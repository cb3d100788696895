"""Element checks: every data element and component of a segment against its definition.

Part of :mod:`adapters.edifact.directory`: compiled predicates for the common case (nothing
to report), and the interpreter (:class:`_ElementChecker`) that words the findings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from adapters.edifact.directory_issues import (
    ERR_INVALID_CHAR_TYPE,
    ERR_INVALID_VALUE,
    ERR_MISSING,
    ERR_TOO_LONG,
    ERR_TOO_MANY_CONSTITUENTS,
    ERR_TOO_SHORT,
    _Reporter,
)
from adapters.edifact.directory_plan import _Plan
from adapters.edifact.directory_tables import _ElementDef
from adapters.edifact.syntax import Segment

_NUMERIC = re.compile(r"^-?(?:\d+(?:[.,]\d*)?|[.,]\d+)$")


# --- data elements -----------------------------------------------------------------


def _segment_definition(
    tag: str, plan: _Plan, service: bool
) -> tuple[tuple[_ElementDef, ...], bool] | None:
    if service and plan.service is not None:
        definition = plan.service.table.segments.get(tag)
        return (definition, plan.service.exact) if definition is not None else None
    for source in plan.segment_sources:
        definition = source.table.segments.get(tag)
        if definition is not None:
            return definition, source.exact
    return None


def _occurrences(segment: Segment, index: int) -> tuple[tuple[str, ...], ...]:
    """All occurrences of data element ``index`` (syntax 4 repetitions included)."""
    for position, reps in getattr(segment, "repeats", ()):
        if position == index:
            return tuple(reps)
    if index < len(segment.elements):
        return (segment.elements[index],)
    return ()


def _check_segment(segment: Segment, plan: _Plan, report: _Reporter, *, service: bool) -> None:
    found = _segment_definition(segment.tag, plan, service)
    if found is None:
        return  # no definition (unknown or misplaced tag): the structure check speaks for it
    definition, exact = found
    codes: Mapping[str, frozenset[str]] = {}
    codes_exact = False
    if plan.code_source is not None and not service:  # UNH/UNT carry no list worth checking
        codes, codes_exact = plan.code_source.table.codes, plan.code_source.exact and exact
    association = "" if service else report.association
    _ElementChecker(segment, report, exact, codes, codes_exact, association).check(definition)


# The compiled checks. Each segment definition (with its code lists) is compiled once into
# a predicate that is true only when _ElementChecker would find nothing: the common, clean
# segment then costs a few comparisons per value. When the predicate is false (or the
# segment has syntax 4 repetitions) the segment goes to _ElementChecker, which words the
# findings; so the predicates only need to be right about "nothing to report".

_ValueTest = Callable[[str], bool]
_ElementTest = Callable[[tuple[str, ...]], bool]
_SegmentTest = Callable[[Segment], bool]
_NO_CODES: Final[Mapping[str, frozenset[str]]] = {}
_UN_AGENCY: Final = frozenset({"", "6"})  # 3055 empty or 6 (UN/ECE): the UN code lists apply


def _shape_test(definition: _ElementDef) -> _ValueTest | None:
    """True when a non-empty value has the right characters and length (None: always)."""
    kind, most, fixed = definition.kind, definition.max_length, definition.fixed

    def length_ok(length: int) -> bool:
        return not (most and length > most) and not (fixed and length < most)

    if kind == "n":

        def numeric(value: str) -> bool:
            if value.isdecimal():  # the usual case; \d is exactly the decimal digits
                return length_ok(len(value))
            if not _NUMERIC.match(value):
                return False
            return length_ok(sum(ch.isdigit() for ch in value))

        return numeric
    if kind == "a":
        return lambda value: (
            (value.isalpha() or not any(ch.isdigit() for ch in value)) and (length_ok(len(value)))
        )
    if fixed:
        return lambda value: len(value) == most
    if most:
        return lambda value: len(value) <= most
    return None


def _value_test(definition: _ElementDef, allowed: frozenset[str] | None) -> _ValueTest | None:
    shape = _shape_test(definition)
    if allowed is None:
        return shape
    if shape is None or all(shape(code) for code in allowed if code):
        return allowed.__contains__  # a listed code has the right shape already
    return lambda value: value in allowed and shape(value)


def _element_test(definition: _ElementDef, codes: Mapping[str, frozenset[str]]) -> _ElementTest:
    """For the non-empty occurrences of one data element."""
    if not definition.components:
        value_ok = _value_test(definition, codes.get(definition.ident))
        if value_ok is None:
            return lambda values: len(values) == 1 or not any(values[1:])
        test = value_ok
        return lambda values: (len(values) == 1 or not any(values[1:])) and test(values[0])
    components = definition.components
    size = len(components)
    agency = next((i for i, c in enumerate(components) if c.ident == "3055"), size)
    required = tuple(i for i, c in enumerate(components) if c.required)
    needed = required[-1] + 1 if required else 0
    un_list = [
        (i, t) for i, c in enumerate(components) if (t := _value_test(c, codes.get(c.ident)))
    ]
    other_list = [(i, t) for i, c in enumerate(components) if (t := _value_test(c, None))]

    def composite(values: tuple[str, ...]) -> bool:
        count = len(values)
        if count > size and any(values[size:]):
            return False
        # Another responsible agency (3055 other than 6): its codes are not the UN list's.
        tests = un_list if agency >= count or values[agency] in _UN_AGENCY else other_list
        for index, test in tests:  # in component order
            if index >= count:
                break
            value = values[index]
            if value and not test(value):
                return False
        return count >= needed and all(map(values.__getitem__, required))

    return composite


def _compile_segment(
    definition: tuple[_ElementDef, ...], codes: Mapping[str, frozenset[str]]
) -> _SegmentTest:
    size = len(definition)
    tests = [_element_test(d, codes) for d in definition]
    required = [d.required for d in definition]
    # Every required element lies below this position: shorter segments lack one.
    needed = max((i + 1 for i, d in enumerate(definition) if d.required), default=0)

    def segment_ok(segment: Segment) -> bool:
        elements = segment.elements
        count = len(elements)
        if count < needed or segment.repeats:
            return False
        if count > size and any(any(e) for e in elements[size:]):
            return False
        # Either may be longer: missing elements were counted above, extra ones are empty.
        for values, test, needs in zip(elements, tests, required, strict=False):
            if any(values):
                if not test(values):
                    return False
            elif needs:
                return False
        return True

    return segment_ok


# Compiled predicates by identity of the definition and the code lists (both live in a cached
# table); the entry keeps them so that their ids cannot be reused while it lives.
_COMPILED: dict[tuple[int, int], tuple[object, object, _SegmentTest]] = {}


def _segment_test(tag: str, plan: _Plan, service: bool) -> _SegmentTest | None:
    """The compiled predicate for ``tag`` under ``plan`` (None: no definition, no checks)."""
    found = _segment_definition(tag, plan, service)
    if found is None:
        return None
    definition = found[0]
    codes = _NO_CODES
    if plan.code_source is not None and not service:
        codes = plan.code_source.table.codes
    entry = _COMPILED.get((id(definition), id(codes)))
    if entry is None or entry[0] is not definition or entry[1] is not codes:
        entry = (definition, codes, _compile_segment(definition, codes))
        _COMPILED[(id(definition), id(codes))] = entry
    return entry[2]


class _ElementCheck:
    """The element checks of one message's segments, a batch at a time."""

    __slots__ = ("plan", "report", "tests")

    def __init__(self, plan: _Plan, report: _Reporter) -> None:
        self.plan = plan
        self.report = report
        self.tests: dict[str, _SegmentTest | None] = {}

    def run(self, segments: Sequence[Segment], first: bool, last: bool) -> None:
        """Check ``segments``; ``first``/``last``: they begin/end the message."""
        plan, report, tests = self.plan, self.report, self.tests
        # Only the real envelope (first UNH, last UNT) uses the service segment definitions.
        head = 0 if first else -1
        tail = len(segments) - 1 if last else -1
        for index, segment in enumerate(segments):
            tag = segment.tag
            if (index == head and tag == "UNH") or (index == tail and tag == "UNT"):
                test = _segment_test(tag, plan, True)
                service = True
            else:
                if tag in tests:
                    test = tests[tag]
                else:
                    test = tests[tag] = _segment_test(tag, plan, False)
                service = False
            if test is not None and not test(segment):
                _check_segment(segment, plan, report, service=service)


@dataclass(slots=True)
class _ElementChecker:
    """The element checks of one segment against its definition."""

    segment: Segment
    report: _Reporter
    exact: bool
    codes: Mapping[str, frozenset[str]]
    codes_exact: bool
    association: str = ""  # the message's codes are this association's (UNH S009)

    def add(
        self,
        code: str,
        detail: str,
        element: int,
        component: int | None = None,
        exact: bool | None = None,
    ) -> None:
        self.report.add(
            self.exact if exact is None else exact,
            code,
            self.segment,
            detail,
            element=element,
            component=component,
        )

    def check(self, definition: tuple[_ElementDef, ...]) -> None:
        elements = self.segment.elements
        if any(any(e) for e in elements[len(definition) :]):
            self.add(
                ERR_TOO_MANY_CONSTITUENTS,
                f"{len(elements)} data elements, at most {len(definition)} defined",
                len(definition) + 1,
            )
        for index, element_def in enumerate(definition):
            occurrences = [o for o in _occurrences(self.segment, index) if any(o)]
            if not occurrences and element_def.required:
                self.add(
                    ERR_MISSING,
                    f"mandatory element {index + 1} '{element_def.ident}' is missing",
                    index + 1,
                )
            for values in occurrences:
                self.element(values, element_def, index + 1)

    def element(self, values: tuple[str, ...], element_def: _ElementDef, position: int) -> None:
        if not element_def.components:
            if any(values[1:]):
                self.add(
                    ERR_TOO_MANY_CONSTITUENTS,
                    f"element {position} '{element_def.ident}' is simple but has "
                    f"{len(values)} components",
                    position,
                    2,
                )
            self.value(values[0], element_def, position, None, un_codes=True)
            return
        components = element_def.components
        if any(values[len(components) :]):
            self.add(
                ERR_TOO_MANY_CONSTITUENTS,
                f"element {position} '{element_def.ident}' has {len(values)} components, "
                f"at most {len(components)} defined",
                position,
                len(components) + 1,
            )
        # A code is only checked against the UN list when the composite does not name another
        # responsible agency (3055 other than 6 = UN/ECE): national or carrier codes are legitimate.
        agency = next(
            (values[i] for i, c in enumerate(components) if c.ident == "3055" and i < len(values)),
            "",
        )
        for number, component_def in enumerate(components, start=1):
            value = values[number - 1] if number - 1 < len(values) else ""
            if value:
                self.value(value, component_def, position, number, un_codes=agency in ("", "6"))
            elif component_def.required:
                self.add(
                    ERR_MISSING,
                    f"element {position} component {number} '{component_def.ident}' "
                    "is mandatory but missing",
                    position,
                    number,
                )

    def value(
        self,
        value: str,
        definition: _ElementDef,
        position: int,
        component: int | None,
        *,
        un_codes: bool,
    ) -> None:
        where = f"element {position}" + (f" component {component}" if component is not None else "")
        name = f"{where} '{definition.ident}'"
        length = len(value)
        if definition.kind == "n":
            if not _NUMERIC.match(value):
                self.add(
                    ERR_INVALID_CHAR_TYPE,
                    f"{name} {value!r} is not numeric (n)",
                    position,
                    component,
                )
                return
            # ISO 9735: the sign and the decimal mark do not count towards the length.
            length = sum(ch.isdigit() for ch in value)
        elif definition.kind == "a" and any(ch.isdigit() for ch in value):
            self.add(
                ERR_INVALID_CHAR_TYPE,
                f"{name} {value!r} contains digits, alphabetic (a) only",
                position,
                component,
            )
        if definition.max_length and length > definition.max_length:
            self.add(
                ERR_TOO_LONG,
                f"{name} is {length} characters, at most {definition.max_length} allowed",
                position,
                component,
            )
        elif definition.fixed and length < definition.max_length:
            self.add(
                ERR_TOO_SHORT,
                f"{name} is {length} characters, exactly {definition.max_length} required",
                position,
                component,
            )
        allowed = self.codes.get(definition.ident)
        if allowed is not None and un_codes and value not in allowed and self.association:
            # No association's list is packaged: its code is not judged by the UN's.
            self.add(
                ERR_INVALID_VALUE,
                f"{name} {value!r} is not in UN code list {definition.ident}; the message "
                f"uses {self.association}'s code lists (UNH S009), which the gateway does not "
                "have: not checked",
                position,
                component,
                exact=False,
            )
        elif allowed is not None and un_codes and value not in allowed:
            self.add(
                ERR_INVALID_VALUE,
                f"{name} {value!r} is not in code list {definition.ident}",
                position,
                component,
                exact=self.codes_exact,
            )
