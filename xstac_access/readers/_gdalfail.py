"""What a failed GDAL read means, and GDAL's /vsicurl/ cache, which must not keep a failure.

GDAL says little when a remote read fails: a tile of an open dataset refused is "Read failed",
and a body cut mid-read (GDAL 3.10 takes a 206 whose connection broke for the end of the
file's data) is a TIFF directory it "failed to read". :func:`diagnose` asks the server for the
file's first bytes and names the failure with a typed error; an :class:`Unreadable` TIFF read
over HTTP may have been cut short, and is worth one more read (``_gdal.RasterSource``).
"""

from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING, Any

from .. import errors
from .._hrefs import host_of, safe_href
from .._log import redact
from ..credentials import get_broker
from ..credentials.material import NO_MATERIAL
from ..http import fetch

if TYPE_CHECKING:
    from ._gdal import RasterSource


class Unreadable(errors.FormatError):
    """A TIFF/JPEG2000 GDAL could not read: truncated or corrupt, or its read cut short."""


def _gdal_library() -> Any | None:
    """The GDAL shared library rasterio loaded, found in this process's memory map."""
    lib = getattr(_gdal_library, "cached", False)
    if lib is not False:
        return lib
    lib = None
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "libgdal" in line and "/" in line}
        for path in sorted(paths):
            candidate = ctypes.CDLL(path)
            if hasattr(candidate, "VSICurlPartialClearCache"):
                candidate.VSICurlPartialClearCache.argtypes = [ctypes.c_char_p]
                lib = candidate
                break
    except OSError:
        lib = None
    _gdal_library.cached = lib  # type: ignore[attr-defined]
    return lib


def clear_vsicurl_cache(path: str | None = None) -> None:
    """Forget what GDAL cached for ``path`` (sizes, existence, a cached 401, blocks), or all.

    GDAL's cache is per process and keyed by URL, not by credential: what one credential read
    may be served again without asking the server.
    """
    lib = _gdal_library()
    if lib is None:
        return
    if path is None:
        lib.VSICurlClearCache()
    else:
        lib.VSICurlPartialClearCache(path.encode())


def reset_gdal_error() -> None:
    """Forget this thread's last GDAL error: rasterio raises a stale one (a tile that failed to
    decode earlier) from the next call that checks it, ``colorinterp`` for one, whatever file
    that call is about."""
    lib = _gdal_library()
    if lib is not None:
        lib.CPLErrorReset()


def diagnose(source: RasterSource, exc: Exception) -> errors.XStacError:
    """Explain a failed GDAL open or read with a typed error (one small request to find out)."""
    try:
        head = fetch(source.href, broker=get_broker(), byte_range=(0, 1024), access=source.access,
                     what=source.label)  # fmt: skip
    except errors.XStacError as typed:
        return typed
    from . import format_of_bytes

    shown, host = safe_href(source.href), host_of(source.href)
    message = redact(str(exc.__cause__ or exc))  # rasterio: "Read failed", GDAL's cause below
    for text in {source.href, source.path(NO_MATERIAL)}:
        message = message.replace(text, shown)
    if source.overview_level is not None and "overview level" in message:
        return errors.FormatError(
            f"{source.label} at {shown} (host {host}) has no overview level "
            f"{source.overview_level}: GDAL found no such overview in the file (nor in an .ovr "
            "sidecar: over the network those are read only when the item lists them as assets, "
            "or with sidecars=True). Use a lower overview_level, or leave it out."
        )
    fmt = format_of_bytes(head)
    if fmt != "geotiff":
        what = f"looks like {fmt}" if fmt else f"starts with {head[:8]!r}"
        return errors.FormatError(
            f"{source.label} at {shown} (host {host}) is not a raster GDAL can read: the file "
            f"{what}. The catalogue's media type may be wrong; choose another asset or pass "
            "reader=."
        )
    return Unreadable(
        f"{source.label} at {shown} (host {host}) is a TIFF/JPEG2000 that GDAL cannot read, "
        f"probably truncated or corrupt: {message}"
    )
