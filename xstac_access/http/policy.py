"""When and how long to wait before trying a request again: one :class:`RetryPolicy` for every
I/O path, and the budget of retries one logical request may spend.

A busy server (429, 503 with ``Retry-After``), a gateway hiccup (502, 504), a timeout (408, 425),
a connection that failed or a body cut mid-read is worth another try; a refusal (401/403,
handled by one credential refresh: :mod:`.hops`), a missing file, a malformed request or an
application error (500) is not. Waits grow exponentially from ``backoff`` with full jitter (so
that many workers hitting one server do not retry in step), a server's ``Retry-After`` is
honoured up to ``cap``, and ``retries`` is the budget: then the last typed error is raised,
saying how many attempts were made.

From the one value come: the urllib3 ``Retry`` of the requests sessions (:meth:`urllib3_retry`:
statuses and connections, under the same :class:`Budget` as the bodies cut mid-read that the
session reads again), the aiohttp middleware's loop (:mod:`.aio`), and GDAL's options
(:meth:`gdal_options`: the same statuses and number of retries; GDAL 3.10 waits its own backoff
from ``backoff`` and does not read ``Retry-After``). Every retry is logged at INFO on
``xstac_access.retry`` with the host, never the href's query or a credential.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.util.retry import Retry

from .. import errors
from .._hrefs import host_of
from .._log import get_logger

T = TypeVar("T")

#: HTTP statuses worth another try: the server was busy, timed out, or a gateway hiccuped.
TRANSIENT = frozenset({408, 425, 429, 502, 503, 504})
log = get_logger("xstac_access.retry")


@dataclass(frozen=True)
class RetryPolicy:
    """Which statuses are retried, how many times, and how long to wait before each retry."""

    statuses: frozenset[int] = TRANSIENT
    retries: int = 4  # retries after the first attempt
    backoff: float = 0.25  # seconds: the ceiling of the first wait, doubled for each further one
    cap: float = 30.0  # seconds: no single wait is longer, whatever Retry-After says
    jitter: bool = True  # full jitter: a random share of the ceiling
    honour_retry_after: bool = True

    def wait(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0 for the first): the server's
        ``Retry-After`` when it gave one, else (a random share of) the exponential ceiling."""
        if retry_after is not None and self.honour_retry_after:
            return min(max(retry_after, 0.0), self.cap)
        ceiling = min(self.backoff * 2**attempt, self.cap)
        return random.uniform(0.0, ceiling) if self.jitter else ceiling  # noqa: S311 (jitter)

    def transient(self, exc: errors.AccessError) -> bool:
        """A cut or refused connection, or a retried status; not a refusal or a missing file."""
        if isinstance(exc, errors.AuthError | errors.HrefNotFoundError):
            return False
        return exc.status is None or exc.status in self.statuses

    def urllib3_retry(self) -> PolicyRetry:
        """The urllib3 ``Retry`` of a requests adapter: these statuses (any method: a search
        POST is safe to repeat) and failed connections, retried while the :class:`Budget` of
        the request lasts, each wait decided and logged here (:class:`PolicyRetry`)."""
        return PolicyRetry.for_policy(self)

    def gdal_options(self) -> dict[str, str]:
        """GDAL's retry options: the same statuses and number of retries, ``backoff`` as its
        first delay (GDAL then multiplies it by 2 to 2.5 for each further retry)."""
        return {
            "GDAL_HTTP_MAX_RETRY": str(self.retries),
            "GDAL_HTTP_RETRY_DELAY": f"{self.backoff:g}",
            "GDAL_HTTP_RETRY_CODES": ",".join(str(s) for s in sorted(self.statuses)),
        }


#: The library's policy. Tests may replace it (``monkeypatch.setattr(policy, "POLICY", ...)``):
#: every path reads it when a request starts.
POLICY = RetryPolicy()


def current_policy() -> RetryPolicy:
    """The policy in force (:data:`POLICY`, read at call time)."""
    return POLICY


