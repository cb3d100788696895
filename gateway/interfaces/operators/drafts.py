"""Drafts of refused edits (issue #19): an edit the gateway would still reject is not thrown away.

``edigw dlq edit`` keeps a refused edit as the dead letter's draft, and the next ``edit`` of
that dead letter offers to start from it; ``edigw dlq drafts`` lists them and discards one.
A dead letter keeps its id across replays (``x-edigw-dead-letter-id``), so its draft is found
again after a failed replay too. A replayed edit discards its draft.

Drafts are files under ``<state_dir>/dlq-drafts/`` (one JSON file per dead letter, written
whole and renamed into place, readable by the gateway's user only): the drafts of the machine
where ``edigw dlq edit`` runs.

>>> import tempfile, pathlib
>>> box = DraftBox(pathlib.Path(tempfile.mkdtemp()))
>>> _ = box.save("0123456789ab", "m1", "UNH+1'", "ann", "EDIFACT_SYNTAX: bad count")
>>> [(d.id, d.text, d.actor) for d in box.list()]
[('0123456789ab', "UNH+1'", 'ann')]
>>> box.discard("0123456789ab"), box.get("0123456789ab")
(True, None)
>>> box.get("../../etc/passwd") is None
True
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gateway.bootstrap import App

# Dead-letter ids are 12 hex digits (deadletters.DeadLetter.id): nothing else names a file.
_ID = re.compile(r"[0-9a-f]{12}")
DRAFTS_DIR = "dlq-drafts"


@dataclass(frozen=True, slots=True)
class Draft:
    """A refused edit of one dead letter."""

    id: str
    message_id: str
    text: str
    actor: str
    saved_at: str
    verdict: str  # why the gateway refused it, when it was saved

    def summary(self) -> dict[str, Any]:
        """What ``edigw dlq drafts --json`` prints (the text's size, not the text)."""
        return {
            "id": self.id,
            "message_id": self.message_id,
            "actor": self.actor,
            "saved_at": self.saved_at,
            "verdict": self.verdict,
            "characters": len(self.text),
        }


class DraftBox:
    """The drafts kept in one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, letter_id: str) -> Path | None:
        return self.directory / f"{letter_id}.json" if _ID.fullmatch(letter_id) else None

    def save(self, letter_id: str, message_id: str, text: str, actor: str, verdict: str) -> Draft:
        path = self._path(letter_id)
        if path is None:
            raise ValueError(f"not a dead letter's id: {letter_id!r}")
        draft = Draft(
            letter_id,
            message_id,
            text,
            actor,
            dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            verdict,
        )
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = path.with_suffix(".part")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(asdict(draft), fh, ensure_ascii=False)
        os.replace(partial, path)
        return draft

    def get(self, letter_id: str) -> Draft | None:
        path = self._path(letter_id)
        if path is None or not path.is_file():
            return None
        return _read(path)

    def list(self) -> list[Draft]:
        if not self.directory.is_dir():
            return []
        found = (_read(p) for p in sorted(self.directory.glob("*.json")))
        return sorted((d for d in found if d is not None), key=lambda d: d.saved_at)

    def discard(self, letter_id: str) -> bool:
        path = self._path(letter_id)
        if path is None or not path.is_file():
            return False
        path.unlink()
        return True


def draft_box(app: App) -> DraftBox:
    """The drafts of this machine's state directory (``edigw dlq edit`` and the console)."""
    return DraftBox(app.settings.state_dir / DRAFTS_DIR)


def _read(path: Path) -> Draft | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Draft(**{k: str(data[k]) for k in Draft.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a damaged file is no draft (it stays on disk for a person to read)
