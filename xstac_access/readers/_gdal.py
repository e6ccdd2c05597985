"""GDAL access for raster readers: paths, scoped configuration, per-thread dataset cache.

Nothing here touches process-wide GDAL state for longer than one open or one read: every
operation runs inside ``rasterio.Env(**source.config)`` (thread-local outside the main thread,
restored on exit inside it). A :class:`RasterSource` is small, immutable and picklable, so dask
workers re-open the file themselves with the same settings.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .. import errors
from .._hrefs import host_of, local_path, safe_href, scheme_of
from ..transport import fetch

#: Settings for remote reads: no directory listing, merged ranges, one 32 KB header read,
#: a block cache, bounded retries with short delays, and no ~/.netrc Basic auth to every host.
BASE_CONFIG: dict[str, str] = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "GDAL_INGESTED_BYTES_AT_OPEN": "32768",
    "VSI_CACHE": "TRUE",
    "GDAL_HTTP_NETRC": "NO",
    "GDAL_HTTP_MAX_RETRY": "3",
    "GDAL_HTTP_RETRY_DELAY": "0.5",
    "GDAL_HTTP_CONNECTTIMEOUT": "10",
    "GDAL_HTTP_TIMEOUT": "60",
}

_CACHE_SIZE = 32
_local = threading.local()


@dataclass(frozen=True)
class RasterSource:
    """How to open one raster with GDAL: path, config options, overview level."""

    href: str
    path: str
    config: tuple[tuple[str, str], ...]
    overview_level: int | None = None
    storage_options: tuple[tuple[str, Any], ...] = ()

    def env(self):
        import rasterio

        return rasterio.Env(**dict(self.config))

    def open(self):
        """A rasterio dataset for this source, cached per thread (datasets are not thread-safe)."""
        import rasterio

        cache: OrderedDict = getattr(_local, "datasets", None) or OrderedDict()
        _local.datasets = cache
        key = (self.path, self.config, self.overview_level)
        ds = cache.get(key)
        if ds is not None and not ds.closed:
            cache.move_to_end(key)
            return ds
        kwargs = {} if self.overview_level is None else {"overview_level": self.overview_level}
        ds = rasterio.open(self.path, **kwargs)
        cache[key] = ds
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)[1].close()
        return ds

    def __repr__(self) -> str:  # the config may one day carry credentials: never show values
        return f"RasterSource({safe_href(self.href)!r}, overview_level={self.overview_level})"


def raster_source(
    href: str, *, storage_options: dict[str, Any] | None = None, overview_level: int | None = None
) -> RasterSource:
    """Build the :class:`RasterSource` for an http(s), s3 or local href."""
    options = dict(storage_options or {})
    config = dict(BASE_CONFIG)
    scheme = scheme_of(href)
    if scheme in ("http", "https"):
        path = "/vsicurl/" + href
    elif scheme == "s3":
        parts = urlsplit(href)
        path = f"/vsis3/{parts.netloc}{parts.path}"
        config.update(s3_config(options))
    else:
        path = local_path(href)
    return RasterSource(
        href=href,
        path=path,
        config=tuple(sorted(config.items())),
        overview_level=overview_level,
        storage_options=tuple(sorted(options.items())),
    )


def s3_config(options: dict[str, Any]) -> dict[str, str]:
    """GDAL ``/vsis3/`` settings equivalent to fsspec/s3fs storage options."""
    client = dict(options.get("client_kwargs") or {})
    endpoint = options.get("endpoint_url") or client.get("endpoint_url")
    config: dict[str, str] = {}
    if endpoint:
        parts = urlsplit(endpoint)
        config["AWS_S3_ENDPOINT"] = parts.netloc or parts.path
        config["AWS_HTTPS"] = "NO" if parts.scheme == "http" else "YES"
        config["AWS_VIRTUAL_HOSTING"] = "FALSE"
    if options.get("anon", True) and not options.get("key"):
        config["AWS_NO_SIGN_REQUEST"] = "YES"
    region = client.get("region_name") or options.get("region_name")
    if region:
        config["AWS_REGION"] = str(region)
    if options.get("requester_pays"):
        config["AWS_REQUEST_PAYER"] = "requester"
    return config


def diagnose(source: RasterSource, exc: Exception, label: str) -> errors.XStacError:
    """Explain a failed GDAL open or read with a typed error (one small request to find out)."""
    storage = dict(source.storage_options)
    try:
        head = fetch(source.href, byte_range=(0, 1024), storage_options=storage, what=label)
    except errors.XStacError as typed:
        return typed
    from . import format_of_bytes

    shown, host = safe_href(source.href), host_of(source.href)
    message = str(exc).replace(source.href, shown).replace(source.path, shown)
    fmt = format_of_bytes(head)
    if fmt != "geotiff":
        what = f"looks like {fmt}" if fmt else f"starts with {head[:8]!r}"
        return errors.FormatError(
            f"{label} at {shown} (host {host}) is not a raster GDAL can read: the file {what}. "
            "The catalogue's media type may be wrong; choose another asset or pass reader=."
        )
    return errors.FormatError(
        f"{label} at {shown} (host {host}) is a TIFF/JPEG2000 that GDAL cannot read, probably "
        f"truncated or corrupt: {message}"
    )
