"""A remote file for h5py that cannot deadlock against fsspec's IO thread.

h5py holds one process-wide lock while it calls a Python file object's ``read``, and needs the
same lock to free any h5py object. fsspec's ``read`` waits for a coroutine on its own IO thread.
If Python's cyclic garbage collector runs on that IO thread while the read is pending and finds
an unreachable h5py object, the IO thread waits for the lock the reading thread holds, and the
reading thread waits for the IO thread: both hang for ever (h5py issue 2019; dask issue 7547).
It is not rare: a failed open, or any exception whose traceback holds h5py frames, leaves such
garbage.

The remedy h5py documents is to keep automatic collection off while such a read is pending.
:class:`GcPausedFile` wraps the fsspec file and does exactly that around each ``read`` and
``readinto``; the pause is counted, so overlapping reads from several threads (dask) turn
collection back on only when the last one ends, and only if it was on before.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator
from typing import Any

_lock = threading.Lock()
_pending = 0
_was_enabled = False


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Automatic garbage collection off in every thread while the block runs."""
    global _pending, _was_enabled
    with _lock:
        if _pending == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pending += 1
    try:
        yield
    finally:
        with _lock:
            _pending -= 1
            if _pending == 0 and _was_enabled:
                gc.enable()


class GcPausedFile:
    """``raw`` (a seekable binary file) whose reads run with garbage collection paused.

    Everything else (``seek``, ``tell``, ``close``, ``size``...) is ``raw``'s own.
    """

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def read(self, size: int = -1) -> bytes:
        with gc_paused():
            return self._raw.read(size)

    def readinto(self, buffer: Any) -> int:
        with gc_paused():
            return self._raw.readinto(buffer)

    def __getattr__(self, name: str) -> Any:
        if name == "_raw":  # during unpickling, before __init__'s state is back
            raise AttributeError(name)
        return getattr(self._raw, name)

    def __enter__(self) -> GcPausedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._raw.close()

    def __repr__(self) -> str:
        return f"GcPausedFile({self._raw!r})"
