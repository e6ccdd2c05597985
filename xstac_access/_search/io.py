"""pystac-client's HTTP layer for catalogue searches: the broker's credentials, retries, errors.

pystac-client's ``StacApiIO`` is given a session of the HTTP layer
(:class:`xstac_access.http.session.Session`) bound to the broker: credentials are added per
request and per hop at the moment of sending, so they never pass through pystac-client's
request log, which prints the headers it prepared; a 401 or 403 refreshes the credential once;
busy servers (429, 503 with ``Retry-After``, gateway errors), refused connections and bodies
cut mid-read are retried under the library's one retry policy. Every failure becomes a typed
error naming the catalogue host and the server's own message, never a credential.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pystac_client.exceptions import APIError
from pystac_client.stac_api_io import StacApiIO

from .. import errors
from .._hrefs import host_of, safe_href
from .._log import redact
from ..http.session import TIMEOUT, Session

if TYPE_CHECKING:
    from ..credentials.broker import Broker


def open_io(broker: Broker) -> StacApiIO:
    """A pystac-client ``StacApiIO`` whose requests go through a session of the HTTP layer
    carrying the broker's credentials (no environment, no cookie jar, the library's retries)."""
    io = StacApiIO(timeout=TIMEOUT, max_retries=None)
    io.session = Session(broker)
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
        from ..credentials.config import advice

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
