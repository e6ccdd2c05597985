"""What a failed GDAL read means, and GDAL's /vsicurl/ cache, which must not keep a failure.

GDAL says little when a remote read fails: a tile of an open dataset refused is "Read failed",
and a body cut mid-read (GDAL 3.10 takes a 206 whose connection broke for the end of the
file's data) is a TIFF directory it "failed to read". :func:`diagnose` asks the server for the
file's first bytes and names the failure with a typed error; an :class:`Unreadable` TIFF read
over HTTP may have been cut short, and is worth one more read (``_gdal.RasterSource``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from .. import errors
from .._hrefs import host_of, safe_href
from .._log import get_logger, redact
from ..credentials import get_broker
from ..credentials.material import NO_MATERIAL
from ..http import fetch

if TYPE_CHECKING:
    from ._gdal import RasterSource


log = get_logger(__name__)


class Unreadable(errors.FormatError):
    """A TIFF/JPEG2000 GDAL could not read: truncated or corrupt, or its read cut short."""


#: What this module calls in GDAL's C API, which rasterio does not expose.
_SYMBOLS = ("VSICurlClearCache", "VSICurlPartialClearCache", "CPLErrorReset")
#: Without the C API, GDAL keeps nothing of these past the file handle that read it.
_UNCACHED = {"CPL_VSIL_CURL_NON_CACHED": "/vsicurl/:/vsis3/"}


def _candidates() -> Iterator[str]:
    """Files that may be, or lead to, the GDAL library rasterio loaded, most direct first."""
    import rasterio
    import rasterio._base

    yield rasterio._base.__file__  # Linux, macOS: a lookup on it searches what it links, GDAL
    package = Path(rasterio.__file__).parent
    for bundled in (package.parent / "rasterio.libs", package / ".dylibs"):  # wheels' GDAL
        yield from sorted(str(path) for path in bundled.glob("*gdal*"))
    if sys.platform == "win32" and (found := ctypes.util.find_library("gdal")):
        yield found  # a conda or OSGeo4W GDAL on PATH: the DLL rasterio's extensions loaded


@functools.cache
def _gdal_library() -> ctypes.CDLL | None:
    """GDAL's C library as rasterio loaded it, found the same way on every OS; ``None`` when
    it cannot be found, which is logged once as a warning.

    A file already loaded is not loaded again: the handle is that of the library rasterio uses,
    so clearing its cache clears rasterio's. Without it, GDAL is told to keep nothing of a
    remote file past the handle that read it (:func:`cache_config`): each open asks the server
    again, slower, but what one credential read is still never served to another.
    """
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        if all(hasattr(lib, name) for name in _SYMBOLS):
            lib.VSICurlPartialClearCache.argtypes = [ctypes.c_char_p]
            return lib
    log.warning(
        "GDAL's C library was not found beside rasterio: its /vsicurl/ cache cannot be cleared, "
        "so remote files are read uncached (each open asks the server again) and a stale GDAL "
        "error may be reported by a later read"
    )
    return None


def cache_config() -> dict[str, str]:
    """GDAL options that keep credentials apart when its cache cannot be cleared (else none)."""
    return {} if _gdal_library() is not None else dict(_UNCACHED)


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
