"""Byte ranges over HTTP, and servers that do not honour them.

Readers fetch parts of remote files: a zip's directory at its end, a netCDF's header, a raster's
tiles. Most servers answer ``Range: bytes=a-b`` with a 206 and those bytes; some send the whole
file with a 200 (RFC 9110 lets a server ignore Range). Read naively, such a server costs the
whole file for every member or chunk. So a ranged GET here is streamed, and its first response
says which kind of server it is:

* a file up to :func:`no_range_limit` bytes (:data:`NO_RANGE_MAX_BYTES`, 64 MiB; the
  environment variable ``XSTAC_NO_RANGE_MAX_BYTES`` changes it, for dask workers too) is read
  whole, once: the reader keeps it for that open (members and chunks come from memory), and so
  does this module for :data:`KEEP_SECONDS` (bounded to the limit in all, per credential), so
  that the reads of one open (format sniffing, a zip's directory, its members) share that one
  transfer;
* a larger file is a :class:`~xstac_access.errors.RangeNotSupportedError` naming the host and
  size: download it (``xstac_access.download`` streams it to disk) and open the local copy;
* where only the first bytes are wanted (format sniffing), only those are read and the
  connection is closed.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from .. import errors
from .._hrefs import host_of, safe_href
from .hops import Landing
from .policy import retrying
from .reads import login_page_error, looks_like_html, read_body, stream

if TYPE_CHECKING:
    import requests

    from .protocols import AccessLike as Access
    from .protocols import BrokerLike as Broker

#: Default of :func:`no_range_limit`, bytes.
NO_RANGE_MAX_BYTES = 64 * 1024 * 1024
NO_RANGE_ENV = "XSTAC_NO_RANGE_MAX_BYTES"
#: How long a whole file from a server ignoring Range is kept here, seconds.
KEEP_SECONDS = 60.0
_KEPT: OrderedDict[tuple[str, str | None], tuple[float, Span]] = OrderedDict()
_lock = threading.Lock()


def no_range_limit() -> int:
    """The largest file read whole from a server that ignores Range (``$XSTAC_NO_RANGE_MAX_BYTES``
    when set to a number of bytes, else :data:`NO_RANGE_MAX_BYTES`)."""
    value = os.environ.get(NO_RANGE_ENV, "").strip()
    return int(value) if value.isdigit() else NO_RANGE_MAX_BYTES


@dataclass(frozen=True)
class Span:
    """What a ranged GET brought: the bytes asked for, the file's size when the answer told it,
    where the redirects landed, and the whole file when the server ignored Range (and the
    caller asked to keep it)."""

    data: bytes
    size: int | None
    landing: Landing
    whole: bytes | None = field(default=None, repr=False)


def get_range(
    href: str,
    first: int,
    last: int | None = None,
    *,
    access: Access,
    broker: Broker,
    what: str = "asset",
    keep_whole: bool = False,
) -> Span:
    """Bytes ``first`` to ``last`` (inclusive; ``None``: to the end) of an http(s) ``href``, or
    its last ``-first`` bytes when ``first`` is negative, in one GET (retried when transient).

    From a server ignoring Range, a suffix or ``keep_whole`` read takes the whole file, within
    :func:`no_range_limit` (else :class:`~xstac_access.errors.RangeNotSupportedError`); other
    reads take the bytes up to ``last`` and close the connection.
    """
    kept = _kept(href, access)
    if kept is not None:
        return _cut(kept, first, last)
    spec = f"bytes={first}" if first < 0 else f"bytes={first}-{'' if last is None else last}"

    def attempt() -> Span:
        resp, landing = stream(
            href, headers={"Range": spec}, access=access, broker=broker, what=what
        )
        with contextlib.closing(resp):
            return _span(resp, landing, first, last, what, keep_whole or first < 0)

    span = retrying(attempt, href, what)
    start = span.whole if span.whole is not None else span.data
    if first <= 0 and looks_like_html(start):
        raise login_page_error(span.landing.href, what, broker.advice(href))
    if span.whole is not None:
        _keep(span, access, href)
    return span


def forget_kept() -> None:
    """Forget the whole files kept: the next read asks the server again (tests, benchmarks)."""
    with _lock:
        _KEPT.clear()


def _cut(whole: Span, first: int, last: int | None) -> Span:
    """The bytes ``first`` to ``last`` of a kept whole file, as a read of them would give."""
    body = whole.whole or b""
    part = body[first:] if first < 0 else body[first : None if last is None else last + 1]
    return replace(whole, data=part)


def _kept(href: str, access: Access) -> Span | None:
    """The whole file kept for ``href`` and this credential, if still fresh."""
    with _lock:
        moment, span = _KEPT.get((href, access.provider_id), (0.0, None))
    return span if span is not None and time.monotonic() - moment < KEEP_SECONDS else None


def _keep(span: Span, access: Access, href: str) -> None:
    """Keep a whole file under the href asked for and where it landed (at most the limit)."""
    landed = span.landing.access.provider_id
    now = time.monotonic()
    with _lock:
        for key in {(href, access.provider_id), (span.landing.href, landed)}:
            _KEPT[key] = (now, span)
            _KEPT.move_to_end(key)
        while len(_KEPT) > 2 and _held() > no_range_limit():
            _KEPT.popitem(last=False)


def _held() -> int:
    """Bytes the kept files hold (one file may be kept under two keys; callers hold the lock)."""
    spans = {id(span): span for _, span in _KEPT.values()}
    return sum(len(span.whole or b"") for span in spans.values())


def _span(
    resp: requests.Response, landing: Landing, first: int, last: int | None, what: str, whole: bool
) -> Span:
    if resp.status_code == 206:
        total = resp.headers.get("Content-Range", "").rpartition("/")[2]
        return Span(
            read_body(resp, landing, what), int(total) if total.isdigit() else None, landing
        )
    length = resp.headers.get("Content-Length", "")
    size = int(length) if length.isdigit() else None
    limit = no_range_limit()
    if not whole and (size is None or size > limit):  # only the bytes asked for: then close
        upto = None if last is None else last + 1
        return Span(read_body(resp, landing, what, upto)[first:upto], size, landing)
    if size is not None and size > limit:
        raise too_large(landing.href, what, size)
    body = read_body(resp, landing, what, limit + 1)
    if len(body) > limit:
        raise too_large(landing.href, what, None)
    return _cut(Span(b"", len(body), landing, whole=body), first, last)


def too_large(href: str, what: str, size: int | None) -> errors.RangeNotSupportedError:
    """The error for a file too large to read whole from a server that ignores Range."""
    host = host_of(href)
    told = f"{size} bytes" if size is not None else "more than that"
    return errors.RangeNotSupportedError(
        f"{what} at {safe_href(href)}: host {host} does not support HTTP Range requests (it "
        f"sends the whole file every time), and the file is {told}, over the "
        f"{no_range_limit()} bytes read whole into memory. Download it (xstac_access.download, "
        f"or any HTTP client) and open the local copy, or raise {NO_RANGE_ENV}.",
        href=safe_href(href), host=host, status=200,
    )  # fmt: skip


def fetch_tail(
    href: str, length: int, *, access: Access, broker: Broker, what: str = "asset"
) -> Span:
    """The last ``length`` bytes of an http(s) href (its index, for a zip), the file's size
    (from ``Content-Range``, no request of its own) and where it landed, from one suffix-range
    GET; from a server ignoring Range, the whole file too (see the module docstring)."""
    return get_range(href, -length, access=access, broker=broker, what=what)


def remote_size(href: str, *, access: Access, broker: Broker, what: str = "asset") -> int:
    """The size of an http(s) href, from a one-byte ranged GET (what a HEAD would say,
    redirects and credentials included): ``Content-Range``, or a 200's ``Content-Length``."""
    span = get_range(href, 0, 0, access=access, broker=broker, what=what)
    if span.size is None:
        span = get_range(href, 0, None, access=access, broker=broker, what=what, keep_whole=True)
    return span.size if span.size is not None else len(span.data)
