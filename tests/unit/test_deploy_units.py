"""The systemd units of deploy/systemd pass `systemd-analyze verify` and keep their hardening.

systemd-analyze checks that ExecStart's program exists, so each unit is verified as a copy
whose /opt/edigw/venv is this checkout's virtual environment (scripts/setup.sh installs
systemd when systemd-analyze is missing). Its warnings (an unknown or misspelt key is only
a warning, "ignoring") count as failures.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
INSTALLED_VENV = "/opt/edigw/venv"
# unit file -> the name it is verified under (a template is verified as one of its instances)
VERIFIED_AS = {"edigw-run@.service": "edigw-run@1.service", "edigw-console.service": None}
HARDENING = {
    "User": "edigw",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ReadWritePaths": "/var/lib/edigw",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "CapabilityBoundingSet": "",
    "Restart": "on-failure",
    "RestartPreventExitStatus": "2",
    "EnvironmentFile": "/etc/edigw/edigw.env",
}


def _systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    assert found, "systemd-analyze is missing: run scripts/setup.sh (it installs systemd)"
    return found


def _service_keys(text: str) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            keys.setdefault(key, []).append(value)
    return keys


def _verify(unit: Path, tmp_path: Path, name: str) -> subprocess.CompletedProcess[str]:
    venv = Path(sys.executable).parent.parent
    copy = tmp_path / name
    copy.write_text(unit.read_text(encoding="utf-8").replace(INSTALLED_VENV, str(venv)))
    return subprocess.run(
        [_systemd_analyze(), "verify", "--man=no", "--generators=no", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("unit_name", sorted(VERIFIED_AS))
def test_unit_verifies_without_a_warning(unit_name: str, tmp_path: Path) -> None:
    name = VERIFIED_AS[unit_name] or unit_name
    result = _verify(UNITS / unit_name, tmp_path, name)
    assert (result.returncode, result.stderr.strip()) == (0, ""), result.stderr


def test_verify_catches_a_misspelt_key_and_a_missing_program(tmp_path: Path) -> None:
    # The check above can fail: a typo is reported, a missing program refused.
    text = (UNITS / "edigw-console.service").read_text(encoding="utf-8")
    typo = tmp_path / "typo.service"
    typo.write_text(text.replace("ProtectSystem=", "ProtectSystm="))
    result = subprocess.run(
        [_systemd_analyze(), "verify", "--man=no", "--generators=no", str(typo)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Unknown key" in result.stderr and "ProtectSystm" in result.stderr
    missing = tmp_path / "missing.service"
    missing.write_text(text.replace(INSTALLED_VENV, str(tmp_path / "nowhere")))
    result = subprocess.run(
        [_systemd_analyze(), "verify", "--man=no", "--generators=no", str(missing)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "not executable" in result.stderr


@pytest.mark.parametrize("unit_name", sorted(VERIFIED_AS))
def test_unit_is_hardened(unit_name: str) -> None:
    keys = _service_keys((UNITS / unit_name).read_text(encoding="utf-8"))
    for key, value in HARDENING.items():
        assert value in keys.get(key, []), f"{unit_name}: {key}={value} missing"
    assert any("edigw" in v and "--log-format json" in v for v in keys["ExecStart"])


def test_units_run_commands_the_cli_has() -> None:
    from click.testing import CliRunner

    from gateway.interfaces.cli import main

    for unit_name in VERIFIED_AS:
        [command] = _service_keys((UNITS / unit_name).read_text(encoding="utf-8"))["ExecStart"]
        args = command.split()[1:]
        result = CliRunner().invoke(main, [*args, "--help"])
        assert result.exit_code == 0, (unit_name, result.output)
