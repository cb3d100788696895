"""A fast CLI (issue #20, point 6): what `edigw --help` and `edigw translate` import.

No timing here (bench/bench_cli.py measures); these check the imports that made start-up
slow stay where they are used, each in a fresh interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from bench.common import small_cuscar
from gateway.interfaces.cli import LAZY_COMMANDS, main

HEAVY_FOR_TRANSLATE = [
    "pika",
    "aio_pika",
    "aiormq",
    "xmlschema",
    "cryptography",
    "signxml",
    "psycopg",
    "prometheus_client",
    "jsonschema",
    "flask",
    "waitress",
    "argon2",
    # structlog loads on the first line logged (it brings rich, asyncio and attrs with it):
    # a clean file's translation logs none.
    "structlog",
    "rich",
    "asyncio",
    # The journal, the call registry and the travellers' desk belong to the running gateway,
    # and a CUSCAR needs neither the other EDIFACT adapters nor the ministries' ones.
    "sqlite3",
    "gateway.storage.records",
    "gateway.storage.journal",
    "gateway.service.calls",
    "gateway.service.travellers_desk",
    "gateway.domain.calls",
    "adapters.paxlst",
    "adapters.coarri",
    "adapters.ephyto",
    "adapters.lpco_national",
    # The APERAK writer: for a message whose content is refused.
    "adapters.aperak",
]
# The console script's `edigw translate` does not need click (gateway.interfaces.entry), nor
# what only click imports (pydantic imports gettext too: checked once the settings are cached).
CLICK = ["click", "gettext"]
# Nor what the standard library would load for little (pydantic imports several: checked
# once the settings are cached): logging (no line is logged), uuid and platform (message ids
# are drawn by gateway.domain.model), importlib.resources and its tempfile, shutil and
# zipfile (package data is read from the package's folder), _strptime with locale and
# calendar (EDIFACT dates are read by adapters.dtm), tomllib (the settings cache is keyed by
# the TOML files' bytes, not their parse), and the signing gateway's streamed XML, spool and
# broker topology.
STDLIB_AND_SIGNING = [
    "logging",
    "uuid",
    "platform",
    "importlib.resources",
    "tempfile",
    "shutil",
    "zipfile",
    "gateway.security.c14n",
    "gateway.storage.spool",
    "_strptime",
    "locale",
    "calendar",
    "gateway.messaging.topology",
    "tomllib",
]
# --help loads neither the configuration's schema nor lxml either.
HEAVY_FOR_HELP = [*HEAVY_FOR_TRANSLATE, "pydantic", "lxml"]


def _run(code: str, modules: list[str], env: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """(stdout, which of ``modules`` are loaded) of ``code`` run in a fresh interpreter."""
    probe = (
        "import atexit, json, sys\n"
        "atexit.register(lambda: print(json.dumps("
        f"[m for m in {modules!r} if m in sys.modules]), file=sys.stderr))\n"
        f"{code}\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env)
    return out.stdout, list(json.loads(out.stderr.strip().splitlines()[-1]))


def _loaded_after(code: str, modules: list[str]) -> list[str]:
    return _run(code, modules)[1]


def test_importing_the_cli_loads_no_heavy_library() -> None:
    assert _loaded_after("import gateway.interfaces.cli", HEAVY_FOR_HELP) == []


def test_help_loads_no_heavy_library() -> None:
    out, loaded = _run("from gateway.interfaces.cli import main\nmain(['--help'])", HEAVY_FOR_HELP)
    assert "translate" in out
    assert loaded == []


def test_translate_loads_neither_broker_nor_keys_nor_xmlschema(tmp_path: Path) -> None:
    manifest = tmp_path / "one-bill.edi"
    manifest.write_bytes(small_cuscar(1))
    # As the console script runs it (gateway.interfaces.entry), which leaves click unloaded.
    code = (
        f"import sys\nsys.argv[1:] = ['translate', {str(manifest)!r}]\n"
        "from gateway.interfaces.entry import main\nmain()"
    )
    env = {
        "EDIGW_MODE": "development",
        "EDIGW_STATE_DIR": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PATH": "/usr/bin:/bin",
    }
    out, loaded = _run(code, [*HEAVY_FOR_TRANSLATE, "pydantic", "click"], env)
    assert "<CargoManifest" in out
    assert loaded == ["pydantic"]  # the first time, the configuration is validated ...
    cached = [
        *HEAVY_FOR_TRANSLATE,
        *CLICK,
        *STDLIB_AND_SIGNING,
        "pydantic",
        "gateway.config_schema",
        "gateway.tls",
        "ssl",
    ]
    out, loaded = _run(code, cached, env)
    assert "<CargoManifest" in out
    assert loaded == []  # ... then its settings come from the cache (gateway.config)


@pytest.mark.parametrize("name", sorted(LAZY_COMMANDS))
def test_each_lazy_command_is_its_module_s_and_its_help_is_the_table_s(name: str) -> None:
    module, short_help = LAZY_COMMANDS[name]
    command = main.get_command(click.Context(main), name)
    assert command is not None and command.callback is not None
    assert command.name == name
    assert command.callback.__module__ == module
    assert command.get_short_help_str(limit=10_000) == short_help


def test_the_cli_s_own_copies_of_logs_and_journal_constants_are_equal() -> None:
    """`edigw --help` must not load structlog or the journal: the CLI writes the log levels
    and the track limit itself, equal to their sources."""
    import logging

    from gateway import logs
    from gateway.interfaces import cli
    from gateway.logs import LEVELS
    from gateway.storage.records import TRACK_LIMIT

    assert tuple(cli.LOG_LEVELS) == tuple(LEVELS)
    assert logging.getLevelNamesMapping() == logs.LEVEL_NUMBERS
    assert cli.TRACK_LIMIT == TRACK_LIMIT
