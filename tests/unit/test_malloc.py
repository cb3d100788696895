"""``[gateway] malloc_*`` (issue #8): checked at start, applied by ``edigw run``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import ConfigError, load
from gateway.config_schema import GatewaySection
from gateway.messaging import malloc


def test_the_settings_are_checked_when_the_configuration_is_loaded() -> None:
    assert malloc.settings(GatewaySection()) == (0, 1 << 20, 1 << 20)
    section = load(env={}).config.gateway  # config/gateway.toml says the same
    assert malloc.settings(section) == (0, 1 << 20, 1 << 20)
    text = (Path(__file__).parents[2] / "config" / "gateway.toml").read_text()
    for key in ("malloc_arena_max", "malloc_mmap_threshold", "malloc_trim_min_bytes"):
        assert f"\n{key} = " in text
    for key, bad in [
        ("malloc_arena_max", -1),
        ("malloc_arena_max", 1025),
        ("malloc_arena_max", True),
        ("malloc_mmap_threshold", "1M"),
        ("malloc_mmap_threshold", (32 << 20) + 1),
        ("malloc_trim_min_bytes", -5),
    ]:
        with pytest.raises(ConfigError, match=rf"gateway\.{key}"):
            load({"gateway": {key: bad}}, env={})


def test_zero_and_the_environment_leave_the_allocator_alone() -> None:
    zero = GatewaySection(malloc_arena_max=0, malloc_mmap_threshold=0)
    assert malloc.tune(zero, env={}) == [
        "malloc_arena_max: glibc's default",
        "malloc_mmap_threshold: glibc's default",
    ]
    env = {"MALLOC_ARENA_MAX": "2", "MALLOC_MMAP_THRESHOLD_": "65536"}
    assert malloc.tune(GatewaySection(), env=env) == [
        "MALLOC_ARENA_MAX=2 from the environment",
        "MALLOC_MMAP_THRESHOLD_=65536 from the environment",
    ]


def test_the_settings_are_applied_and_trim_runs_in_a_fresh_process() -> None:
    """In a child (they stay for the life of a process): glibc accepts them."""
    code = (
        "from gateway.config_schema import GatewaySection; "
        "from gateway.messaging import malloc; "
        "print(malloc.tune(GatewaySection(malloc_arena_max=1), env={})); "
        "big = [bytes(200_000) for _ in range(100)]; del big; print(malloc.trim())"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    if "not glibc" in out[0]:
        assert out[1] == "False"
        return
    assert out[0] == "['malloc_arena_max=1', 'malloc_mmap_threshold=1048576']"
    assert out[1] in ("True", "False")  # whether anything was left to give back
