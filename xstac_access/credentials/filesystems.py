"""fsspec filesystems that carry the broker's credentials: for Zarr stores and other fsspec users.

HTTP: an ``HTTPFileSystem`` whose aiohttp session runs a client middleware. For every request,
redirect hops included, the middleware asks the broker for the credential of that URL's host and
sets (or removes) the headers, sends Earthdata's Basic credentials only to its login host, keeps
the cookies a data host sets (the session's own cookie jar keeps none), and after a 401 or 403
(a token revoked server-side, an expired signature) refreshes the credential once and retries; a
second refusal is an :class:`~xstac_access.errors.AuthError` naming the URL and host. Busy
servers (429, 503...) and failed connections are retried with backoff. The filesystem pickles
with a :class:`~.broker.BrokerHandle`, so dask workers rebuild it without any secret. S3: s3fs
options from the broker's provider, in an s3fs that reaches tenant buckets path-style and
pickles as the credential's handle, not its keys (:func:`xstac_access._s3.filesystem`). Azure
blob storage (``abfs://``, ``az://``): adlfs signing every request (:mod:`.azure`). Any other
scheme is refused with a typed error, never handed to a filesystem of another.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
from typing import Any

import aiohttp

from .. import errors
from .._hrefs import host_of, safe_href, scheme_of
from .._limits import limited
from .._retry import RETRIES, TRANSIENT, parse_retry_after, wait_before
from .azure import BLOB_SCHEMES, account_of, account_url, blob_filesystem, blob_url
from .broker import Broker, BrokerHandle
from .secrets import get_logger

log = get_logger(__name__)
_SECRET_HEADERS = ("Authorization", "Cookie")


def filesystem_for(href: str, broker: Broker, *, asynchronous: bool = False) -> Any:
    """An fsspec filesystem able to read ``href`` with the credential the broker assigns.

    ``asynchronous=True`` gives the coroutine interface zarr 3 stores drive from their own
    event loop (HTTP, S3 and Azure; a local path gets the plain local filesystem). An
    ``abfs://`` href must name its account (:func:`.azure.with_account`).
    """
    import fsspec

    scheme = scheme_of(href)
    if scheme in ("http", "https"):
        return fsspec.filesystem(
            "http", get_client=functools.partial(_client_session, broker.handle()),
            skip_instance_cache=True, asynchronous=asynchronous,
        )  # fmt: skip
    if scheme == "s3":  # path-style at a custom endpoint, Ceph tenant buckets: see _s3
        from .._s3 import filesystem

        access = broker.access(href)  # what the filesystem pickles as
        return filesystem(access.material().s3_options(), asynchronous=asynchronous, access=access)
    if scheme in BLOB_SCHEMES:
        return blob_filesystem(href, broker, asynchronous=asynchronous)
    if scheme == "file":
        return fsspec.filesystem("file")
    raise errors.AccessError(
        f"cannot read {safe_href(href)}: unsupported scheme {scheme!r} (xstac-access reads "
        "http(s)://, s3://, abfs:// and local paths)",
        href=safe_href(href),
        host=host_of(href),
    )


def filesystem_kind(href: str, broker: Broker) -> tuple[str, ...]:
    """What tells apart the filesystems :func:`filesystem_for` builds with one broker: hrefs
    of one kind can share one filesystem (and its connection pool), hrefs of two cannot.

    HTTP(S): one (the middleware asks the broker per request); Azure: one per account and
    endpoint; S3: one per set of s3fs options (hashed: no key material in the tuple).
    """
    scheme = scheme_of(href)
    if scheme in ("http", "https"):
        return ("http",)
    if scheme in BLOB_SCHEMES:
        account = account_of(href) or ""
        return ("abfs", account, account_url(account, broker, blob_url(href)) if account else "")
    if scheme == "s3":
        options = broker.access(href).material().s3_options() or {}
        blob = json.dumps(options, sort_keys=True, default=str).encode()
        return ("s3", hashlib.sha256(blob).hexdigest())
    return (scheme,)


async def _client_session(handle: BrokerHandle, **kwargs: Any):
    kwargs.setdefault("trust_env", False)  # no netrc Basic auth beside the broker's credential
    return aiohttp.ClientSession(
        middlewares=(functools.partial(_authorize, handle),),
        cookie_jar=aiohttp.DummyCookieJar(), **kwargs,
    )  # fmt: skip


async def _authorize(handle: BrokerHandle, request: Any, handler: Any) -> Any:
    """Client middleware: the right credential on every hop, one refresh after a refusal, and
    busy or failing servers retried with the library's backoff (:mod:`xstac_access._retry`)."""
    url = str(request.url)
    login = handle.login_provider(url)
    if login is not None and login.is_login_host(url):
        _set_headers(request, login.basic_header(url))
        return await handler(request)
    access = handle.access(url)
    handler = limited(handler, access)  # each try holds a connection slot until released
    keeper = handle.cookie_keeper(url)
    refreshed, retry = False, 0
    while True:
        material = await asyncio.to_thread(access.material)  # refreshing blocks: not on the loop
        _set_headers(request, material.http_headers())
        response = await _send(handler, request, retry)
        if response is None:  # the connection failed: wait and try again
            retry += 1
            continue
        if keeper is not None and response.cookies:
            keeper.keep_cookies(url, {n: morsel.value for n, morsel in response.cookies.items()})
        if response.status in (401, 403) and access.needed:
            response.release()
            if refreshed:  # refused again with a fresh credential: say so, typed
                _refused(response.status, url)
            log.info("%s refused the credential (%d); refreshing once", request.url.host,
                     response.status)  # fmt: skip
            access.invalidate(material)
            refreshed = True
            continue
        if response.status in TRANSIENT and retry < RETRIES:
            wait = wait_before(retry, parse_retry_after(response.headers.get("Retry-After")))
            log.info(
                "%s answered %d; retry %d of %d in %.2f s",
                request.url.host, response.status, retry + 1, RETRIES, wait,
            )  # fmt: skip
            response.release()
            await asyncio.sleep(wait)
            retry += 1
            continue
        return response


