"""Requests to token services (OIDC token endpoints, SAS token APIs): no credential chain, the
thread's pooled session (N token requests reuse one connection), the one retry policy.

A service that stays busy or failing (429, 503 with ``Retry-After``, gateway errors) or cannot
be reached through the retries is a :class:`~xstac_access.errors.TokenServiceError`: the
credential may be fine. :func:`post_or_get` reads the JSON answer, and tells a refusal by its
OAuth error code, with what the caller says that code means for its credential.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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


def post_or_get(
    url: str,
    *,
    data: dict[str, str] | None = None,
    method: str = "POST",
    headers: dict[str, str] | None = None,
    what: str = "token",
    refused: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Call a token endpoint and return its JSON; failures become typed, secret-free errors.

    A busy or failing service is a :class:`~xstac_access.errors.TokenServiceError` after the
    retries (:func:`call`): the credential may be fine. A refusal (4xx) is an
    :class:`~xstac_access.errors.AuthError` naming the OAuth error code (RFC 6749);
    ``refused`` maps such codes (``invalid_grant``...) to what they mean for this credential
    and what to do (the providers know).
    """
    resp = call(url, method=method, data=data, headers=headers, what=what)
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if resp.status_code >= 400:
        code = body.get("error") if isinstance(body, dict) else None
        code = code if isinstance(code, str) and code.isidentifier() else ""
        meaning = (refused or {}).get(code, "")
        raise errors.AuthError(
            f"the {what} endpoint at {safe_href(url)} refused the request "
            f"(HTTP {resp.status_code}{' ' + code if code else ''})"
            + (f": {meaning}" if meaning else ""),
            href=safe_href(url),
            host=host_of(url),
            status=resp.status_code,
        )
    if not isinstance(body, dict):
        raise errors.AuthError(
            f"the {what} endpoint at {safe_href(url)} did not answer JSON",
            href=safe_href(url),
            host=host_of(url),
        )
    return body
