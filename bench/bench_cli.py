"""How fast the ``edigw`` command starts (issue #20, point 6), as ratios to a bare Python.

Each command is run ``--runs`` times, interleaved with ``python -c pass`` so that a busy
machine slows both alike; the ratio of the medians is printed (no timing is asserted
anywhere; targets: ``edigw --help`` at most 2.5x, ``edigw translate`` of a one-bill manifest
at most 3x)::

    .venv/bin/python bench/bench_cli.py                    # 15 runs of each
    .venv/bin/python bench/bench_cli.py --runs 5 --instructions
    .venv/bin/python bench/bench_cli.py --venv /tmp/wheel-venv   # an installed wheel's

What runs is the ``edigw`` console script of the environment (``--venv``, else the one of
this interpreter), as users run it; ``python -m gateway translate`` beside it for comparison.
``python -c pass`` is that environment's interpreter. In a development checkout that
interpreter imports the editable install's finder at every start (pathlib, re, urllib.parse:
about twice a bare start), which the bench says: an installed wheel's bare interpreter is
lighter, so the same ``edigw`` gives higher ratios there (``--venv`` of a virtual environment
where the wheel is installed measures those).

``--instructions`` also counts the instructions of one run of each command under
``valgrind --tool=callgrind``: a second measure that a loaded machine does not disturb (the
time ratios move by 1x or more from run to run on a shared machine).

The one-bill manifest is ``bench.common.small_cuscar``, written to a temporary file. The
environment is the caller's plus ``EDIGW_MODE=development`` and a temporary state directory,
so nothing outside the temporary directory is read or written but the user's settings
cache, and without ``PYTHONDONTWRITEBYTECODE``: an installed ``edigw`` starts from compiled
``.pyc`` files, and with that variable set every run compiled the project's modules again
(about half of what was once measured). Commands run in the temporary directory, so a
``--venv`` imports its own gateway, not this checkout's.

Three floors are measured beside (no target): what no ``edigw translate`` can avoid, lxml and
the canonical XSD parsed (``floor: lxml + XSD``); that plus the code that reads a CUSCAR and
writes the canonical XML, imported (``floor: + codec``); and that plus click
(``floor: + click + codec``, which the console script no longer loads for ``translate``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import small_cuscar  # noqa: E402

TARGETS = {"edigw --help": 2.5, "edigw translate (1 bill)": 3.0}
# What every `edigw translate` does whatever the code around it: lxml loaded and the canonical
# XSD parsed (gateway.domain.validation._lxml_schema, without importing the gateway).
FLOOR_XSD = (
    "from lxml import etree\n"
    f"etree.XMLSchema(etree.parse({str(ROOT / 'xsd' / 'customs-1.xsd')!r}))\n"
)
# ... and the CUSCAR codec and the canonical XML writer, imported (and click, for the record).
FLOOR_CODEC = "import adapters.cuscar\nimport gateway.domain.canonical_xml\n" + FLOOR_XSD
FLOOR_CLICK = "import click\n" + FLOOR_CODEC


def _seconds(argv: list[str], env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        argv, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - start


def _instructions(argv: list[str], env: dict[str, str], cwd: str) -> int:
    """Instructions of one run of ``argv`` (valgrind's callgrind, ``Collected``)."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=True,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"valgrind counted nothing: {done.stderr[-500:]}")
    return int(found.group(1))


def editable(venv: Path) -> bool:
    """Whether ``venv``'s interpreter loads an editable install's finder at start."""
    return any(venv.glob("lib/python*/site-packages/__editable__*.pth"))


def measure(venv: Path, runs: int, instructions: bool) -> dict[str, tuple[float, int | None]]:
    """Median seconds of each command (``python -c pass`` included), over ``runs`` runs, and
    its instructions in one run when asked."""
    python, edigw = str(venv / "bin" / "python"), str(venv / "bin" / "edigw")
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "one-bill.edi"
        manifest.write_bytes(small_cuscar(1))
        env = {**os.environ, "EDIGW_MODE": "development", "EDIGW_STATE_DIR": f"{tmp}/state"}
        for name in ("EDIGW_CONFIG", "PYTHONDONTWRITEBYTECODE", "PYTHONPATH"):
            env.pop(name, None)
        commands = {
            "python -c pass": [python, "-c", "pass"],
            "edigw --help": [edigw, "--help"],
            "edigw translate (1 bill)": [edigw, "translate", str(manifest)],
            "python -m gateway translate": [python, "-m", "gateway", "translate", str(manifest)],
            "floor: lxml + XSD": [python, "-c", FLOOR_XSD],
            "floor: + codec": [python, "-c", FLOOR_CODEC],
            "floor: + click + codec": [python, "-c", FLOOR_CLICK],
        }
        for argv in commands.values():  # warm the file cache, the .pyc files, the settings
            _seconds(argv, env, tmp)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, argv in commands.items():
                times[name].append(_seconds(argv, env, tmp))
        counted = {
            name: _instructions(argv, env, tmp) if instructions else None
            for name, argv in commands.items()
        }
    return {name: (statistics.median(times[name]), counted[name]) for name in commands}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--venv",
        type=Path,
        default=Path(sys.prefix),
        help="the virtual environment whose edigw and python run (default: this one's)",
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count each command's instructions once (valgrind --tool=callgrind)",
    )
    args = parser.parse_args()
    if args.instructions and shutil.which("valgrind") is None:
        parser.error("--instructions needs valgrind")
    venv = args.venv.absolute()  # the commands run in a temporary folder
    results = measure(venv, args.runs, args.instructions)
    bare, bare_count = results["python -c pass"]
    print(f"environment: {venv}")
    if editable(venv):
        print(
            "note: its python loads the editable install's finder at every start, so "
            "`python -c pass` is heavier than an installed wheel's (--venv for one)"
        )
    counts = f" {'instr.':>8} {'ratio':>6}" if args.instructions else ""
    print(f"{'command':<28} {'median':>9} {'ratio':>7} {'target':>7}{counts}")
    for name, (seconds, count) in results.items():
        target = TARGETS.get(name)
        ratio = seconds / bare
        verdict = "" if target is None else ("ok" if ratio <= target else "OVER")
        line = (
            f"{name:<28} {seconds * 1000:7.0f}ms {ratio:6.2f}x "
            f"{'' if target is None else f'{target:.1f}x':>7} {verdict:<4}"
        )
        if count is not None and bare_count:
            line += f" {count / 1e6:7.0f}M {count / bare_count:5.2f}x"
        print(line.rstrip())


if __name__ == "__main__":
    main()
