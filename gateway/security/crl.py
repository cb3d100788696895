"""The CRL files of the trust store, kept current and failing closed (issue #14).

A :class:`CrlSource` is the list of CRL files the configuration names (``[trust] crl_files``)
or the CRL directory of the trust store (``<dir>/crl/``). It remembers each file as last read:
its CRL, or why it could not be read, and whose CRL it held. :meth:`CrlSource.refresh` re-reads
the files that changed (one ``stat`` per file), so a new CRL needs no restart; a file that can
no longer be read stays known as unreadable, and the trust store refuses the certificates of
its CA (``CRL_UNAVAILABLE``) instead of accepting them unchecked.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> source = CrlSource.of_files([d / "gone.crl"])
>>> source.first_unreadable().error
'cannot be read: No such file or directory'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from gateway.logs import get_logger

log = get_logger()


def load_crl(data: bytes) -> x509.CertificateRevocationList:
    """A CRL, PEM or DER; ValueError when it is neither."""
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_crl(data)
    return x509.load_der_x509_crl(data)


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """What tells a rewritten file apart: (inode, size, mtime); None when it is not there."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


@dataclass(frozen=True, slots=True)
class CrlFile:
    """One CRL file as last read: its CRL, or why it could not be read."""

    path: Path
    stamp: tuple[int, int, int] | None
    crl: x509.CertificateRevocationList | None
    error: str | None = None
    issuer: x509.Name | None = None  # whose CRL it held when it was last readable

    @classmethod
    def read(cls, path: Path, issuer: x509.Name | None = None) -> CrlFile:
        stamp = _stamp(path)
        try:
            crl = load_crl(path.read_bytes())
        except OSError as exc:
            return cls(path, stamp, None, f"cannot be read: {exc.strerror or exc}", issuer)
        except ValueError as exc:
            return cls(path, stamp, None, f"is not a CRL (PEM or DER): {exc}", issuer)
        return cls(path, stamp, crl, None, crl.issuer)


@dataclass(slots=True)
class CrlSource:
    """The CRL files of a trust store, as last read."""

    files: list[CrlFile] = field(default_factory=list)
    directory: Path | None = None  # new files appearing there are read too

    @classmethod
    def of_files(cls, paths: Iterable[Path]) -> CrlSource:
        return cls([CrlFile.read(p) for p in paths])

    @classmethod
    def of_directory(cls, directory: Path) -> CrlSource:
        return cls([CrlFile.read(p) for p in _listing(directory)], directory)

    def crls(self) -> list[x509.CertificateRevocationList]:
        return [f.crl for f in self.files if f.crl is not None]

    def first_unreadable(self) -> CrlFile | None:
        return next((f for f in self.files if f.error), None)

    def unreadable(self, issuer: x509.Name) -> bool:
        """Whether a file that held ``issuer``'s CRL (or an unknown one) cannot be read now."""
        return any(f.error and f.issuer in (None, issuer) for f in self.files)

    def refresh(self) -> bool:
        """Re-read what changed since it was read; whether anything did."""
        known = {f.path: f for f in self.files}
        paths = list(known)  # a file that vanished stays, as unreadable
        if self.directory is not None:
            paths += [p for p in _listing(self.directory) if p not in known]
        fresh, changed = [], False
        for path in paths:
            old = known.get(path)
            if old is not None and _stamp(path) == old.stamp:
                fresh.append(old)
                continue
            now = CrlFile.read(path, old.issuer if old is not None else None)
            if now.error:
                log.error(
                    "CRL unreadable: its CA's signatures are refused",
                    path=str(path),
                    error=now.error,
                )
            fresh.append(now)
            changed = True
        if changed:
            self.files = fresh
        return changed


def _listing(directory: Path) -> list[Path]:
    try:
        return sorted(p for p in directory.iterdir() if p.is_file())
    except OSError:
        return []


__all__ = ["CrlFile", "CrlSource", "load_crl"]
