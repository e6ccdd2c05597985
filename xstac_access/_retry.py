"""When and how long to wait before trying a request again: one policy for every I/O path.

A busy server (429, 503 with ``Retry-After``), a gateway hiccup (502, 504) or a connection cut
mid-body is worth another try; a refusal (401/403, handled by the credential refresh), a missing
file or a malformed request is not. Waits grow exponentially from :data:`BACKOFF` with full
jitter (so that many workers hitting one server do not retry in step), a server's
``Retry-After`` is honoured up to :data:`MAX_WAIT`, and :data:`RETRIES` retries is the budget:
then the last typed error is raised, saying how many attempts were made. Every retry is logged
at INFO on ``xstac_access.retry`` with the host, never the href's query or a credential.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import TypeVar

from . import errors
from ._hrefs import host_of
from .credentials.secrets import get_logger

T = TypeVar("T")

#: HTTP statuses worth another try: the server was busy or a gateway hiccuped.
TRANSIENT = frozenset({408, 425, 429, 500, 502, 503, 504})
RETRIES = 4  # retries after the first attempt
BACKOFF = 0.25  # seconds: the ceiling of the first wait, doubled for each further one
MAX_WAIT = 30.0  # seconds: no single wait is longer, whatever Retry-After says
log = get_logger("xstac_access.retry")


def transient(exc: errors.AccessError) -> bool:
    """A cut or refused connection, or a transient status; not a refusal or a missing file."""
    if isinstance(exc, errors.AuthError | errors.HrefNotFoundError):
        return False
    return exc.status is None or exc.status in TRANSIENT


def wait_before(attempt: int, retry_after: float | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (0 for the first): the server's
    ``Retry-After`` when it gave one, else a random share of the exponential ceiling."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), MAX_WAIT)
    return random.uniform(0.0, min(BACKOFF * 2**attempt, MAX_WAIT))  # noqa: S311 (jitter)


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (it may be a number or an HTTP date), ``None`` if absent."""
    if not value:
        return None
    try:
        return float(value)  # seconds (RFC 9110 says an integer; fractions are taken too)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value).timestamp() - time.time()
    except (TypeError, ValueError):
        return None


def retrying(call: Callable[[], T], href: str, what: str) -> T:
    """``call()``, tried again after a transient :class:`~xstac_access.errors.AccessError`, at
    most :data:`RETRIES` times; then the last error is raised with the number of attempts."""
    for attempt in range(RETRIES + 1):
        try:
            return call()
        except errors.AccessError as exc:
            if not transient(exc):
                raise
            if attempt == RETRIES:
                if attempt:
                    exc.args = (f"{exc} (gave up after {attempt + 1} attempts)", *exc.args[1:])
                raise
            wait = wait_before(attempt, exc.retry_after)
            log.info(
                "%s at %s: %s; retry %d of %d in %.2f s",
                what, host_of(href), exc.status or "connection failed", attempt + 1, RETRIES, wait,
            )  # fmt: skip
            time.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover
