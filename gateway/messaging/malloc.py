"""glibc's allocator settings for ``edigw run`` (issue #8), set before any thread starts.

A large manifest's pipeline (the decision thread) leaves ~25 MB free but resident in its
glibc arena, and then publishing its signed documents (the I/O thread: read back, aiormq's
frame pieces and buffer, the transport's) takes as much again. Three settings, each 0 for
glibc's own behaviour:

* ``[gateway] malloc_mmap_threshold`` (default 1 MiB, ``mallopt(M_MMAP_THRESHOLD)``): blocks
  of this size or more are mapped on their own and given back when freed, instead of glibc's
  threshold that grows with every large block freed (up to 32 MiB), after which a multi-MB
  document, body or frame buffer comes from the heap and leaves a hole the next may not fit;
* ``[gateway] malloc_trim_min_bytes`` (default 1 MiB): after deciding an input of this size
  or more, the decision thread gives the free memory of every arena back (``malloc_trim(0)``,
  :func:`trim`), so that publishing starts from there; small messages never trim;
* ``[gateway] malloc_arena_max`` (default 0, ``mallopt(M_ARENA_MAX)``): one arena also lets
  the I/O thread reuse what the pipeline freed, but every allocation of both threads then
  takes the same lock (measured: 9.5x growth, and the ministry message's CPU 5.4 -> 5.7 ms
  over eight alternating runs): not the default.

The environment variables (``MALLOC_ARENA_MAX``, ``MALLOC_MMAP_THRESHOLD_``) win: a
deployment's own setting. On a C library other than glibc nothing is done.

>>> from gateway.config_schema import GatewaySection
>>> settings(GatewaySection(malloc_arena_max=2))
(2, 1048576, 1048576)
>>> settings(GatewaySection())
(0, 1048576, 1048576)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import platform
from collections.abc import Mapping
from typing import Any

from gateway.config_schema import GatewaySection

M_MMAP_THRESHOLD = -3  # glibc's malloc.h
M_ARENA_MAX = -8

# (configuration key, mallopt parameter, environment variable); the keys are validated and
# defaulted by the configuration's schema (``[gateway]``, gateway.config_schema).
_KNOBS: tuple[tuple[str, int, str], ...] = (
    ("malloc_arena_max", M_ARENA_MAX, "MALLOC_ARENA_MAX"),
    ("malloc_mmap_threshold", M_MMAP_THRESHOLD, "MALLOC_MMAP_THRESHOLD_"),
)


def settings(section: GatewaySection) -> tuple[int, int, int]:
    """(arena cap, mmap threshold, trim size) of the ``[gateway]`` section."""
    return (
        section.malloc_arena_max,
        section.malloc_mmap_threshold,
        section.malloc_trim_min_bytes,
    )


@functools.cache
def _libc() -> Any:
    """glibc, or None on another C library."""
    if platform.libc_ver()[0] != "glibc":
        return None
    return ctypes.CDLL(ctypes.util.find_library("c"))


def trim() -> bool:
    """Give the free memory of every malloc arena back to the system (glibc's
    ``malloc_trim(0)``); whether anything was given back. A few ms after a large message."""
    libc = _libc()
    return libc is not None and bool(libc.malloc_trim(0))


def tune(section: GatewaySection, env: Mapping[str, str] | None = None) -> list[str]:
    """Apply the ``[gateway]`` section's settings to this process; what was done, in words
    (for the log)."""
    env = os.environ if env is None else env
    said = []
    libc = _libc()
    for (key, param, variable), value in zip(_KNOBS, settings(section), strict=False):
        if variable in env:
            said.append(f"{variable}={env[variable]} from the environment")
        elif value == 0:
            said.append(f"{key}: glibc's default")
        elif libc is None:
            said.append(f"{key}: not glibc, left alone")
        elif libc.mallopt(param, value) == 1:
            said.append(f"{key}={value}")
        else:
            said.append(f"{key}: refused by mallopt, glibc's default")
    return said


__all__ = [
    "settings",
    "trim",
    "tune",
]
