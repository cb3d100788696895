"""How the EDIFACT engine reads: one frozen policy object instead of knobs in every signature.

Like the standard library's ``email.policy``, a :class:`ReadPolicy` is made once and changed
with :meth:`ReadPolicy.replace`, which returns a new one:

>>> strict = DEFAULT.replace(charset=CharsetPolicy.REJECT, directory_validation="warn")
>>> strict.charset, strict.directory_validation, DEFAULT.charset
(<CharsetPolicy.REJECT: 'reject'>, 'warn', <CharsetPolicy.ACCEPT: 'accept-with-warning'>)

The lexer (:class:`adapters.edifact.lexer.Lexer`), :func:`adapters.edifact.parse`, the
streaming readers of :mod:`adapters.edifact.stream` and the gateway's ``translate`` take one.
This module imports nothing of the project, so every layer can hold a policy.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

MAX_SEGMENT_BYTES: Final = 1 << 20  # a longer "segment" means the terminator is wrong
CHUNK_SIZE: Final = 1 << 16
# Inputs of this many bytes or more are read twice: thin, then each message to decode.
# 64 KiB (it was 1 MiB): a 260 KB PAXLST of 1,500 travellers held whole was 15x its size in
# segments before its list was built, past the 10x of issue #18; read twice, it costs ~6%
# more CPU and its segments are never all alive.
THIN_MIN_BYTES: Final = 1 << 16
# Messages of this many segments or more are decoded without positions.
UNRECORDED_MIN_SEGMENTS: Final = 2_000

DirectoryValidation = Literal["reject", "warn", "off"]
DIRECTORY_VALIDATIONS: Final[tuple[DirectoryValidation, ...]] = ("reject", "warn", "off")


class CharsetPolicy(StrEnum):
    """What to do when bytes do not fit the character set declared in UNB.

    ``ACCEPT`` (the default) decodes as well as it can and records an
    :class:`EdifactError` with code 21 in :attr:`Interchange.warnings`; real
    partners send UNOA with lower case and UNOC with UTF-8, and bouncing them
    would stop trade. ``REJECT`` raises that error instead.

    Best effort means: bytes that are valid UTF-8 are decoded as UTF-8 (a UNOC
    file carrying UTF-8 keeps its accents), anything else as the declared single
    byte set, falling back to ISO 8859-1 so no byte is ever lost.
    """

    ACCEPT = "accept-with-warning"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class ReadPolicy:
    """Every threshold and mode of reading EDIFACT, in one immutable value.

    * ``charset``: what bytes outside the declared character set do (:class:`CharsetPolicy`).
    * ``chunk_size``: bytes the readers take from a stream at a time.
    * ``max_segment_bytes``: a cap; a buffer this long without a segment terminator is
      refused (code 22: wrong separators, or not EDIFACT).
    * ``lexer``: ``"compiled"``, ``"pure"``, or None for the process default
      (``adapters.edifact.syntax.LEXER``).
    * ``directory_validation``: what UN/EDIFACT directory findings do: ``"reject"`` (syntax
      errors, answered by the CONTRL), ``"warn"`` (kept as warnings) or ``"off"``.
    * ``thin_min_bytes``: an input of this many bytes or more is read twice (issue #8):
      thin first (each message checked as it is read, not kept), then each clean message
      again to decode it.
    * ``unrecorded_min_segments``: a message of this many segments or more is decoded
      without positions, and by a codec that can, as it is read
      (:attr:`adapters.registry.MessageCodec.decode_stream`).
    """

    charset: CharsetPolicy = CharsetPolicy.ACCEPT
    chunk_size: int = CHUNK_SIZE
    max_segment_bytes: int = MAX_SEGMENT_BYTES
    lexer: str | None = None
    directory_validation: DirectoryValidation = "reject"
    thin_min_bytes: int = THIN_MIN_BYTES
    unrecorded_min_segments: int = UNRECORDED_MIN_SEGMENTS

    def __post_init__(self) -> None:
        if self.chunk_size < 1 or self.max_segment_bytes < 1:
            raise ValueError("chunk_size and max_segment_bytes must be positive")
        if self.directory_validation not in DIRECTORY_VALIDATIONS:
            raise ValueError(
                f"directory_validation must be 'reject', 'warn' or 'off', "
                f"not {self.directory_validation!r}"
            )
        if not isinstance(self.charset, CharsetPolicy):
            raise ValueError(f"charset must be a CharsetPolicy, not {self.charset!r}")

    def replace(self, **changes: object) -> ReadPolicy:
        """A copy with ``changes`` (field name -> value); this one is left as it is."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def effective(
    policy: ReadPolicy, charset: CharsetPolicy | None = None, chunk_size: int | None = None
) -> ReadPolicy:
    """``policy`` with the shorthand keywords of callers written before it (``charset_policy=``,
    ``chunk_size=``) applied: the readers keep accepting them.

    >>> effective(DEFAULT) is DEFAULT, effective(DEFAULT, chunk_size=16).chunk_size
    (True, 16)
    """
    if charset is None and chunk_size is None:
        return policy
    changes: dict[str, object] = {}
    if charset is not None:
        changes["charset"] = charset
    if chunk_size is not None:
        changes["chunk_size"] = chunk_size
    return policy.replace(**changes)


#: The policy of the gateway: lenient character sets, directory findings rejected.
DEFAULT: Final = ReadPolicy()