async def _send(handler: Any, request: Any, retry: int) -> Any:
    """The response, or ``None`` after a failed connection that the budget allows to retry."""
    try:
        return await handler(request)
    except (TimeoutError, aiohttp.ClientConnectionError) as exc:
        if retry >= RETRIES:
            raise
        wait = wait_before(retry)
        log.info(
            "%s: %s; retry %d of %d in %.2f s",
            request.url.host, exc.__class__.__name__, retry + 1, RETRIES, wait,
        )  # fmt: skip
        await asyncio.sleep(wait)
        return None


class RefusedAfterRefresh(errors.AuthError, aiohttp.ClientError):
    """A credential refused again right after a refresh (a token revoked server-side).

    An :class:`~xstac_access.errors.AuthError`; also an ``aiohttp.ClientError`` only so that
    aiohttp lets it out of the middleware as it is (it wraps any other ``OSError`` in its
    ``ClientOSError``), and it reaches the user through fsspec, zarr and h5py unchanged.
    """


def _refused(status: int, url: str) -> None:
    """Raise the typed error of a credential refused even after a refresh, naming the URL and
    host, instead of the untyped status error fsspec would raise."""
    shown, host = safe_href(url), host_of(url)
    raise RefusedAfterRefresh(
        f"{shown}: host {host} refused the credential again right after it was refreshed "
        f"(HTTP {status}): it was revoked server-side or does not grant this file; check it "
        "(log in again, or get a new token) and whether your account may read this data.",
        href=shown, host=host, status=status,
    )  # fmt: skip


def _set_headers(request: Any, headers: dict[str, str]) -> None:
    for name in _SECRET_HEADERS:
        request.headers.pop(name, None)
    request.headers.update(headers)
