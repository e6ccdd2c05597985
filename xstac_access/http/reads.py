"""HTTP GETs of the engine with typed errors: whole bodies, streamed ones, a refusal check.

:func:`whole` reads a body at once; :func:`stream` opens a GET whose body its caller reads (byte
ranges: :mod:`.ranged`; downloads: :mod:`xstac_access._download.transfer`), with extra headers
such as ``Range`` and ``If-Range``. Requests go through this thread's pooled
:class:`~.session.Session`, which decides the credential of every hop (:class:`~.hops.Chain`),
retries under the policy and refreshes once after a refusal; what fails is a typed
:mod:`xstac_access.errors` exception naming the host, never a secret. An HTML body where data
was expected is a login wall (:func:`login_page_error`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import requests

from .. import errors
from .._hrefs import host_of, safe_href
from .hops import REFUSED, Chain, Landing
from .policy import budget, joined_budget, parse_retry_after
from .session import BodyBroke, pooled

if TYPE_CHECKING:
    from .protocols import AccessLike, BrokerLike, MaterialLike


def looks_like_html(head: bytes) -> bool:
    """True for the start of an HTML page: what a login wall returns instead of data."""
    text = head[:512].lstrip().lower()
    return text.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def login_page_error(href: str, what: str, advice: str) -> errors.AuthError:
    """The error for an HTML page where data was expected: a login wall, not a format.
    ``advice`` says what to configure for ``href``."""
    return errors.AuthError(
        f"{what} at {safe_href(href)} answered with an HTML page instead of data: host "
        f"{host_of(href)} probably wants you to log in. {advice}",
        href=safe_href(href),
        host=host_of(href),
        status=200,
    )


def raise_for_status(
    status: int, href: str, what: str, advice: str, retry_after: float | None = None
) -> None:
    """Turn an HTTP status >= 400 into the matching typed error (``advice``: what to configure
    for ``href``, said after a refusal)."""
    if status < 400:
        return
    host, shown = host_of(href), safe_href(href)
    kind: type[errors.AccessError]
    if status in (401, 403):
        kind = errors.AuthError
        message = (f"host {host} refused access (HTTP {status}). {advice} If one is "
                   "configured, check that it is still valid.")  # fmt: skip
    elif status in (404, 410):
        kind = errors.HrefNotFoundError
        message = (f"does not exist (HTTP {status} from {host}); the catalogue may point at a "
                   "moved or deleted file.")  # fmt: skip
    else:
        kind, message = errors.AccessError, f"host {host} answered HTTP {status}; try again later."
    raise kind(
        f"{what} at {shown}: {message}",
        href=shown, host=host, status=status, retry_after=retry_after,
    )  # fmt: skip


def refusal(
    href: str, *, access: AccessLike, material: MaterialLike, broker: BrokerLike
) -> int | None:
    """The status (401/403) with which ``href``'s server refuses ``material`` now (to a
    one-byte read), asked once and without refreshing it; ``None`` if it does not. GDAL reports
    a tile read refused on an open dataset only as "Read failed"; a token revoked server-side
    is still unexpired here, so the server is asked. A server that cannot be reached is not a
    refusal (the caller explains that failure)."""
    chain = Chain(broker, access, material)
    try:
        with budget("asset", href, retries=0):
            resp = pooled().open("GET", href, chain=chain, headers={"Range": "bytes=0-0"},
                                 stream=True, refresh=False)  # fmt: skip
    except requests.RequestException:
        return None
    resp.close()  # the body is not needed: a server ignoring Range would send the whole file
    return resp.status_code if resp.status_code in REFUSED else None


def stream(
    href: str,
    *,
    headers: Mapping[str, str],
    access: AccessLike,
    broker: BrokerLike,
    what: str = "asset",
) -> tuple[requests.Response, Landing]:
    """Open a streaming GET of an http(s) ``href``: ``(response, where it landed)``.

    ``headers`` (``Range``, ``If-Range``, ``Accept-Encoding``...) go with every hop; credentials
    are added per hop. The status is checked (>= 400 raises the typed error) but the body is
    left unread, so a download can write it chunk by chunk without holding a file in memory.
    The caller closes the response.
    """
    return _response(href, dict(headers), what, access, broker, stream=True)


def read_body(
    resp: requests.Response, landing: Landing, what: str, upto: int | None = None
) -> bytes:
    """The body of a streamed ``resp`` (its first ``upto`` bytes or more, when given: the
    caller closes the response then); a connection cut while reading is a retryable
    AccessError."""
    chunks, have = [], 0
    try:
        for chunk in resp.iter_content(1 << 16):
            chunks.append(chunk)
            have += len(chunk)
            if upto is not None and have >= upto:
                break
    except requests.RequestException:
        raise _broke(landing.href, what) from None
    return b"".join(chunks)


def whole(href: str, *, access: AccessLike, broker: BrokerLike, what: str = "asset") -> bytes:
    """The whole body of an http(s) ``href`` (a body cut mid-read is read again), under a
    retry budget of its own even where it serves a read that has one."""
    with budget(what, href):
        resp, _ = _response(href, {}, what, access, broker, stream=False)
    return resp.content


def _response(
    href: str,
    headers: dict[str, str],
    what: str,
    access: AccessLike,
    broker: BrokerLike,
    *,
    stream: bool,
) -> tuple[requests.Response, Landing]:
    """The final response for ``href`` and where it landed; failures become typed errors."""
    chain = Chain(broker, access)
    with joined_budget(what, href) as spent:  # a caller's retry loop may own it
        try:
            resp = pooled().open("GET", href, chain=chain, headers=headers, stream=stream,
                                 what=what)  # fmt: skip
        except BodyBroke:
            raise spent.gave_up(_broke(chain.url, what)) from None
        except requests.TooManyRedirects:
            raise errors.AccessError(
                f"{what} at {safe_href(href)}: more than {pooled().max_redirects} redirects",
                href=safe_href(href),
                host=host_of(href),
            ) from None
        except requests.RequestException as exc:
            url = chain.url
            raise spent.gave_up(
                errors.AccessError(
                    f"cannot reach {host_of(url)} for {what} at {safe_href(url)}: "
                    f"{exc.__class__.__name__}",
                    href=safe_href(url),
                    host=host_of(url),
                )
            ) from None
        landing = chain.landing()
        if resp.status_code >= 400:
            resp.close()
            wait = parse_retry_after(resp.headers.get("Retry-After"))
            try:
                raise_for_status(resp.status_code, landing.href, what, broker.advice(href), wait)
            except errors.AccessError as exc:
                if spent.policy.transient(exc):  # the retries urllib3 made are spent
                    raise spent.gave_up(exc) from None
                raise
        return resp, landing


def _broke(href: str, what: str) -> errors.AccessError:
    return errors.AccessError(
        f"{what} at {safe_href(href)}: the connection to {host_of(href)} broke while reading",
        href=safe_href(href),
        host=host_of(href),
    )
