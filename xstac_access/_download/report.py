"""What a download did, file by file: :class:`DownloadEntry` and :class:`DownloadReport`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .. import _html, errors
from .._hrefs import safe_href

Status = Literal["fetched", "resumed", "skipped", "failed"]


@dataclass(frozen=True)
class DownloadEntry:
    """One file of a download.

    ``status``: ``fetched`` (downloaded whole), ``resumed`` (completed on top of bytes a former
    attempt left in ``.part``), ``skipped`` (already complete) or ``failed`` (``error`` says why).
    ``bytes`` counts what this call received over the network for it (a failed, cut transfer
    included); ``size`` is the size of the final file. ``href`` never carries a query string.
    ``exception`` is the typed error behind ``error`` (an :class:`~xstac_access.errors.AuthError`
    for a login page, a :class:`~xstac_access.errors.ChecksumError` for wrong bytes...).
    """

    item: str | None
    asset: str | None
    href: str
    path: Path | None  # None for an asset key the item does not have
    status: Status
    bytes: int = 0
    size: int | None = None
    error: str | None = None
    attempts: int = 0
    seconds: float = 0.0
    exception: Exception | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class DownloadReport:
    """What a :func:`download` call did, file by file, with totals and a summary."""

    entries: tuple[DownloadEntry, ...]
    seconds: float

    @property
    def ok(self) -> bool:
        """True when no file failed."""
        return not self.failed

    @property
    def failed(self) -> list[DownloadEntry]:
        return [e for e in self.entries if e.status == "failed"]

    @property
    def paths(self) -> list[Path]:
        """The complete files on disk (fetched, resumed or skipped), in input order."""
        return [e.path for e in self.entries if e.status != "failed" and e.path is not None]

    @property
    def bytes(self) -> int:
        """Bytes received over the network by this call."""
        return sum(e.bytes for e in self.entries)

    @property
    def counts(self) -> dict[str, int]:
        """Number of files per status."""
        return dict(Counter(e.status for e in self.entries))

    def summary(self) -> str:
        """One line of totals, then one line per failed file."""
        counts = self.counts
        parts = [f"{counts.get(s, 0)} {s}" for s in ("fetched", "resumed", "skipped", "failed")]
        lines = [
            f"{len(self.entries)} files: {', '.join(parts)}; "
            f"{self.bytes / 1e6:.1f} MB received in {self.seconds:.1f} s"
        ]
        lines += [f"  failed: {e.error}" for e in self.failed]
        return "\n".join(lines)

    def raise_for_errors(self) -> None:
        """Raise :class:`~xstac_access.errors.DownloadError` (carrying this report) if any
        file failed."""
        if self.failed:
            raise errors.DownloadError(self.summary(), self)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        """The totals and a table of the files for Jupyter, failed files first (a long table is
        cut, and what went wrong must not be what is cut)."""
        entries = sorted(self.entries, key=lambda e: e.status != "failed")  # stable
        header = ["status", "item", "asset", "file", "size", "received", "error", "href"]
        rows = (
            [e.status, e.item, e.asset, e.path.name if e.path else None, _html.size(e.size),
             _html.size(e.bytes), e.error, safe_href(e.href)]
            for e in entries
        )  # fmt: skip
        title = self.summary().splitlines()[0]
        return _html.table(title, header, rows, len(entries), wide=("error",))
