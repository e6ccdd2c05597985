"""Requests to token services (OIDC token endpoints, SAS token APIs): no credential chain, the
thread's pooled session (N token requests reuse one connection), the one retry policy.

A service that stays busy or failing (429, 503 with ``Retry-After``, gateway errors) or cannot
be reached through the retries is a :class:`~xstac_access.errors.TokenServiceError`: the
credential may be fine. Any other answer, a refusal included, is the caller's to read (the
credential providers know what an OAuth error code means).
"""

from __future__ import annotations

from collections.abc import Mapping

import requests

from .. import errors
from .._hrefs import host_of, safe_href
from .policy import budget, parse_retry_after
from .session import pooled


def call(
    url: str,
    *,
    method: str = "POST",
    data: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    what: str = "token",
) -> requests.Response:
    """``method url`` (a form in ``data``), retried under the policy; the response read."""
    status: int | None = None
    retry_after: float | None = None
    with budget(what, url) as spent:
        try:
            resp = pooled().open(method, url, data=data, headers=headers, what=what)
        except requests.RequestException:
            pass  # no connection (the urllib3 retries and the body's are spent)
        else:
            if resp.status_code not in spent.policy.statuses:
                return resp
            status = resp.status_code
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
    said = f"HTTP {status}" if status else "no connection"
    raise errors.TokenServiceError(
        f"the {what} service at {host_of(url)} is unavailable ({said}, {spent.attempts} "
        "attempts); this says nothing about your credential: try again later",
        href=safe_href(url), host=host_of(url), status=status, retry_after=retry_after,
    )  # fmt: skip
