"""The directory validation as it was before issue #8, kept as the oracle of the fast one.

``adapters.edifact.directory`` places segments with cached match states and checks elements
with predicates compiled per segment definition, handing only the segments they reject to
its element interpreter (``_check_segment``). This module is the original way (commit
eef2d31): the structure matched by a greedy placement with look-ahead costing on real
occurrence counts, and every segment given to the interpreter. It is slow and plainly follows
``docs/directory.md``; ``test_directory_differential.py`` requires both to give exactly the
same findings. What did not change is shared with the module rather than copied: tables,
resolution (``_plan``), reporter, UNH note, ``_find``/``_paths`` and the element interpreter.

Change the rules here and in the module together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from adapters.edifact.directory import (
    ERR_MISSING,
    ERR_NOT_SUPPORTED_HERE,
    ERR_TOO_MANY_GROUPS,
    ERR_TOO_MANY_REPETITIONS,
    DirectoryIssue,
)
from adapters.edifact.directory_elements import _check_segment
from adapters.edifact.directory_issues import _Reporter
from adapters.edifact.directory_plan import _plan, _report_plan, _Source
from adapters.edifact.directory_structure import _find, _paths
from adapters.edifact.directory_tables import _Node
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
            # UNT ends the message: skipping it would only hide what is missing before it.
            if cost_place > 1 and tag != "UNT" and 1 + _cost(stack, ahead) < cost_place:
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
