"""How fast the ``edigw`` command starts (issue #20, point 6), as ratios to a bare Python.

Each command is run ``--runs`` times, interleaved with ``python -c pass`` so that a busy
machine slows both alike; the ratio of the medians is printed (no timing is asserted
anywhere; targets: ``edigw --help`` at most 2.5x, ``edigw translate`` of a one-bill manifest
at most 3x)::

    .venv/bin/python bench/bench_cli.py            # 15 runs of each
    .venv/bin/python bench/bench_cli.py --runs 5

The one-bill manifest is ``bench.common.small_cuscar``, written to a temporary file. The
environment is the caller's plus ``EDIGW_MODE=development`` and a temporary state directory,
so nothing outside the temporary directory is read or written, and without
``PYTHONDONTWRITEBYTECODE``: an installed ``edigw`` starts from compiled ``.pyc`` files, and
with that variable set every run compiled the project's modules again (about half of what
was once measured).

Two floors are measured beside (no target): what no ``edigw translate`` can avoid, lxml and
the canonical XSD parsed (``floor: lxml + XSD``), and that plus click and the code that reads
a CUSCAR and writes the canonical XML, imported (``floor: + click + codec``).
"""

from __future__ import annotations

import argparse
import os
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
# ... and the command line, the CUSCAR codec and the canonical XML writer, imported.
FLOOR_CODEC = (
    "import click\nimport adapters.cuscar\nimport gateway.domain.canonical_xml\n" + FLOOR_XSD
)


def _seconds(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(runs: int) -> dict[str, float]:
    """Median seconds of each command (``python -c pass`` included), over ``runs`` runs."""
    edigw = [sys.executable, "-m", "gateway"]
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "one-bill.edi"
        manifest.write_bytes(small_cuscar(1))
        env = {**os.environ, "EDIGW_MODE": "development", "EDIGW_STATE_DIR": f"{tmp}/state"}
        env.pop("EDIGW_CONFIG", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "edigw --help": [*edigw, "--help"],
            "edigw translate (1 bill)": [*edigw, "translate", str(manifest)],
            "floor: lxml + XSD": [sys.executable, "-c", FLOOR_XSD],
            "floor: + click + codec": [sys.executable, "-c", FLOOR_CODEC],
        }
        for argv in commands.values():  # warm the file cache and the .pyc files
            _seconds(argv, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, argv in commands.items():
                times[name].append(_seconds(argv, env))
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    medians = measure(args.runs)
    bare = medians["python -c pass"]
    print(f"{'command':<28} {'median':>9} {'ratio':>7} {'target':>7}")
    for name, seconds in medians.items():
        target = TARGETS.get(name)
        ratio = seconds / bare
        verdict = "" if target is None else ("ok" if ratio <= target else "OVER")
        print(
            f"{name:<28} {seconds * 1000:7.0f}ms {ratio:6.2f}x "
            f"{'' if target is None else f'{target:.1f}x':>7} {verdict}"
        )


if __name__ == "__main__":
    main()
