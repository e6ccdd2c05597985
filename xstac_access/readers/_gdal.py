"""GDAL access for raster readers: paths, scoped configuration and credentials, dataset cache.

Nothing here touches process-wide GDAL state for longer than one open or one read: every
operation runs inside ``rasterio.Env`` (thread-local outside the main thread, restored on exit
inside it), and credentials enter that Env as ``GDAL_HTTP_HEADERS`` / ``GDAL_HTTP_COOKIE`` /
``AWS_*`` for that operation only. A :class:`RasterSource` holds no secret: its credential is an
:class:`~xstac_access.credentials.broker.Access` handle, so it pickles safely into dask graphs
and workers fetch current material themselves. GDAL captures HTTP options when it opens a file,
so datasets are cached per thread *and* per credential version: a refreshed token reopens.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from .._hrefs import host_of, local_path, safe_href, scheme_of
from .._log import get_logger
from ..credentials import get_broker
from ..credentials.broker import Access, Broker, BrokerHandle, as_access
from ..credentials.material import NO_MATERIAL, Material
from ..http.hops import Refresh
from ..http.landings import forget as forget_landing
from ..http.landings import known as known_landing
from ..http.landings import landed
from ..http.limits import gdal_options, slot
from ..http.policy import Budget, current_policy
from ..http.ranged import forget_kept
from ..http.reads import refusal
from ._gdalfail import Unreadable, cache_config, clear_vsicurl_cache, diagnose, reset_gdal_error
from ._gdalmem import forget as forget_in_memory
from ._gdalmem import memory_path, needs_whole_file, read_whole
from ._gdalsidecars import sidecar_config, sidecar_names

if TYPE_CHECKING:
    import rasterio
    from rasterio.io import DatasetReader

#: Settings for remote reads: no directory listing, merged ranges, no ~/.netrc Basic auth to
#: every host, Authorization never forwarded to another host on redirect, and no curl trace (it
#: would print the Authorization header); the retries come from the library's one retry policy
#: (:meth:`~xstac_access.http.policy.RetryPolicy.gdal_options`, added by :func:`_env`). No
#: ``GDAL_INGESTED_BYTES_AT_OPEN`` and no ``VSI_CACHE`` here (see :data:`READER_CONFIG`):
#: either made GDAL's first read of every file 32 KB instead of 16 KB (the IFDs of a COG fit in
#: 16 KB; tile offsets are read lazily): 7.5 % more bytes than odc-stac over a 20-item load
#: (benchmark B9). One GDAL thread per read: the worker threads a driver starts (JPEG 2000
#: decodes with all CPUs by default) do not see the thread-local options of this Env,
#: credentials included, so their reads of a protected file went out without Authorization,
#: were refused (401), and the image came back as zeros (benchmark B7, a SAFE zip's TCI). A JPEG
#: 2000 file GDAL reads from memory or disk decodes on every core (:func:`decoder_threads`).
BASE_CONFIG: dict[str, str] = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_NUM_THREADS": "1",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "GDAL_HTTP_NETRC": "NO",
    "GDAL_HTTP_CONNECTTIMEOUT": "10",
    "GDAL_HTTP_TIMEOUT": "60",
    "CPL_VSIL_CURL_AUTHORIZATION_HEADER_ALLOWED_IF_REDIRECT": "IF_SAME_HOST",
    "CPL_CURL_VERBOSE": "NO",
}

#: Added for the readers of one file (windows, overviews, zip members: :meth:`RasterSource.run`),
#: not for the many-file loader. GDAL's VSI cache reads in 32 KB blocks, so a header straddling
#: /vsicurl/'s 16 KB chunks comes in one request, not two in a row: the Biomass TIFF's 17 KB of
#: IFD and GCPs after its data cost one round trip less (benchmark B1). Over many small COGs it
#: would only read 16 KB more of each (benchmark B9).
READER_CONFIG: dict[str, str] = {"VSI_CACHE": "TRUE"}

_CACHE_SIZE = 32
_local = threading.local()
#: Bumped by :func:`forget_datasets`: a thread whose cache is older closes it at its next open.
_generation = 0
log = get_logger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RasterSource:
    """How to open one raster with GDAL: href, non-secret config, overview level, credential.

    ``lands``: the href redirects and GDAL reads where it lands, as walked by
    :mod:`xstac_access.http.landings` in this process; where a process that did not walk it (a dask
    worker) reads: ``landed`` at open, for a URL with no signature (:func:`unsigned`).
    """

    href: str
    label: str
    overview_level: int | None = None
    access: Access | None = None
    lands: bool = False
    landed: tuple[str, Access] | None = None
    #: The sidecar files (names beside the href) GDAL may look for over the network; local
    #: files see their directory whole (:func:`sidecar_config`).
    siblings: tuple[str, ...] = ()

    def location(self) -> tuple[str, Access | None]:
        """Where GDAL reads, and with which credential: the href, or where it lands."""
        if not self.lands or self.access is None:
            return self.href, self.access
        landing = known_landing(self.href, self.access)
        if landing is None and self.landed is not None:
            return self.landed
        landing = landing or landed(self.href, self.access, get_broker, what=self.label)
        return landing.href, as_access(landing.access)

    def material(self) -> Material:
        access = self.location()[1]
        return access.material() if access is not None else NO_MATERIAL

    def path(self, material: Material) -> str:
        href = self.location()[0]
        kept = memory_path(href)  # from a server that ignores Range
        if kept is not None:
            return kept
        scheme = scheme_of(href)
        if scheme in ("http", "https"):
            return "/vsicurl/" + material.sign(href)
        if scheme == "s3":
            parts = urlsplit(href)
            return f"/vsis3/{parts.netloc}{parts.path}"
        return local_path(href)

    def run(self, operation: Callable[[Any], T]) -> T:
        """``operation(dataset)`` under this source's GDAL settings and credential.

        The dataset is opened (or taken from this thread's cache) inside :meth:`call`.
        """
        return self.call(lambda material: operation(self._dataset(material)), READER_CONFIG)

    def call(self, work: Callable[[Material], T], config: dict[str, str] | None = None) -> T:
        """``work(material)`` inside this source's GDAL settings and credential.

        ``work`` opens what it needs itself (``self.path(material)`` is the GDAL path to use).
        A refusal (at open, or of a tile of an open dataset) refreshes the credential, or lands
        again, and tries once more; so does a server ignoring Range, once the file is in memory
        (:mod:`._gdalmem`), and a remote TIFF that GDAL could not read (a body cut short);
        other failures are explained by :func:`~._gdalfail.diagnose`. From the main
        thread the work moves to a helper thread, where ``rasterio.Env`` is thread-local (in
        the main thread it would set process-wide options, token included). ``config`` adds
        GDAL options to :data:`BASE_CONFIG`.
        """
        return off_main_thread(lambda: self._call(work, config))

    def _call(self, work: Callable[[Material], T], config: dict[str, str] | None = None) -> T:
        from rasterio._err import CPLE_BaseError
        from rasterio.errors import RasterioError

        refresh, cut = Refresh(self.label), Budget(current_policy(), self.label, self.href, 1)
        for attempt in (1, 2):
            href, access = self.location()
            material = access.material() if access is not None else NO_MATERIAL
            options = {**sidecar_config(href, self.siblings), **(config or {}),
                       **decoder_threads(self.path(material))}  # fmt: skip
            try:  # one connection slot while GDAL works (its ranges then come one at a time)
                with slot(access), _env(material, gdal_options(access, options)):
                    reset_gdal_error()
                    return work(material)
            except (RasterioError, CPLE_BaseError) as exc:  # GDAL's own errors are the latter
                clear_vsicurl_cache(self.path(material))  # no refusal or login page stays cached
                if attempt == 1 and self._without_range(exc, href, access):
                    continue  # now from memory; over the limit, a typed error was raised
                status = self._refusal(exc, href, access, material) if attempt == 1 else None
                if status is not None:
                    refreshed = access is not None and refresh.again(status, access, material,
                                                                     href)  # fmt: skip
                    if self.lands and self.access is not None:
                        log.info("%s refused the read of %s; landing again", host_of(href),
                                 self.label)  # fmt: skip
                        forget_landing(self.href, self.access)
                        continue
                    if refreshed:
                        continue
                error = diagnose(self, exc)
                remote = attempt == 1 and scheme_of(href) in ("http", "https")
                if remote and isinstance(error, Unreadable) and cut.spend("GDAL's read failed"):
                    continue  # GDAL takes a body cut mid-read for the end of the file's data
                raise error from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _without_range(self, exc: Exception, href: str, access: Access | None) -> bool:
        """Whether GDAL failed on a server ignoring Range and the file is now in memory."""
        if not needs_whole_file(exc) or scheme_of(href) not in ("http", "https"):
            return False
        return read_whole(href, access or Access(href, None), self.label)

    def _refusal(
        self, exc: Exception, href: str, access: Access | None, material: Material
    ) -> int | None:
        """The status (401/403) with which the server refused this read's credential or
        location, if it did: for a tile of an open dataset GDAL says only "Read failed", so the
        server is asked (one small request)."""
        sent = access is not None and access.needed
        if not (sent or self.lands) or scheme_of(href) not in ("http", "https"):
            return None
        for status in (401, 403):
            if f"HTTP response code: {status}" in str(exc):
                return status
        return refusal(href, access=access or Access(href, None), material=material,
                       broker=get_broker())  # fmt: skip

    def _dataset(self, material: Material) -> DatasetReader:
        import rasterio

        cache: OrderedDict | None = getattr(_local, "datasets", None)
        if cache is None or getattr(_local, "generation", None) != _generation:
            for stale in (cache or {}).values():
                stale.close()
            cache = _local.datasets = OrderedDict()
            _local.generation = _generation
        key = (self.path(material), self.overview_level, material.version, self.siblings)
        ds = cache.get(key)
        if ds is not None and not ds.closed:
            cache.move_to_end(key)
            return ds
        _forget_other_credentials(self)
        kwargs = {} if self.overview_level is None else {"overview_level": self.overview_level}
        ds = rasterio.open(key[0], **kwargs)
        cache[key] = ds
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)[1].close()
        return ds

    def __repr__(self) -> str:
        return f"RasterSource({safe_href(self.href)!r}, overview_level={self.overview_level})"

    def __deepcopy__(self, memo: dict[int, Any]) -> RasterSource:
        """Itself: it never changes, and deep copies of a Dataset (rioxarray's ``write_crs``
        makes one) keep its bands on one source, which reads them together
        (:mod:`._gdalbatch`)."""
        return self


def off_main_thread(work: Callable[[], T]) -> T:
    """``work()`` where ``rasterio.Env`` sets thread-local GDAL options: here, or, called from
    the main thread (where rasterio sets them process-wide, token included), on a helper."""
    if threading.current_thread() is threading.main_thread():
        return _main_thread_pool().submit(work).result()
    return work()


@functools.cache
def _main_thread_pool() -> ThreadPoolExecutor:
    """The helper threads GDAL reads run on when called from the main thread (made once)."""
    return ThreadPoolExecutor(4, thread_name_prefix="xstac-gdal")


_opened_with: dict[str, str | None] = {}
_opened_lock = threading.Lock()


def _forget_other_credentials(source: RasterSource) -> None:
    """Clear GDAL's cache for a URL last opened under another credential (or none).

    GDAL caches sizes and blocks per URL for the whole process: without this, bytes read with
    one credential would be served to an open with another, or with none, without the server
    being asked.
    """
    credential = source.access.provider_id if source.access is not None else None
    with _opened_lock:
        previous = _opened_with.get(source.href, credential)
        _opened_with[source.href] = credential
    if previous != credential and scheme_of(source.href) in ("http", "https"):
        clear_vsicurl_cache("/vsicurl/" + source.href)


def raster_source(
    target: Any,
    broker: Broker | BrokerHandle,
    *,
    overview_level: int | None = None,
    sidecars: bool | None = None,
) -> RasterSource:
    """The :class:`RasterSource` for a target, its credential resolved through ``broker``.

    Its sidecars (:func:`sidecar_names`) are read over the network when the item lists them
    as assets, or when ``sidecars=True``; ``sidecars=False`` never reads them.

    When the credential must follow a redirect (a trusted download host) or a login sets
    cookies (Earthdata), the redirect chain is walked first and GDAL is given where it ends
    (walked again when a read there is refused: a presigned URL that expired).
    """
    href, access = target.href, broker.access(target.href)
    provider = access.provider
    if (
        scheme_of(href) in ("http", "https")
        and provider is not None
        and (provider.trusted_hosts or hasattr(provider, "is_login_host"))
    ):
        landing = landed(href, access, broker, what=target.label, fresh=True)
        return RasterSource(
            href, target.label, overview_level, access, lands=True,
            landed=unsigned(landing.href, as_access(landing.access)),
        )  # fmt: skip
    siblings = sidecar_names(href, getattr(target, "item", None), sidecars)  # the loader: none
    return RasterSource(href, target.label, overview_level, access, siblings=siblings)


def unsigned(href: str, access: Access) -> tuple[str, Access] | None:
    """Where a redirect landed, and its credential, unless the URL has a query (a signature)."""
    if urlsplit(href).query:
        return None
    return href, access


def _env(material: Material, extra: dict[str, str] | None = None) -> rasterio.Env:
    import rasterio

    config = {**BASE_CONFIG, **cache_config(), **current_policy().gdal_options(), **(extra or {}),
              **gdal_config(material)}  # fmt: skip
    options = material.s3_options()
    if options.get("key") or options.get("profile"):  # rasterio takes AWS keys via a session
        from rasterio.session import AWSSession

        client = dict(options.get("client_kwargs") or {})
        session = AWSSession(
            aws_access_key_id=options.get("key"), aws_secret_access_key=options.get("secret"),
            aws_session_token=options.get("token"), profile_name=options.get("profile"),
            region_name=client.get("region_name"),
            requester_pays=bool(options.get("requester_pays")),
            endpoint_url=config.get("AWS_S3_ENDPOINT"),  # host[:port]; scheme in AWS_HTTPS
        )  # fmt: skip
        return rasterio.Env(session=session, **config)
    return rasterio.Env(**config)


#: The files whose decoder may use every core (see :func:`decoder_threads`).
_THREADED_DECODERS = (".jp2", ".j2k", ".jpx")


def decoder_threads(path: str) -> dict[str, str]:
    """Every core for the JPEG 2000 decoder (2-3x faster on two) when GDAL reads ``path`` from
    memory or the local disk: its worker threads then fetch nothing, so no request can go out
    without the credential (see :data:`BASE_CONFIG`). Only JPEG 2000: OpenJPEG's threads share
    the decoding of one image, where GDAL's threaded GeoTIFF reads fetch every strip of a
    request at the sizes the file claims, which a damaged file can set to gigabytes each."""
    local = path.startswith("/vsimem/") or not path.startswith("/vsi")
    if local and path.lower().endswith(_THREADED_DECODERS):
        return {"GDAL_NUM_THREADS": "ALL_CPUS"}
    return {}


def gdal_config(material: Material) -> dict[str, str]:
    """GDAL config options carrying ``material``: HTTP headers and cookies, or S3 settings."""
    config: dict[str, str] = {}
    headers = {k: v.reveal() for k, v in material.headers.items()}
    if headers:
        config["GDAL_HTTP_HEADERS"] = ", ".join(
            f'{k}: "{v}"' if "," in v else f"{k}: {v}" for k, v in headers.items()
        )
    if material.cookies:
        config["GDAL_HTTP_COOKIE"] = "; ".join(
            f"{k}={v.reveal()}" for k, v in material.cookies.items()
        )
    if material.s3:
        config.update(s3_config(material.s3_options()))
    else:
        config["AWS_NO_SIGN_REQUEST"] = "YES"
    return config


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
    if not (options.get("key") or options.get("profile")) and options.get("anon", True):
        config["AWS_NO_SIGN_REQUEST"] = "YES"  # keys and profiles go through an AWSSession
    region = client.get("region_name") or options.get("region_name") or options.get("region")
    if region:
        config["AWS_REGION"] = str(region)
    if options.get("requester_pays"):
        config["AWS_REQUEST_PAYER"] = "requester"
    return config


def forget_datasets() -> None:
    """Start the next reads cold, as in a new process: every thread's cached datasets are closed
    at its next open (their blocks with them) and GDAL's /vsicurl/ cache is cleared.

    For measurements that count what reaching a file costs (benchmarks, request-count tests):
    the datasets cached per thread would otherwise answer a repeated read without the server.
    """
    global _generation
    _generation += 1
    clear_vsicurl_cache()
    forget_in_memory()  # and the whole files of servers ignoring Range, here and in http.ranged
    forget_kept()
