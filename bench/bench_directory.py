"""Time UN/EDIFACT directory validation against pydifact's parse of the same manifest.

Usage::

    python bench/bench_directory.py                  # 10,000 bills (~4.6 MB), best of 5
    python bench/bench_directory.py --reference      # also the pre-#8 implementation
    python bench/bench_directory.py --profile        # cProfile of validate_message, top 15

The interchange comes from ``bench/gen_cuscar.py`` and is parsed once by our engine; what is
timed is ``validate_message`` over all its messages. The baseline, measured in the same
process and interleaved with it so both see the same machine load, is pydifact parsing the
same text (issue #8 compares the whole pipeline with that figure). CPU time of this process,
best of ``--repeat``: the machine is shared. ``--reference`` times the original implementation
kept as the test oracle (``tests/unit/directory_reference.py``) the same way and checks both
give the same findings.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.edifact import Message, parse
from adapters.edifact.directory import DirectoryIssue, validate_message
from bench.bench_parse import best_of, theirs
from bench.gen_cuscar import generate

Validator = Callable[[Message], list[DirectoryIssue]]


def validate_all(validator: Validator, messages: list[Message]) -> list[DirectoryIssue]:
    return [issue for message in messages for issue in validator(message)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bills", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--reference", action="store_true", help="also time the pre-#8 version")
    ap.add_argument("--profile", action="store_true", help="cProfile validate_message and stop")
    args = ap.parse_args()

    data = generate(args.bills)
    messages = [m for ic in parse(data) for m in ic.messages]
    segments = sum(len(m.segments) for m in messages)
    print(f"input: {len(data) / 1e6:.2f} MB, {len(messages)} messages, {segments:,} segments")
    if args.profile:
        prof = cProfile.Profile()
        prof.runcall(validate_all, validate_message, messages)
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)
        return

    validators: dict[str, Validator] = {"validate_message": validate_message}
    if args.reference:
        from tests.unit import directory_reference

        validators["reference (pre-#8)"] = directory_reference.validate_message
        same = validate_all(validate_message, messages) == validate_all(
            directory_reference.validate_message, messages
        )
        print(f"same findings as the reference: {same}")
    text = data.decode("ascii")
    best = dict.fromkeys(["pydifact parse", *validators], float("inf"))
    for _ in range(args.repeat):
        best["pydifact parse"] = min(best["pydifact parse"], best_of(1, lambda: theirs(text)))
        for name, validator in validators.items():
            seconds = best_of(1, partial(validate_all, validator, messages))
            best[name] = min(best[name], seconds)
    baseline = best["pydifact parse"]
    for name, seconds in best.items():
        rate = segments / seconds / 1000
        print(
            f"{name:20} {seconds:6.3f} s CPU  {rate:7.0f} k segments/s  "
            f"{seconds / baseline:5.2f}x pydifact parse"
        )
    if args.reference:
        ratio = best["reference (pre-#8)"] / best["validate_message"]
        print(f"speed-up over the reference: {ratio:.1f}x")


if __name__ == "__main__":
    main()
