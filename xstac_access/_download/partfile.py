"""The ``.part`` pair of a download on disk: the bytes so far and the record of their source.

``<name>.part`` holds the bytes, ``<name>.part.json`` where they come from (safe href, size,
validators, the name the server gave; never a credential). :meth:`PartFile.exclusive` makes one
thread or process the owner of a file's download (an OS lock on ``<name>.part.lock``, through
``filelock``: ``flock`` on Linux and macOS, ``LockFileEx`` on Windows); :meth:`PartFile.commit`
publishes it under the final name with one atomic rename.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from .. import errors
from .._hrefs import host_of, safe_href
from .._log import get_logger
from .types import Progress

log = get_logger(__name__)


class Interrupted(errors.AccessError):
    """The transfer stopped before the last byte (connection cut, short body): resumable."""


CHUNK = 1 << 20
#: How often a waiting download looks again whether the owner is done (and whether to stop).
POLL_SECONDS = 0.1


def hash_file(path: Path, length: int, hasher: Any) -> None:
    with open(path, "rb") as fh:
        while length > 0 and (block := fh.read(min(CHUNK, length))):
            hasher.update(block)
            length -= len(block)


class PartFile:
    """``<name>.part`` and its ``.part.json`` record: where a resume starts, what it must match."""

    def __init__(self, final: Path, href: str) -> None:
        self.final = final
        self.path = final.with_name(final.name + ".part")
        self.record = final.with_name(final.name + ".part.json")
        self.lock_path = final.with_name(final.name + ".part.lock")
        self.href = safe_href(href)

    @contextlib.contextmanager
    def exclusive(self, stop: threading.Event) -> Iterator[None]:
        """Own this file's download while the block runs.

        Another thread or process fetching the same file into the same folder waits here, then
        finds it complete (or resumes what the holder left). The lock is the OS's on
        ``<name>.part.lock`` (a holder that dies loses it: a crash leaves at most that file,
        unlocked, for the next download of the file to take), which the holder removes before
        it lets go: a waiter that had the removed file open finds it unlinked and locks the new
        one (``filelock`` checks), and no lock file is left beside the downloads. An empty
        ``.part`` left by a download that fetched nothing goes too.
        """
        self.final.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.lock_path)
        _acquire(lock, self.href, stop)
        try:
            yield
        finally:
            try:
                with contextlib.suppress(FileNotFoundError):
                    if self.path.stat().st_size == 0:
                        self.discard()  # nothing was fetched: leave no empty .part behind
            finally:
                # While still held (Windows refuses; filelock removes it there on release).
                with contextlib.suppress(OSError):
                    os.unlink(self.lock_path)
                lock.release()

    def resume_point(self) -> tuple[int, dict[str, Any]]:
        """``(bytes already here, recorded validators)``; ``(0, {})`` when nothing resumable."""
        try:
            saved = json.loads(self.record.read_text())
            have = self.path.stat().st_size
        except (OSError, ValueError):
            return 0, {}
        if not isinstance(saved, dict) or saved.get("href") != self.href or not have:
            return 0, {}
        if isinstance(saved.get("size"), int) and have >= saved["size"]:
            return 0, {}  # as long as the whole file, yet never renamed: do not trust it
        return have, saved

    def begin(self, record: dict[str, Any]) -> None:
        """Start from byte 0: an empty ``.part`` and a fresh record of the source."""
        self.final.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_bytes(b"")
        tmp = self.record.with_name(self.record.name + ".tmp")
        tmp.write_text(json.dumps({"href": self.href, **record}))
        os.replace(tmp, self.record)

    def hash_prefix(self, length: int, hasher: Any) -> None:
        hash_file(self.path, length, hasher)

    def append(
        self,
        start: int,
        chunks: Iterator[bytes],
        hasher: Any,
        progress: Progress,
        stop: threading.Event,
    ) -> int:
        """Write ``chunks`` from offset ``start`` (dropping anything after it); bytes written."""
        written = 0
        with open(self.path, "r+b") as fh:
            fh.seek(start)
            fh.truncate()
            for chunk in chunks:
                fh.write(chunk)
                if hasher is not None:
                    hasher.update(chunk)
                written += len(chunk)
                progress.advance(len(chunk))
                if stop.is_set():
                    raise Interrupted("download cancelled", href=self.href)
            fh.flush()
            os.fsync(fh.fileno())  # the rename must never publish bytes still in flight
        return written

    def commit(self, final: Path | None = None) -> None:
        """Publish the verified ``.part`` under the final name (atomic), forget the record.

        ``final``: another name in the same folder, when the server gave one."""
        os.replace(self.path, final or self.final)
        self.record.unlink(missing_ok=True)

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)
        self.record.unlink(missing_ok=True)


def _acquire(lock: FileLock, href: str, stop: threading.Event) -> None:
    """Take ``lock`` without blocking, polling so that a cancelled download stops waiting."""
    waited = False
    while True:
        try:
            lock.acquire(timeout=0)
            return
        except Timeout:
            if not waited:
                log.info("another download is fetching %s into the same file; waiting for it",
                         href)  # fmt: skip
                waited = True
            if stop.wait(POLL_SECONDS):
                raise Interrupted(
                    f"download of {href} cancelled while another one had the file",
                    href=href, host=host_of(href),
                ) from None  # fmt: skip
