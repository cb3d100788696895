"""What ``edigw translate`` does once its arguments are read, without click (issue #20, point 6).

:func:`translate_file` is the body of the command: the click command
(:func:`gateway.interfaces.cli.translate`) and the console script's fast way
(:mod:`gateway.interfaces.entry`) both call it, each with its own ``echo`` (click's, or the
entry's copy of it), so the two print the same bytes and exit the same way.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.interfaces.invocation import EXIT_REJECTED, Echo

if TYPE_CHECKING:
    from gateway.bootstrap import App

# `edigw translate` says on a terminal when it starts and ends a file this large.
LARGE_TRANSLATE_BYTES = 5_000_000
# `edigw translate` writes at most this many lines of problems (or of warnings) on stderr,
# then one that counts the rest (issue #14: a hostile file gave 125 MB of stderr).
STDERR_LINES = 999


def translate_file(
    app: App, file: Path, out_dir: Path | None, partner_id: str, progress: bool, echo: Echo
) -> None:
    """Translate ``file`` as ``partner_id`` sends it; print the canonical XML (stdout, or one
    file per message in ``out_dir``) and the problems and warnings (stderr); exit 1 when
    ``file`` or one of its messages is refused."""
    from gateway.domain import not_mapped
    from gateway.domain.canonical_xml import to_bytes
    from gateway.interfaces.progress import Progress, wanted

    translator = app.translator
    data = file.read_bytes()
    # A large file takes a while: say so on a terminal or when asked (never otherwise into
    # what a script reads on stderr, the CODE<TAB>where<TAB>sentence lines).
    shown = len(data) >= LARGE_TRANSLATE_BYTES and wanted(progress)
    bar = Progress("translate") if shown else None
    if bar is not None:
        bar.say(f"{file.name} ({len(data) / 1e6:.1f} MB) ...")
    try:
        result = translator.translate(data, partner_id)
    except Exception as exc:  # the contract: never a traceback
        echo(f"INTERNAL_ERROR\t{file}\t{type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_REJECTED)
    if bar is not None:
        bar.say(f"{file.name} done: {len(result.documents)} document(s)")
    if result.rejection is not None:
        problems = result.rejection.problems or []
        if not problems:
            echo(f"{result.rejection.reason}\t{file.name}\t{result.rejection.sentence}", err=True)
        echo_capped(
            echo, [p.line() for p in problems], result.rejection.omitted, "problems", file.name
        )
        sys.exit(EXIT_REJECTED)
    # Issue #15: each message is decided on its own. The accepted ones are printed; the
    # refused ones' problems go to stderr and the exit is 1 (part of the input was refused).
    echo_capped(
        echo,
        [p.line() for refused in result.rejected_messages for p in refused.rejection.problems],
        sum(refused.rejection.omitted for refused in result.rejected_messages),
        "problems",
        file.name,
    )
    # Accepted, but worth knowing (stdout stays the XML): broken rules at "warn", and each
    # data element no canonical field holds, carried verbatim in its document (issue #16).
    carried = itertools.islice(not_mapped.warnings(result.documents), STDERR_LINES + 1)
    echo_capped(
        echo,
        [f"warning: {w.code}\t{w.where}\t{w.sentence}" for w in result.warnings]
        + ["warning: " + "\t".join(line) for line in carried],
        result.warnings.omitted + max(0, not_mapped.count(result.documents) - STDERR_LINES - 1),
        "warnings",
        file.name,
        prefix="warning: ",
    )
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for i, (doc, element) in enumerate(zip(result.documents, result.elements, strict=True), 1):
            safe = "".join(
                ch if ch.isalnum() or ch in "-_." else "_" for ch in doc.header.business_reference
            )
            path = out_dir / f"{i:03d}-{doc.header.document_type}-{safe}.xml"
            path.write_bytes(to_bytes(element))
            echo(str(path))
    else:
        for element in result.elements:
            sys.stdout.buffer.write(to_bytes(element) + b"\n")
    if result.rejected_messages:
        sys.exit(EXIT_REJECTED)


def echo_capped(
    echo: Echo, lines: list[str], omitted: int, what: str, where: str, *, prefix: str = ""
) -> None:
    """``lines`` on stderr up to ``STDERR_LINES``, then ``TOO_MANY_PROBLEMS`` with how many more.

    ``omitted``: those the pipeline counted without listing (its own summary line, if any,
    is replaced by this one).
    """
    summary = f"{prefix}TOO_MANY_PROBLEMS\t"
    lines = [line for line in lines if not line.startswith(summary)]
    for line in lines[:STDERR_LINES]:
        echo(line, err=True)
    rest = max(0, len(lines) - STDERR_LINES) + omitted
    if rest:
        echo(f"{prefix}TOO_MANY_PROBLEMS\t{where}\tand {rest} more {what} not shown", err=True)
