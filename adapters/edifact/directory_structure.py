"""Structure matching: a message's segments placed in its directory's message tree.

Part of :mod:`adapters.edifact.directory`; ``docs/directory.md`` ("Structure matching") has
the argument at length.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from adapters.edifact.directory_issues import (
    ERR_MISSING,
    ERR_NOT_SUPPORTED_HERE,
    ERR_TOO_MANY_GROUPS,
    ERR_TOO_MANY_REPETITIONS,
    _Reporter,
)
from adapters.edifact.directory_tables import _Node, _Table
from adapters.edifact.syntax import Segment

# How many following segments to look at before accepting a placement that jumps ahead in
# the structure. Three is enough to tell "the structure moved on" from "one stray segment".
_LOOKAHEAD: Final = 3


# --- structure ---------------------------------------------------------------------
#
# The message tree is matched greedily: a segment goes to the innermost open group (a repeat
# of the current entry or a later sibling), else that group occurrence is closed and the
# parent is tried. The match state is the stack of open group occurrences; each frame is
# (group, index of the current child, occurrences of that child so far).
#
# Every decision compares an occurrence count only with the current child's minimum and
# maximum, and one decision looks at most 1 + _LOOKAHEAD segments ahead, so at most that many
# increments of one count. A state therefore keeps, instead of counts, the distances to the
# minimum and the maximum clamped to _CLAMP: every decision from it is the same as from the
# real counts. Those states are few (a message tree has a few dozen positions), so they are
# interned and each one caches where a tag goes from it (a _Step) and, for the steps that
# are not a plain move, the whole decision with its look-ahead. Matching a conforming
# message is then a dict look-up per segment. docs/directory.md has the argument at length;
# tests/unit/test_directory_differential.py holds it to the original matcher.

_CLAMP: Final = _LOOKAHEAD + 2
# Beyond this many cached decisions per message tree (only adversarial input gets there),
# decisions are computed without being kept, so memory stays bounded.
_MAX_DECISIONS: Final = 100_000

# (group, current child index, its minimum - count, its maximum - count), both in 0.._CLAMP
_Frame = tuple[_Node, int, int, int]
# One structure finding: 0085 code, tag (None: the segment's own) and detail sentence.
_Finding = tuple[str, str | None, str]


def _distance(limit: int, count: int) -> int:
    return min(max(limit - count, 0), _CLAMP)


def _frame(group: _Node, index: int, count: int) -> _Frame:
    child = group.children[index]
    return (group, index, _distance(child.minimum, count), _distance(child.maximum, count))


def _left_behind(group: _Node, index: int, below_minimum: int, stop: int) -> list[_Node]:
    """Mandatory children of ``group`` left behind when moving from ``index`` to ``stop``."""
    children = group.children
    out = [children[index]] if index < stop and below_minimum > 0 else []
    out.extend(c for c in children[index + 1 : stop] if c.minimum > 0)
    return out


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


def _paths(node: _Node, tag: str, prefix: str = "") -> Iterable[str]:
    for child in node.children:
        if child.is_group:
            yield from _paths(child, tag, f"{prefix}{child.name}/")
        elif child.name == tag:
            yield f"{prefix}{tag}"


@dataclass(slots=True, eq=False)
class _Step:
    """One way of placing a tag from a state: frame ``depth`` moves to child ``target``.

    ``target`` equal to the frame's index is one more occurrence of that child; otherwise it
    is the child's first. ``pushes`` are the groups opened below it, each (group, index) at
    its first occurrence. ``after`` is the state it leads to with every distance one shorter
    (right for the few steps of a look-ahead); the match itself goes to ``stay`` while the
    moved child's count is at most ``stay_until``, where clamped distances stay clamped, and
    beyond that to the state :meth:`_Machine.advance` works out from the count.
    """

    depth: int
    target: int
    repeat: bool
    pushes: tuple[tuple[_Node, int], ...]
    missing: tuple[_Node, ...]  # mandatory nodes skipped to get there
    plain: bool  # repeat, next sibling or entering a group: no look-ahead needed
    findings: tuple[_Finding, ...]
    after: _State
    stay: _State
    stay_until: int
    ones: tuple[int, ...]  # the counts of the pushed frames


@dataclass(slots=True, eq=False)
class _State:
    frames: tuple[_Frame, ...]
    steps: dict[str, _Step | None] = field(default_factory=dict)
    decisions: dict[tuple[str, ...], tuple[tuple[_Finding, ...], _Step | None]] = field(
        default_factory=dict
    )


class _Machine:
    """The interned match states of one message tree, built as the input reaches them.

    >>> from adapters.edifact.directory_plan import _required_table
    >>> machine = _machine(_required_table("D95B"), "CUSCAR")
    >>> unh = machine.place(machine.start, "UNH")
    >>> assert unh is not None
    >>> bgm = machine.place(unh.after, "BGM")
    >>> assert bgm is not None
    >>> unh.plain, bgm.plain, bgm.missing, machine.place(bgm.after, "UNH")
    (True, True, (), None)
    >>> machine.place(bgm.after, "BGM") is None  # BGM occurs once at most: not placed there
    True
    """

    def __init__(self, root: _Node, mtype: str, table_name: str) -> None:
        self.root = root
        self.mtype = mtype
        self.table_name = table_name
        self.states: dict[tuple[_Frame, ...], _State] = {}
        self.tags = frozenset(_tags(root))
        self.decided = 0
        self.start = self.state((_frame(root, 0, 0),))

    def state(self, frames: tuple[_Frame, ...]) -> _State:
        found = self.states.get(frames)
        if found is None:
            found = self.states[frames] = _State(frames)
        return found

    def step(
        self,
        state: _State,
        depth: int,
        target: int,
        pushes: tuple[tuple[_Node, int], ...],
        missing: list[_Node],
        over: _Node | None = None,
    ) -> _Step:
        frames = state.frames
        group, index, below_minimum, below_maximum = frames[depth]
        repeat = target == index
        if repeat:  # the distances shrink by one; the real count may keep a clamped one
            moved = (group, index, max(below_minimum - 1, 0), max(below_maximum - 1, 0))
        else:
            moved = _frame(group, target, 1)
        opened = tuple(_frame(node, i, 1) for node, i in pushes)
        after = self.state((*frames[:depth], moved, *opened))
        stay, stay_until = after, sys.maxsize
        if repeat and _CLAMP in (below_minimum, below_maximum):
            child = group.children[index]
            clamped = [
                limit
                for limit, distance in (
                    (child.minimum, below_minimum),
                    (child.maximum, below_maximum),
                )
                if distance == _CLAMP
            ]
            stay_until = min(clamped) - _CLAMP
            kept = (
                group,
                index,
                below_minimum if below_minimum == _CLAMP else moved[2],
                below_maximum if below_maximum == _CLAMP else moved[3],
            )
            stay = self.state((*frames[:depth], kept, *opened))
        findings = [_missing_finding(node) for node in missing]
        if over is not None:
            findings.append(_over_finding(over))
        return _Step(
            depth,
            target,
            repeat,
            pushes,
            tuple(missing),
            depth == len(frames) - 1 and target - index <= 1,
            tuple(findings),
            after,
            stay,
            stay_until,
            (1,) * len(pushes),
        )

    def place(self, state: _State, tag: str) -> _Step | None:
        """Where ``tag`` goes next: the innermost open group first, then outwards (greedy)."""
        missing: list[_Node] = []
        frames = state.frames
        found: _Step | None = None
        for depth in range(len(frames) - 1, -1, -1):
            group, index, below_minimum, below_maximum = frames[depth]
            children = group.children
            if children[index].tag == tag and below_maximum > 0:
                target = index
            else:
                target = next((j for j in group.positions.get(tag, ()) if j > index), -1)
            if target >= 0:
                missing.extend(_left_behind(group, index, below_minimum, target))
                child = children[target]
                pushes = ((child, 0),) if child.is_group else ()
                found = self.step(state, depth, target, pushes, missing)
                break
            # Leaving this group occurrence: whatever it still needed is missing.
            missing.extend(_left_behind(group, index, below_minimum, len(children)))
        state.steps[tag] = found
        return found

    def overflow(self, state: _State, tag: str) -> _Step | None:
        """Placement as one repetition too many of an open node, innermost first."""
        missing: list[_Node] = []
        frames = state.frames
        for depth in range(len(frames) - 1, -1, -1):
            group, index, below_minimum, _ = frames[depth]
            current = group.children[index]
            # A repeated trigger means one group occurrence too many, not a repeated segment.
            if current.tag == tag and not (depth > 0 and index == 0):
                pushes = ((current, 0),) if current.is_group else ()
                return self.step(state, depth, index, pushes, missing, over=current)
            missing.extend(_left_behind(group, index, below_minimum, len(group.children)))
        return None

    def implied(self, state: _State, tag: str) -> _Step | None:
        """Placement inside a group whose trigger segment is missing (reported as missing).

        Without this, a message that lacks one trigger (say the RFF opening a CUSCAR
        consignment) would have every segment of that group reported as out of place.
        """
        missing: list[_Node] = []
        frames = state.frames
        for depth in range(len(frames) - 1, -1, -1):
            group, index, below_minimum, below_maximum = frames[depth]
            for target in range(index, len(group.children)):
                child = group.children[target]
                if not child.is_group or (target == index and below_maximum == 0):
                    continue
                path = _find(child, tag)
                if path is None:
                    continue
                implied = [*missing, *_left_behind(group, index, below_minimum, target)]
                pushes: list[tuple[_Node, int]] = []
                node = child
                implied.append(node.children[0])  # the trigger that should have opened it
                for index_below in path:
                    implied.extend(c for c in node.children[1:index_below] if c.minimum > 0)
                    pushes.append((node, index_below))
                    node = node.children[index_below]
                    if node.is_group and node.tag == tag:  # the segment opens this group
                        pushes.append((node, 0))
                    elif node.is_group:  # a nested group whose trigger is missing too
                        implied.append(node.children[0])
                return self.step(state, depth, target, tuple(pushes), implied)
            missing.extend(_left_behind(group, index, below_minimum, len(group.children)))
        return None

    def cost(self, state: _State, tags: Sequence[str]) -> int:
        """Findings a greedy run over ``tags`` would produce from ``state`` (look-ahead)."""
        cost = 0
        for tag in tags:
            steps = state.steps
            placed = steps[tag] if tag in steps else self.place(state, tag)
            if placed is None:
                cost += 1
                continue
            cost += len(placed.missing)
            state = placed.after
        return cost

    def decide(
        self, state: _State, tags: tuple[str, ...]
    ) -> tuple[tuple[_Finding, ...], _Step | None]:
        """The findings at a segment ``tags[0]`` followed by the others and the step taken."""
        decided = state.decisions.get(tags)
        if decided is not None:
            return decided
        tag, ahead = tags[0], tags[1:]
        steps = state.steps
        placed = steps[tag] if tag in steps else self.place(state, tag)
        if placed is not None and not placed.plain:
            # The placement jumps ahead or leaves a group: make sure it is not one stray
            # segment dragging the match forward (which would misreport all that follows).
            cost_place = len(placed.missing) + self.cost(placed.after, ahead)
            # Skipping costs at least 1, so a clean placement wins without a second run.
            # UNT ends the message: skipping it would only hide what is missing before it.
            if cost_place > 1 and tag != "UNT" and 1 + self.cost(state, ahead) < cost_place:
                placed = None
        if placed is None:
            placed = self.overflow(state, tag)
            if placed is not None and placed.missing:
                placed = None  # an overflow far out would close groups: treat as stray instead
        if placed is None:
            implied = self.implied(state, tag)
            # Only when the group's own segments follow: one stray segment stays stray.
            if implied is not None and len(implied.missing) + self.cost(
                implied.after, ahead
            ) < 1 + self.cost(state, ahead):
                placed = implied
        decided = (self.stray(tag) if placed is None else placed.findings, placed)
        if self.decided < _MAX_DECISIONS:
            self.decided += 1
            state.decisions[tags] = decided
        return decided

    def stray(self, tag: str) -> tuple[_Finding, ...]:
        where = sorted(set(_paths(self.root, tag)))
        detail = (
            f"segment {tag} is not expected here (out of order; {self.mtype} has it at "
            f"{', '.join(where)})"
            if where
            else f"segment {tag} is not part of {self.mtype} in {self.table_name}"
        )
        return ((ERR_NOT_SUPPORTED_HERE, None, detail),)

    def advance(self, state: _State, step: _Step, count: int) -> _State:
        """The state after the repeat ``step`` when its child has occurred ``count`` times."""
        group, index, _, _ = state.frames[step.depth]
        frames = (
            *state.frames[: step.depth],
            _frame(group, index, count),
            *step.after.frames[step.depth + 1 :],
        )
        return self.state(frames)


def _tags(node: _Node) -> Iterable[str]:
    for child in node.children:
        yield child.tag
        yield from _tags(child)


def _missing_finding(node: _Node) -> _Finding:
    what = (
        f"segment group {node.name} (starting with {node.tag})"
        if node.is_group
        else f"segment {node.tag}"
    )
    return (ERR_MISSING, node.tag, f"mandatory {what} is missing before this segment")


def _over_finding(node: _Node) -> _Finding:
    if node.is_group:
        return (
            ERR_TOO_MANY_GROUPS,
            None,
            f"segment group {node.name} occurs more than {node.maximum} time(s)",
        )
    return (
        ERR_TOO_MANY_REPETITIONS,
        None,
        f"segment {node.tag} repeated more than {node.maximum} time(s) here",
    )


# Compiled machines by table identity and message type; the table is kept in the value so
# that its id cannot be reused while the entry lives.
_MACHINES: dict[tuple[int, str], tuple[_Table, _Machine]] = {}


def _machine(table: _Table, mtype: str) -> _Machine:
    entry = _MACHINES.get((id(table), mtype))
    if entry is None or entry[0] is not table:
        entry = (table, _Machine(table.messages[mtype], mtype, table.name))
        _MACHINES[(id(table), mtype)] = entry
    return entry[1]


class _Match:
    """The structure match of one message, resumable: a batch of segments at a time."""

    __slots__ = ("counts", "exact", "machine", "report", "state")

    def __init__(self, machine: _Machine, exact: bool, report: _Reporter) -> None:
        self.machine = machine
        self.exact = exact
        self.report = report
        self.state = machine.start
        self.counts: tuple[int, ...] = (0,)

    def run(self, segments: Sequence[Segment], stop: int) -> None:
        """Match ``segments[:stop]``; the ones after ``stop`` are only looked ahead at."""
        machine, exact, report = self.machine, self.exact, self.report
        known = machine.tags
        # Tags the tree does not know are never placed: in the look-ahead they all behave alike.
        lookup = [s.tag if s.tag in known else "" for s in segments]
        state, counts = self.state, self.counts
        for position, segment in enumerate(segments):
            if position == stop:
                break
            tag = segment.tag
            steps = state.steps
            if tag in steps:
                step = steps[tag]
            elif tag in known:
                step = machine.place(state, tag)
            else:  # not part of the message at all
                report.add(exact, ERR_NOT_SUPPORTED_HERE, segment, machine.stray(tag)[0][2])
                continue
            if step is None or not step.plain:
                findings, step = machine.decide(
                    state, tuple(lookup[position : position + 1 + _LOOKAHEAD])
                )
            else:
                findings = step.findings
            for code, finding_tag, detail in findings:
                report.add(exact, code, segment, detail, tag=finding_tag)
            if step is None:
                continue  # resync: the structure state stays where it was
            depth = step.depth
            count = counts[depth] + 1 if step.repeat else 1
            state = step.stay if count <= step.stay_until else machine.advance(state, step, count)
            counts = (*counts[:depth], count, *step.ones)
        self.state, self.counts = state, counts
        # Segments always end with UNT, which closes every group; nothing is left to check
        # unless the list was cut short, in which case the caller's syntax check reports it.
