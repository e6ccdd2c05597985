"""The urllib3 ``Retry`` of the requests sessions, derived from the :class:`.policy.RetryPolicy`.

urllib3 decides *that* a response or a failed connection is retried (the policy's statuses, any
method); the retries are counted against the :class:`~.policy.Budget` of the request (so that a
body cut mid-read, which the session reads again itself, spends the same budget), and the wait
is the policy's (full jitter, ``Retry-After`` honoured up to the cap), logged on
``xstac_access.retry``. Outside a budget nothing is retried.
"""

from __future__ import annotations

from typing import Any

from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.util.retry import Retry

from .policy import RetryPolicy, current_budget, parse_retry_after


class PolicyRetry(Retry):
    """``Retry`` whose limit is the current :class:`~.policy.Budget` and whose waits are the
    policy's (urllib3's own counters are off)."""

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
