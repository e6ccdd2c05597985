"""The aiohttp side of the HTTP layer: client sessions for fsspec/zarr, with a middleware that
decides every hop's credential with the same :class:`~.hops.Chain` as the requests sessions.

aiohttp follows redirects itself and runs the middleware for each hop. A chain starts at a
request the middleware has not seen announced; when its response redirects, the next hop is
decided at once (the login host's Basic credentials, the origin's credential where its provider
trusts the target, or the target's own) and announced, in the task's context, for the URL
aiohttp goes to next. Cookies set during a login are kept by the login provider (the session's
own cookie jar keeps none); URL signing is not done here (Azure blobs are read through adlfs,
:mod:`xstac_access.credentials._adlfs`).

On each hop: one refresh after a refusal (:class:`~.hops.Refresh`; a second refusal is an
:class:`~xstac_access.errors.AuthError` naming the URL and host), busy servers and failed
connections retried under the :class:`~.policy.RetryPolicy` with one budget per request, and a
connection slot of the hop's provider held until aiohttp gives the connection back
(:mod:`.limits`). A body cut while fsspec reads it is not retried here: the middleware sees
the response head only.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from typing import Any

import aiohttp
from yarl import URL

from .. import errors
from .._hrefs import host_of, safe_href
from .hops import Chain, Refresh
from .limits import limited
from .policy import Budget, current_policy, parse_retry_after
from .protocols import BrokerLike

_REDIRECTS = (301, 302, 303, 307, 308)
#: The next hop of a chain whose response redirected: (the URL aiohttp goes to, the chain).
_NEXT: contextvars.ContextVar[tuple[URL, Chain] | None] = contextvars.ContextVar(
    "xstac_access_next_hop", default=None
)


async def client_session(broker: BrokerLike, **kwargs: Any) -> aiohttp.ClientSession:
    """An aiohttp session whose every request carries ``broker``'s credential for its hop
    (fsspec's ``get_client``; ``kwargs`` are its ``client_kwargs``). It reads nothing from
    the environment (no netrc Basic auth beside the broker's credential) and keeps no cookie."""
    kwargs.setdefault("trust_env", False)
    return aiohttp.ClientSession(
        middlewares=(functools.partial(_middleware, broker),),
        cookie_jar=aiohttp.DummyCookieJar(), **kwargs,
    )  # fmt: skip


async def _middleware(broker: BrokerLike, request: Any, handler: Any) -> Any:
    """Client middleware: the right credential on every hop, one refresh after a refusal, and
    busy or failing servers retried under the policy."""
    url = str(request.url)
    announced = _NEXT.get()
    _NEXT.set(None)
    if announced is not None and announced[0] == request.url:
        chain = announced[1]
    else:  # a new request: its own credential (refreshing blocks: not on the loop)
        chain = await asyncio.to_thread(Chain, broker, broker.access(url))
    send = limited(handler, chain.access)  # each try holds a connection slot until released
    refresh, spent = Refresh(safe_href(url)), Budget(current_policy(), safe_href(url), url)
    while True:
        chain.headers(request.headers)
        response = await _send(send, request, spent)
        if response is None:  # the connection failed: waited, try again
            continue
        chain.keep_cookies({n: morsel.value for n, morsel in response.cookies.items()})
        if response.status in _REDIRECTS and "Location" in response.headers:
            target = request.url.join(URL(response.headers["Location"]))
            await asyncio.to_thread(chain.follow, str(target))
            _NEXT.set((target, chain))
            return response
        if not chain.at_login and refresh.again(response.status, chain.access, chain.material, url):
            response.release()
            chain.material = await asyncio.to_thread(chain.access.material)
            continue
        if response.status in (401, 403) and refresh.done:
            response.release()
            _refused(response.status, url)  # refused again with a fresh credential: typed
        if response.status in spent.policy.statuses and spent.left():
            response.release()
            wait = parse_retry_after(response.headers.get("Retry-After"))
            await spent.spend_async(response.status, wait)
            continue
        return response


async def _send(handler: Any, request: Any, spent: Budget) -> Any:
    """The response, or ``None`` after a failed connection that the budget allows to retry."""
    try:
        return await handler(request)
    except (TimeoutError, aiohttp.ClientConnectionError) as exc:
        if not await spent.spend_async(exc.__class__.__name__):
            raise
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
