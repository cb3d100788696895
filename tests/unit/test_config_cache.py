"""The settings cache of ``edigw`` (issue #20, point 6): the same settings as without it, never
stale, a refused configuration refused each time, and a cache that cannot be read or written
only costs the time it would have saved."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import pytest

from gateway.config import CACHE_FILES, ConfigError, cache_dir, load


def _env(tmp_path: Path, **more: str) -> dict[str, str]:
    return {"EDIGW_STATE_DIR": str(tmp_path / "state"), "HOME": str(tmp_path), **more}


def _kept(folder: Path) -> list[Path]:
    return sorted(folder.glob("settings-*.pickle"))


def test_settings_from_the_cache_are_the_settings_built(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    built = load(env=_env(tmp_path))
    first = load(env=_env(tmp_path), cache=folder)
    [file] = _kept(folder)
    second = load(env=_env(tmp_path), cache=folder)
    assert _kept(folder) == [file]  # read, not written again
    assert first == built and second == built
    # The cached one validates its configuration when it is read: the same sections.
    assert second._config is None
    assert second.config == built.config
    assert second.config.broker.url == built.broker_url


def test_another_configuration_is_another_entry_never_the_stale_one(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    toml = tmp_path / "gateway.toml"
    toml.write_text('[broker]\nname_prefix = "one."\n')
    assert load(path=toml, env=_env(tmp_path), cache=folder).name_prefix == "one."
    toml.write_text('[broker]\nname_prefix = "two."\n')
    assert load(path=toml, env=_env(tmp_path), cache=folder).name_prefix == "two."
    # The environment is part of it too.
    moved = load(path=toml, env=_env(tmp_path, EDIGW_NAME_PREFIX="three."), cache=folder)
    assert moved.name_prefix == "three."
    assert len(_kept(folder)) == 3


def test_an_entry_is_found_again_from_the_same_bytes_and_keeps_its_configuration(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "cache"
    toml = tmp_path / "gateway.toml"
    toml.write_text('[broker]\nname_prefix = "oran."\n')
    built = load(path=toml, env=_env(tmp_path), cache=folder)
    [file] = _kept(folder)
    toml.write_text('[broker]\nname_prefix = "oran."\n')  # rewritten, the same bytes
    again = load(path=toml, env=_env(tmp_path), cache=folder)
    assert _kept(folder) == [file] and again == built and again._raw == built._raw
    toml.write_text('[broker]\nname_prefix = "oran." # Oran\n')  # the same values, other bytes
    assert load(path=toml, env=_env(tmp_path), cache=folder) == dataclasses.replace(
        built, _raw=again._raw
    )
    assert len(_kept(folder)) == 2


def test_a_refused_configuration_is_refused_each_time_and_never_kept(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    toml = tmp_path / "gateway.toml"
    toml.write_text("[broker]\nprefetch = 0\n")
    for _ in range(2):
        with pytest.raises(ConfigError, match=r"broker\.prefetch"):
            load(path=toml, env=_env(tmp_path), cache=folder)
    assert _kept(folder) == []


def test_a_damaged_entry_is_built_again(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    built = load(env=_env(tmp_path), cache=folder)
    [file] = _kept(folder)
    file.write_bytes(b"not a pickle")
    assert load(env=_env(tmp_path), cache=folder) == built
    assert load(env=_env(tmp_path), cache=folder) == built  # and kept again, whole


def test_a_folder_that_cannot_be_written_only_costs_time(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert load(env=_env(tmp_path), cache=blocker / "cache") == load(env=_env(tmp_path))


def test_tls_settings_are_checked_at_every_start_not_cached(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    toml = tmp_path / "gateway.toml"
    toml.write_text(
        '[broker]\nurl = "amqps://h/"\n[broker.tls]\nca_file = "' + str(tmp_path / "ca.pem") + '"\n'
    )
    with pytest.raises(ConfigError, match=r"broker\.tls"):
        load(path=toml, env=_env(tmp_path), cache=folder)
    assert _kept(folder) == []


def test_the_folder_keeps_its_newest_entries(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    for i in range(CACHE_FILES + 3):
        load(env=_env(tmp_path, EDIGW_NAME_PREFIX=f"p{i}."), cache=folder)
    assert len(_kept(folder)) == CACHE_FILES


def _no_home() -> Path:
    raise RuntimeError("Could not determine home directory.")


def test_the_cache_is_the_user_s_not_the_state_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cache_dir({"XDG_CACHE_HOME": "/x"}) == Path("/x/edigw")
    assert cache_dir({"HOME": "/home/op"}) == Path("/home/op/.cache/edigw")
    # A user without a home gets no cache (and the settings all the same).
    monkeypatch.setattr(Path, "home", _no_home)
    assert cache_dir({}) is None
    state = tmp_path / "state"
    load(env=_env(tmp_path), cache=tmp_path / "cache")
    assert not state.exists()  # a command that writes nothing creates no state directory


def test_replacing_a_field_keeps_the_validated_configuration(tmp_path: Path) -> None:
    settings = load(env=_env(tmp_path))
    other = dataclasses.replace(settings, name_prefix="x.")
    assert other.config == settings.config


def test_an_entry_others_may_write_is_not_read(tmp_path: Path) -> None:
    """A pickle runs code when read: only the user's own files, writable by no one else."""
    folder = tmp_path / "cache"
    settings = load(env=_env(tmp_path), cache=folder)
    [file] = _kept(folder)
    assert file.stat().st_mode & 0o777 == 0o600 and folder.stat().st_mode & 0o777 == 0o700
    forged = dataclasses.replace(settings, name_prefix="forged.", _raw=None, _config=None)
    file.write_bytes(pickle.dumps(forged))
    assert load(env=_env(tmp_path), cache=folder).name_prefix == "forged."  # the user's: read
    file.write_bytes(pickle.dumps(forged))
    file.chmod(0o666)
    assert load(env=_env(tmp_path), cache=folder).name_prefix == settings.name_prefix