class Budget:
    """The retries one logical request may still make, whatever failed: a status, a connection
    or a body cut mid-read. ``what`` and ``href`` name it in the retry log; ``stop`` (an event)
    cuts a wait short, as a download interrupted by Ctrl-C wants."""

    def __init__(
        self,
        policy: RetryPolicy,
        what: str,
        href: str,
        retries: int | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.policy, self.what, self.host, self.stop = policy, what, host_of(href), stop
        self.retries = policy.retries if retries is None else retries
        self.spent = 0

    @property
    def attempts(self) -> int:
        """Attempts made so far (or being made): the retries spent, and the first."""
        return self.spent + 1

    def left(self) -> bool:
        return self.spent < self.retries and not (self.stop is not None and self.stop.is_set())

    def _take(self, why: Any, retry_after: float | None, host: str | None) -> float | None:
        if not self.left():
            return None
        wait = self.policy.wait(self.spent, retry_after)
        self.spent += 1
        log.info(
            "%s at %s: %s; retry %d of %d in %.2f s",
            self.what, host or self.host, why, self.spent, self.retries, wait,
        )  # fmt: skip
        return wait

    def spend(self, why: Any, retry_after: float | None = None, host: str | None = None) -> bool:
        """Take one retry and wait before it (logged); ``False`` when none is left."""
        wait = self._take(why, retry_after, host)
        if wait is None:
            return False
        if self.stop is not None:
            self.stop.wait(wait)
        else:
            time.sleep(wait)
        return True

    async def spend_async(
        self, why: Any, retry_after: float | None = None, host: str | None = None
    ) -> bool:
        """:meth:`spend` without blocking the running event loop."""
        wait = self._take(why, retry_after, host)
        if wait is None:
            return False
        await asyncio.sleep(wait)
        return True

    def run(self, call: Callable[[], T]) -> T:
        """``call()``, tried again after a transient :class:`~xstac_access.errors.AccessError`
        while this budget lasts (the retries its requests made are spent from it too); then
        the last error is raised with the number of attempts."""
        while True:
            try:
                return call()
            except errors.AccessError as exc:
                if not self.policy.transient(exc):
                    raise
                if not self.spend(exc.status or "connection failed", exc.retry_after):
                    self.gave_up(exc)
                    raise

    def gave_up(self, exc: errors.AccessError) -> errors.AccessError:
        """``exc`` saying how many attempts were made, when there was more than one."""
        if self.spent and "gave up after" not in str(exc):
            exc.args = (f"{exc} (gave up after {self.attempts} attempts)", *exc.args[1:])
        return exc


_CURRENT: contextvars.ContextVar[Budget | None] = contextvars.ContextVar(
    "xstac_access_retry_budget", default=None
)


@contextlib.contextmanager
def budget(
    what: str,
    href: str,
    *,
    retries: int | None = None,
    stop: threading.Event | None = None,
    policy: RetryPolicy | None = None,
) -> Iterator[Budget]:
    """A fresh :class:`Budget` for the requests made in the ``with`` block (nested blocks have
    their own: a token fetched in the middle of a read does not spend the read's)."""
    spent = Budget(policy or current_policy(), what, href, retries, stop)
    token = _CURRENT.set(spent)
    try:
        yield spent
    finally:
        _CURRENT.reset(token)


def current_budget() -> Budget | None:
    """The budget of the ``with budget(...)`` block this code runs in, if any."""
    return _CURRENT.get()


@contextlib.contextmanager
def joined_budget(what: str, href: str) -> Iterator[Budget]:
    """The budget in force, or a fresh one for this request when there is none."""
    known = current_budget()
    if known is not None:
        yield known
        return
    with budget(what, href) as fresh:
        yield fresh


class PolicyRetry(Retry):
    """urllib3's ``Retry`` under a :class:`RetryPolicy`: urllib3 decides *that* a response or
    a failed connection is retried (the policy's statuses, any method); the retries are counted
    against the :class:`Budget` of the request (so that a body cut mid-read, which the session
    reads again itself, spends the same budget), and the wait is the policy's, logged on
    ``xstac_access.retry``. Outside a budget nothing is retried (urllib3's counters are off)."""

    policy: RetryPolicy = RetryPolicy()
    _why: Any = None
    _host: str | None = None

    @classmethod
    def for_policy(cls, policy: RetryPolicy) -> PolicyRetry:
        retry = cls(
            total=None, connect=None, read=None, redirect=None, status=None, other=None,
            allowed_methods=None, status_forcelist=policy.statuses, backoff_factor=0,
            raise_on_status=False, raise_on_redirect=False, respect_retry_after_header=False,
        )  # fmt: skip
        retry.policy = policy
        return retry

    def new(self, **kw: Any) -> PolicyRetry:
        fresh = super().new(**kw)
        fresh.policy = self.policy
        return fresh

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> PolicyRetry:
        spent = current_budget()
        if spent is None or not spent.left():
            reason = error or ResponseError(f"HTTP {getattr(response, 'status', '?')}")
            raise MaxRetryError(_pool, url or "", reason)
        fresh = super().increment(method, url, response, error, _pool, _stacktrace)
        fresh._why = response.status if response is not None else type(error).__name__
        if _pool is not None:
            fresh._host = f"{_pool.host}:{_pool.port}" if _pool.port else _pool.host
        return fresh

    def sleep(self, response: Any = None) -> None:
        """Wait the policy's time before the retry urllib3 is about to make."""
        spent = current_budget()
        if spent is None:  # pragma: no cover (increment refused already)
            return
        retry_after = None
        if response is not None:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
        spent.spend(self._why or "connection failed", retry_after, self._host)


def retrying(call: Callable[[], T], href: str, what: str) -> T:
    """``call()`` under a fresh budget (:meth:`Budget.run`)."""
    with budget(what, href) as spent:
        return spent.run(call)


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
