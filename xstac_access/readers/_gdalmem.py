"""Remote files GDAL reads from memory: those of servers that ignore HTTP Range.

GDAL's ``/vsicurl/`` needs Range. From a server that sends the whole file with a 200 it reads
only a small file (it keeps the body of its first request when that is the whole file, about a
megabyte in GDAL 3.10); a larger one fails with "Range downloading not supported by this
server!". Here such a file, up to :func:`~xstac_access.http.ranged.no_range_limit` bytes, is read
whole once per process and handed to GDAL as a ``/vsimem/`` file, so tiles (and zip members,
through ``/vsisubfile/``) are read from memory; a larger one is a
:class:`~xstac_access.errors.RangeNotSupportedError` naming the host and size.

What is kept is bounded (least recently used first out) to the same limit in all; a reader
pickled to another process reads the file there again when it needs it.
"""

from __future__ import annotations

import posixpath
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..credentials import get_broker
from ..http.ranged import get_range, no_range_limit

if TYPE_CHECKING:
    from ..credentials.broker import Access

_KEPT: OrderedDict[str, tuple[Any, int]] = OrderedDict()  # href -> (rasterio MemoryFile, size)
_lock = threading.Lock()


def needs_whole_file(exc: Exception) -> bool:
    """True for GDAL's failure on a server that ignores Range."""
    return "Range downloading not supported" in str(exc)


def memory_path(href: str) -> str | None:
    """The ``/vsimem/`` path holding ``href``'s bytes in this process, if they are kept."""
    with _lock:
        kept = _KEPT.get(href)
        if kept is None:
            return None
        _KEPT.move_to_end(href)
        return kept[0].name


def keep_in_memory(href: str, data: bytes, ext: str | None = None) -> str:
    """Keep ``data`` (all of ``href``) where GDAL reads it; returns its ``/vsimem/`` path.
    ``ext``: the file's extension, when ``href`` (a key, not a URL) does not end with it."""
    from rasterio.io import MemoryFile

    with _lock:
        if href in _KEPT:
            return _KEPT[href][0].name
        ext = ext or posixpath.splitext(urlsplit(href).path)[1].lstrip(".")[:8]
        memory = MemoryFile(ext=ext)
        memory.write(data)  # a copy GDAL owns: a dataset open on it outlives close() below
        _KEPT[href] = (memory, len(data))
        while len(_KEPT) > 1 and sum(size for _, size in _KEPT.values()) > no_range_limit():
            _KEPT.popitem(last=False)[1][0].close()
        return memory.name


def forget() -> None:
    """Let go of every file kept in memory (their open datasets keep their own copy)."""
    with _lock:
        while _KEPT:
            _KEPT.popitem()[1][0].close()


def read_whole(href: str, access: Access, what: str) -> bool:
    """Read ``href`` whole into memory for GDAL, if its server ignores Range (within the limit,
    else :class:`~xstac_access.errors.RangeNotSupportedError`); False when it honours Range."""
    span = get_range(href, 0, 0, access=access, broker=get_broker(), what=what, keep_whole=True)
    if span.whole is None:
        return False
    keep_in_memory(href, span.whole)
    return True
