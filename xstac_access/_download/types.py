"""What a download's parts say to each other: the job for one file, its outcome, its progress.

The entry point (:mod:`xstac_access._download`) plans :class:`Job` values, :mod:`.transfer`
fetches each into a :mod:`.partfile` and reports its bytes to a :class:`Progress`
(:mod:`.progress` draws them) and returns an :class:`Outcome`. Kept apart so that each of
those modules depends on these few types, not on the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from .multihash import Multihash


@dataclass(frozen=True)
class Job:
    """One file to fetch: from where, to where, and what the catalogue promises about it."""

    href: str
    path: Path
    label: str  # how messages name it, e.g. "asset 'red' of item 'S2A_…'"
    size: int | None = None  # file:size
    checksum: Multihash | None = None  # file:checksum, when it names a function we can compute
    html_ok: bool = False  # the asset itself is an HTML page: do not take it for a login wall
    server_named: bool = False  # the href names no file: the server's Content-Disposition may


@dataclass(frozen=True)
class Outcome:
    """What fetching one file did: ``status`` fetched/resumed/skipped, file size, attempts, and
    where the file is (the job's path, or the name the server gave).

    Bytes received are counted by the :class:`Progress` the caller passes (it sees them all,
    those of cut attempts included).
    """

    status: Literal["fetched", "resumed", "skipped"]
    size: int
    attempts: int
    path: Path


class Progress(Protocol):
    """Where a transfer reports its bytes (a progress bar, or nothing)."""

    def start(self, total: int | None, done: int) -> None: ...

    def advance(self, n: int) -> None: ...
