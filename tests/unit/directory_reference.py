"""The directory validation as it was before issue #8, kept as the oracle of the fast one.

``adapters.edifact.directory`` places segments with a precomputed state machine and checks
elements with checkers compiled per segment definition. This module is the original
implementation of the same rules (commit eef2d31): a greedy placement with look-ahead
costing, and element checks interpreted from the definitions on every segment. It is slow and
obviously faithful to ``docs/directory.md``; ``test_directory_differential.py`` requires both
to give exactly the same findings. It shares the tables, the resolution (``_plan``), the
reporter and the UNH note with the module, so only the two matchers differ.

Change the rules here and in the module together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from adapters.edifact.directory import (
    _NUMERIC,
    ERR_INVALID_CHAR_TYPE,
    ERR_INVALID_VALUE,
    ERR_MISSING,
    ERR_NOT_SUPPORTED_HERE,
    ERR_TOO_LONG,
    ERR_TOO_MANY_CONSTITUENTS,
    ERR_TOO_MANY_GROUPS,
    ERR_TOO_MANY_REPETITIONS,
    ERR_TOO_SHORT,
    DirectoryIssue,
    _ElementDef,
    _Node,
    _Plan,
    _plan,
    _report_plan,
    _Reporter,
    _Source,
)
from adapters.edifact.syntax import Message, Segment

_LOOKAHEAD = 3


def validate_message(
    message: Message,
    *,
    directory: str | None = None,
    message_type: str | None = None,
) -> list[DirectoryIssue]:
    """``adapters.edifact.directory.validate_message`` as it was (same signature)."""
    mtype = message_type or message.type
    plan = _plan(mtype, message.version, message.release, directory)
    report = _Reporter(message, mtype)
    segments = message.segments
    if not segments:
        return []
    _report_plan(plan, mtype, segments[0], report)
    if plan.structure is not None:
        _match_structure(plan.structure, mtype, segments, report)
    last = len(segments) - 1
    for index, segment in enumerate(segments):
        service = (index == 0 and segment.tag == "UNH") or (index == last and segment.tag == "UNT")
        _check_segment(segment, plan, report, service=service)
    return sorted(report.issues, key=lambda issue: issue.segment_number)


# --- structure ---------------------------------------------------------------------

# A frame is one open occurrence of a group: (group, index of current child, occurrences
# of that child so far). The stack is a tuple of frames so that look-ahead can try a
# placement without copying anything.
_Frame = tuple[_Node, int, int]
_Stack = tuple[_Frame, ...]


@dataclass(frozen=True, slots=True)
class _Placement:
    stack: _Stack
    missing: tuple[_Node, ...]  # mandatory nodes skipped to get there
    over: _Node | None  # the node repeated beyond its maximum (a group: too many groups)


def _skipped(group: _Node, index: int, count: int, stop: int) -> list[_Node]:
    """Mandatory children of ``group`` left behind when moving from ``index`` to ``stop``."""
    out: list[_Node] = []
    if index < stop and count < group.children[index].minimum:
        out.append(group.children[index])
    out.extend(c for c in group.children[index + 1 : stop] if c.minimum > 0)
    return out


def _place(stack: _Stack, tag: str) -> _Placement | None:
    """Where ``tag`` goes next: the innermost open group first, then outwards (greedy)."""
    missing: list[_Node] = []
    for depth in range(len(stack) - 1, -1, -1):
        group, index, count = stack[depth]
        children = group.children
        current = children[index]
        if current.tag == tag and count < current.maximum:
            target, new_count = index, count + 1
        else:
            target = next((j for j in group.positions.get(tag, ()) if j > index), -1)
            new_count = 1
        if target >= 0:
            missing.extend(_skipped(group, index, count, target))
            new_stack = (*stack[:depth], (group, target, new_count))
            child = children[target]
            if child.is_group:
                new_stack = (*new_stack, (child, 0, 1))
            return _Placement(new_stack, tuple(missing), None)
        # Leaving this group occurrence: whatever it still needed is missing.
        missing.extend(_skipped(group, index, count, len(children)))
    return None


def _find(group: _Node, tag: str) -> list[int] | None:
    """Child indices leading from ``group`` (trigger excluded) to ``tag``, depth first."""
    for index in range(1, len(group.children)):
        child = group.children[index]
        if child.tag == tag:
            return [index]
        if child.is_group:
            below = _find(child, tag)
            if below is not None:
                return [index, *below]
    return None


def _implied(stack: _Stack, tag: str) -> _Placement | None:
    """Placement inside a group whose trigger segment is missing (reported as missing).

    Without this, a message that lacks one trigger (say the RFF opening a CUSCAR consignment)
    would have every segment of that group reported as out of place.
    """
    missing: list[_Node] = []
    for depth in range(len(stack) - 1, -1, -1):
        group, index, count = stack[depth]
        for target in range(index, len(group.children)):
            child = group.children[target]
            if not child.is_group or (target == index and count >= child.maximum):
                continue
            path = _find(child, tag)
            if path is None:
                continue
            new_count = count + 1 if target == index else 1
            implied = [*missing, *_skipped(group, index, count, target)]
            new_stack: _Stack = (*stack[:depth], (group, target, new_count))
            node = child
            implied.append(node.children[0])  # the trigger that should have opened ``node``
            for step in path:
                implied.extend(c for c in node.children[1:step] if c.minimum > 0)
                new_stack = (*new_stack, (node, step, 1))
                node = node.children[step]
                if node.is_group and node.tag == tag:  # the segment opens this group
                    new_stack = (*new_stack, (node, 0, 1))
                elif node.is_group:  # a nested group whose trigger is missing too
                    implied.append(node.children[0])
            return _Placement(new_stack, tuple(implied), None)
        missing.extend(_skipped(group, index, count, len(group.children)))
    return None


def _overflow(stack: _Stack, tag: str) -> _Placement | None:
    """Placement as one repetition too many of an open node, innermost first."""
    missing: list[_Node] = []
    for depth in range(len(stack) - 1, -1, -1):
        group, index, count = stack[depth]
        current = group.children[index]
        # A repeated trigger means one group occurrence too many, not a repeated segment.
        if current.tag == tag and not (depth > 0 and index == 0):
            new_stack = (*stack[:depth], (group, index, count + 1))
            if current.is_group:
                new_stack = (*new_stack, (current, 0, 1))
            return _Placement(new_stack, tuple(missing), current)
        missing.extend(_skipped(group, index, count, len(group.children)))
    return None


def _is_next(before: _Stack, after: _Stack) -> bool:
    """True for the plain steps (repeat, next sibling, enter a group) that need no look-ahead."""
    depth = len(before) - 1
    if len(after) < len(before) or after[:depth] != before[:depth]:
        return False
    return after[depth][1] - before[depth][1] <= 1


def _cost(stack: _Stack, tags: Sequence[str]) -> int:
    """Findings a greedy run over ``tags`` would produce from ``stack`` (look-ahead)."""
    cost = 0
    for tag in tags:
        placed = _place(stack, tag)
        if placed is None:
            cost += 1
            continue
        cost += len(placed.missing)
        stack = placed.stack
    return cost


def _paths(node: _Node, tag: str, prefix: str = "") -> Iterable[str]:
    for child in node.children:
        if child.is_group:
            yield from _paths(child, tag, f"{prefix}{child.name}/")
        elif child.name == tag:
            yield f"{prefix}{tag}"


def _match_structure(
    source: _Source, mtype: str, segments: Sequence[Segment], report: _Reporter
) -> None:
    root = source.table.messages[mtype]
    if not root.children:  # an empty definition (not produced by the generator): nothing to match
        return
    exact = source.exact
    stack: _Stack = ((root, 0, 0),)
    tags = [s.tag for s in segments]
    for position, segment in enumerate(segments):
        tag = segment.tag
        placed = _place(stack, tag)
        if placed is not None and not _is_next(stack, placed.stack):
            # The placement jumps ahead or leaves a group: make sure it is not one stray
            # segment dragging the match forward (which would misreport all that follows).
            ahead = tags[position + 1 : position + 1 + _LOOKAHEAD]
            cost_place = len(placed.missing) + _cost(placed.stack, ahead)
            # Skipping costs at least 1, so a clean placement wins without a second run.
            if cost_place > 1 and 1 + _cost(stack, ahead) < cost_place:
                placed = None
        if placed is None:
            placed = _overflow(stack, tag)
            if placed is not None and placed.missing:
                placed = None  # an overflow far out would close groups: treat as stray instead
        if placed is None:
            implied = _implied(stack, tag)
            ahead = tags[position + 1 : position + 1 + _LOOKAHEAD]
            # Only when the group's own segments follow: one stray segment stays stray.
            if implied is not None and len(implied.missing) + _cost(
                implied.stack, ahead
            ) < 1 + _cost(stack, ahead):
                placed = implied
        if placed is None:
            where = sorted(set(_paths(root, tag)))
            detail = (
                f"segment {tag} is not expected here (out of order; {mtype} has it at "
                f"{', '.join(where)})"
                if where
                else f"segment {tag} is not part of {mtype} in {source.table.name}"
            )
            report.add(exact, ERR_NOT_SUPPORTED_HERE, segment, detail)
            continue  # resync: the structure state stays where it was
        for node in placed.missing:
            what = (
                f"segment group {node.name} (starting with {node.tag})"
                if node.is_group
                else f"segment {node.tag}"
            )
            report.add(
                exact,
                ERR_MISSING,
                segment,
                f"mandatory {what} is missing before this segment",
                tag=node.tag,
            )
        if placed.over is not None:
            node = placed.over
            if node.is_group:
                report.add(
                    exact,
                    ERR_TOO_MANY_GROUPS,
                    segment,
                    f"segment group {node.name} occurs more than {node.maximum} time(s)",
                )
            else:
                report.add(
                    exact,
                    ERR_TOO_MANY_REPETITIONS,
                    segment,
                    f"segment {tag} repeated more than {node.maximum} time(s) here",
                )
        stack = placed.stack
    # Segments always end with UNT, which closes every group; nothing is left to check
    # unless the list was cut short, in which case the caller's syntax check reports it.


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
    codes: dict[str, frozenset[str]] = {}
    codes_exact = False
    if plan.code_source is not None and not service:  # UNH/UNT carry no list worth checking
        codes, codes_exact = plan.code_source.table.codes, plan.code_source.exact and exact
    _ElementChecker(segment, report, exact, codes, codes_exact).check(definition)


@dataclass(slots=True)
class _ElementChecker:
    """The element checks of one segment against its definition."""

    segment: Segment
    report: _Reporter
    exact: bool
    codes: dict[str, frozenset[str]]
    codes_exact: bool

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
        if allowed is not None and un_codes and value not in allowed:
            self.add(
                ERR_INVALID_VALUE,
                f"{name} {value!r} is not in code list {definition.ident}",
                position,
                component,
                exact=self.codes_exact,
            )
