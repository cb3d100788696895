"""Large signed documents kept on disk until they are published (issue #8).

A vessel's manifest is signed long before it is published: the interchange is decided only
once every message is read, and the worker publishes the documents one after the other. A
5,000-bill manifest is 5.3 MB of signed XML; holding every one in memory until its publish
was what the gateway's peak was made of. The pipeline hands each signed document of
``SPOOL_MIN_BYTES`` or more to a :class:`SpoolBatch` (one per inbound message), which writes
it to ``<state_dir>/spool/<pid>/`` and returns a :class:`SpooledDocument`; the worker reads
each back just before its publish and lets it go after the confirm, and removes the batch's
files once the inbound message is settled (acknowledged, requeued, or left to a redelivery).
Smaller documents stay ``bytes``: a 1-BL manifest never touches the disk. The pipeline may
give :meth:`SpoolBatch.keep` a lower threshold for a document that waits longer (a ferry's
passenger list, while its sailing's list is built: ``xml_documents.spool_min_bytes``).

The spool is no part of the delivery guarantee: a crash loses it, and the redelivery runs
the pipeline again (the same document ids). Files left by a process that is gone are removed
when a gateway starts (:meth:`Spool.clean`); a gateway removes its own folder when it stops.

>>> import tempfile
>>> batch = Spool(Path(tempfile.mkdtemp()), min_bytes=4).batch()
>>> batch.keep([b"ab"])
b'ab'
>>> doc = batch.keep([b"<a>", b"</a>"])
>>> len(doc), content(doc)
(7, b'<a></a>')
>>> batch.discard(); doc.path.exists()
False
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

# Signed documents of this many bytes or more are spooled (a manifest of ~1,000 bills).
SPOOL_MIN_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class SpooledDocument:
    """A signed document's bytes in a spool file; :meth:`read` gives them back."""

    path: Path
    size: int

    def read(self) -> bytes:
        return self.path.read_bytes()

    def __len__(self) -> int:
        return self.size


Signed = bytes | SpooledDocument


def content(signed: Signed) -> bytes:
    """The bytes of a signed document, spooled or not."""
    return signed.read() if isinstance(signed, SpooledDocument) else signed


class Spool:
    """The spool folder of this process: ``<root>/<pid>``."""

    def __init__(self, root: Path, min_bytes: int = SPOOL_MIN_BYTES) -> None:
        self.root = root
        self.directory = root / str(os.getpid())
        self.min_bytes = min_bytes

    @classmethod
    def in_state_dir(cls, state_dir: Path) -> Spool:
        return cls(state_dir / "spool")

    def batch(self) -> SpoolBatch:
        return SpoolBatch(self)

    def close(self) -> None:
        """Remove this process's folder (at stop: whatever is left belongs to messages the
        broker will deliver again, which are decided afresh)."""
        shutil.rmtree(self.directory, ignore_errors=True)

    def clean(self) -> list[Path]:
        """Remove the folders of processes that are gone (and this pid's, left by an earlier
        process of the same number); what was removed. Several gateways may share a state
        directory: a running one's folder stays."""
        removed: list[Path] = []
        if not self.root.is_dir():
            return removed
        for folder in self.root.iterdir():
            if folder.name.isdigit() and folder != self.directory and _alive(int(folder.name)):
                continue
            if folder.is_dir():
                shutil.rmtree(folder, ignore_errors=True)
            else:
                folder.unlink(missing_ok=True)
            removed.append(folder)
        return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


@dataclass(slots=True)
class SpoolBatch:
    """The documents spooled for one inbound message; :meth:`discard` removes their files."""

    spool: Spool
    documents: list[SpooledDocument] = field(default_factory=list)

    def keep(self, parts: list[bytes], min_bytes: int | None = None) -> Signed:
        """The document made of ``parts``: spooled when it is large (``min_bytes`` or more,
        the spool's own threshold when None), else joined. ``parts`` is emptied either way,
        each part let go as soon as it is written."""
        size = sum(map(len, parts))
        if size < (self.spool.min_bytes if min_bytes is None else min_bytes):
            joined = parts[0] if len(parts) == 1 else b"".join(parts)
            parts.clear()
            return joined
        self.spool.directory.mkdir(parents=True, exist_ok=True)
        path = self.spool.directory / f"{uuid.uuid4().hex}.xml"
        doc = SpooledDocument(path, size)
        self.documents.append(doc)
        parts.reverse()
        with path.open("wb") as f:
            while parts:
                f.write(parts.pop())
        return doc

    def drop(self, doc: Signed) -> None:
        """Remove one spooled document now (it was replaced)."""
        if isinstance(doc, SpooledDocument) and doc in self.documents:
            self.documents.remove(doc)
            doc.path.unlink(missing_ok=True)

    def discard(self) -> None:
        """Remove every file of this batch (idempotent)."""
        for doc in self.documents:
            with contextlib.suppress(OSError):
                doc.path.unlink(missing_ok=True)
        self.documents.clear()


__all__ = ["SPOOL_MIN_BYTES", "Signed", "Spool", "SpoolBatch", "SpooledDocument", "content"]
