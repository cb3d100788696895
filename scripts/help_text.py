"""``edigw --help`` as click prints it, written into ``gateway/interfaces/help_text.py``.

The console script prints that text for ``edigw --help`` without importing click (issue #20,
point 6: click's import alone is several times a bare Python start). Run this after changing a
command's name or short help, or the group's options; ``tests/unit/test_cli_help.py`` fails
until the text is written again.

    .venv/bin/python scripts/help_text.py            # print the module it would write
    .venv/bin/python scripts/help_text.py --write    # write gateway/interfaces/help_text.py
    .venv/bin/python scripts/help_text.py --check    # exit 1 when the module differs
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MODULE = ROOT / "gateway" / "interfaces" / "help_text.py"
HEAD = '''"""What ``edigw --help`` prints: click's help of the ``edigw`` group at its widest.

Written by ``scripts/help_text.py --write`` (do not edit by hand); the console script
(:mod:`gateway.interfaces.entry`) prints it without importing click, and
``tests/unit/test_cli_help.py`` renders it again with click and compares.
"""

'''


def rendered() -> str:
    """The group's help as click echoes it on a terminal of 80 columns or more."""
    os.environ["COLUMNS"], os.environ["LINES"] = "80", "24"
    import click

    from gateway.interfaces.cli import main

    return main.get_help(click.Context(main, info_name="edigw", **main.context_settings))


def literal(line: str) -> str:
    """``line`` as a double-quoted string literal, as ``ruff format`` writes one."""
    if not all(ch.isprintable() or ch == "\n" for ch in line):
        return repr(line)
    return '"' + line.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def module_text() -> str:
    """The module: the text, a string literal a line."""
    lines = "".join(f"    {literal(line)}\n" for line in rendered().splitlines(keepends=True))
    return f"{HEAD}EDIGW_HELP = (\n{lines})\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="write the module")
    mode.add_argument("--check", action="store_true", help="exit 1 when the module differs")
    args = parser.parse_args()
    text = module_text()
    if args.write:
        MODULE.write_text(text, encoding="utf-8")
    elif args.check:
        if MODULE.read_text(encoding="utf-8") != text:
            print(f"{MODULE.relative_to(ROOT)} differs: run scripts/help_text.py --write")
            return 1
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
