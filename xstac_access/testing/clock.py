"""The write side of the shared test clock that :mod:`xstac_access._clock` reads.

A clock file holds how many seconds the local world's token and file servers, and the library
in every process of a test run, are ahead of the system clock. A world creates one and gives it
to its servers; a test that needs a token to expire moves it forward with :func:`advance`
instead of sleeping. It only ever moves forward: a token minted at a later time must never
look as if it were issued in the future.
"""

from __future__ import annotations

import os
from pathlib import Path

from filelock import FileLock

from xstac_access._clock import ENV

__all__ = ["ENV", "advance", "create", "read"]


def create(path: Path) -> Path:
    """Write a clock file at ``path`` that starts level with the system clock."""
    path = Path(path)
    path.write_text("0\n")
    return path


def read(path: Path) -> float:
    """The offset in seconds that the clock file holds."""
    return float(Path(path).read_text().strip() or 0.0)


def advance(path: Path, seconds: float) -> float:
    """Move the clock at ``path`` forward by ``seconds`` for every process reading it; return
    the new offset. Concurrent callers (dask workers, threads) each add their share."""
    if seconds < 0:
        raise ValueError("the shared clock only moves forward")
    path = Path(path)
    with FileLock(path.with_name(path.name + ".lock")):  # an OS lock, on Windows too
        offset = read(path) + seconds
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(f"{offset!r}\n")
        tmp.replace(path)  # readers see the old or the new value, never half of one
    return offset
