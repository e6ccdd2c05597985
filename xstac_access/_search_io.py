"""pystac-client's HTTP layer for catalogue searches: the broker's credentials, retries, errors.

Credentials are added by a requests transport adapter, per request and per URL, at the moment of
sending: each hop of a redirect gets the credential of its own host (or none), and the headers
never pass through pystac-client's request log, which prints the headers it prepared. A 401 or
403 refreshes the credential once. Overload answers (429, 502, 503, 504) and refused connections
are retried a few times with backoff, honouring ``Retry-After``. Every failure becomes a typed
error naming the catalogue host and the server's own message, never a credential.
"""

from __future__ import annotations

import json
from http.cookiejar import DefaultCookiePolicy
from typing import TYPE_CHECKING, Any

from pystac_client.exceptions import APIError
from pystac_client.stac_api_io import StacApiIO
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from . import errors
from ._hrefs import host_of, safe_href
from .credentials.secrets import get_logger, redact

if TYPE_CHECKING:
    from requests import PreparedRequest, Response

    from .credentials.broker import Broker

TIMEOUT = (10.0, 60.0)  # connect, read
RETRY = Retry(
    total=4,
    connect=2,
    read=1,
    status=3,
    status_forcelist=(429, 502, 503, 504),
    allowed_methods=None,  # a search POST is safe to repeat
    backoff_factor=0.25,
    respect_retry_after_header=True,
    raise_on_status=False,
)
log = get_logger(__name__)


class CredentialAdapter(HTTPAdapter):
    """Adds the broker's credential for each request's own URL as it is sent."""

    def __init__(self, broker: Broker) -> None:
        super().__init__(max_retries=RETRY)
        self._broker = broker

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:
        access = self._broker.access(request.url or "")
        if not access.needed:
            return super().send(request, *args, **kwargs)
        material = access.material()
        request.headers.update(material.http_headers())
        resp = super().send(request, *args, **kwargs)
        if resp.status_code in (401, 403):
            host = host_of(request.url or "")
            log.info("%s refused the credential for its STAC API; refreshing once", host)
            access.invalidate(material)
            resp.close()
            request.headers.update(access.material().http_headers())
            resp = super().send(request, *args, **kwargs)
        return resp


def open_io(broker: Broker) -> StacApiIO:
    """A pystac-client ``StacApiIO`` whose requests carry the broker's credentials.

    Like :mod:`xstac_access.transport`, the session ignores the environment (no ``~/.netrc``
    Basic auth, no proxy variables) and keeps no cookies.
    """
    io = StacApiIO(timeout=TIMEOUT, max_retries=None)
    io.session.trust_env = False
    io.session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    io.session.headers["User-Agent"] = "xstac-access"
    adapter = CredentialAdapter(broker)
    io.session.mount("http://", adapter)
    io.session.mount("https://", adapter)
    return io


def server_message(text: str | None, limit: int = 300) -> str:
    """The readable part of an error body: stac-fastapi's ``description``, FastAPI's ``detail``
    (validation errors as ``loc: msg``), ``message`` or ``error``; else the text itself."""
    if not text:
        return ""
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    message = text
    if isinstance(body, dict):
        keys = ("description", "detail", "message", "error")
        found = next((body[k] for k in keys if k in body), None)
        if isinstance(found, list):
            found = "; ".join(
                f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg', d)}"
                if isinstance(d, dict)
                else str(d)
                for d in found
            )
        if found is not None:
            message = str(found)
    message = " ".join(redact(message).split())
    return message if len(message) <= limit else message[: limit - 1] + "…"


def status_of(exc: APIError) -> int | None:
    """The HTTP status of a pystac-client error, ``None`` when no answer came."""
    return getattr(exc, "status_code", None)


def as_error(exc: APIError, url: str, doing: str) -> errors.XStacError:
    """The typed error for a failed catalogue request (``doing``: "searching items", ...)."""
    if isinstance(exc.__context__, errors.XStacError):  # the broker failed, e.g. token refresh
        return exc.__context__
    host, status = host_of(url), status_of(exc)
    if status is None:
        reason = type(exc.__context__).__name__ if exc.__context__ is not None else "no answer"
        return errors.SearchError(
            f"cannot reach the STAC API at {host} while {doing} ({reason}); check the URL "
            f"({safe_href(url)}) and the network",
            host=host,
        )
    if status in (401, 403):
        from .credentials.config import advice

        return errors.AuthError(
            f"the STAC API at {host} refused access (HTTP {status}) while {doing}. {advice(url)}"
            " If one is configured, check that it is still valid.",
            href=safe_href(url),
            host=host,
            status=status,
        )
    message = server_message(str(exc))
    said = f": {message}" if message else ""
    if status >= 500:
        todo = "the server failed; try again later, or narrow the search"
    elif status == 404:
        todo = f"is {safe_href(url)} the root of a STAC API?"
    else:
        todo = "check the search parameters against the server's message"
    return errors.SearchError(
        f"the STAC API at {host} answered HTTP {status} while {doing}{said} ({todo})",
        host=host,
        status=status,
    )
