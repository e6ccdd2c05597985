"""Presigned redirects, as NASA Earthdata's cloud data hosts (TEA) answer them.

An authorised request for a file under a protected prefix whose rule has ``"presign"`` gets a
``303 See Other`` to a presigned S3 URL on another host (the file server's second port, named
``localhost`` so that it is neither the data host nor the Earthdata login host, as
``<bucket>.s3.us-west-2.amazonaws.com`` is neither in the live system). The URL carries S3's
SigV4 query (``X-Amz-Algorithm``, ``X-Amz-Credential``, ``X-Amz-Date``, ``X-Amz-Expires``,
``X-Amz-SignedHeaders``, ``X-Amz-Signature``) and is valid ``lifetime`` seconds of the shared
clock (TEA: at most 3600). The second port's rule with scheme ``"presigned"`` checks it as S3
does: past its expiry a 403 with AWS's XML body (``AccessDenied``, "Request has expired"), a
wrong or missing signature a 403 ``AccessDenied``, and a request carrying an ``Authorization``
header besides the signature a 400 ("Only one auth mechanism allowed").

Documented in the TEA README ("Thin Egress App", ASF/NASA: 303 to a presigned S3 URL) and
AWS's "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)".
"""

from __future__ import annotations

import calendar
import hmac
import time
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape

from aiohttp import web

from xstac_access import _clock
from xstac_access.testing.fileserver_state import ServerState

#: The longest presigned URL TEA hands out, in seconds.
MAX_LIFETIME = 3600
_AMZ_DATE = "%Y%m%dT%H%M%SZ"


def _signature(state: ServerState, path: str, date: str, expires: str) -> str:
    return hmac.new(state.presign_key, f"{path}|{date}|{expires}".encode(), "sha256").hexdigest()


def presigned_redirect(
    request: web.Request, state: ServerState, rule: dict[str, Any]
) -> web.Response:
    """The 303 to a presigned URL for this request's path, valid from now on the shared clock."""
    lifetime = min(int((rule.get("presign") or {}).get("lifetime", MAX_LIFETIME)), MAX_LIFETIME)
    date = time.strftime(_AMZ_DATE, time.gmtime(_clock.now()))
    expires = str(lifetime)
    query = urlencode(
        {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Credential": f"ASIAREPLICA/{date[:8]}/us-west-2/s3/aws4_request",
            "X-Amz-Date": date,
            "X-Amz-Expires": expires,
            "X-Amz-SignedHeaders": "host",
            "X-Amz-Signature": _signature(state, request.path, date, expires),
        }
    )
    location = f"{state.bases['presigned']}{request.path}?{query}"
    return web.Response(status=303, headers={"Location": location})


def check_presigned(request: web.Request, state: ServerState) -> web.Response | None:
    """None when the request carries a valid, unexpired signature for its path; else S3's
    answer: 400 for two auth mechanisms, 403 ``AccessDenied`` (expired, or not signed)."""
    query = request.query
    if "X-Amz-Signature" in query and "Authorization" in request.headers:
        return _s3_error(
            400, "InvalidArgument", "Only one auth mechanism allowed; only the X-Amz-Algorithm "
            "query parameter, Signature query string parameter or the Authorization header "
            "should be specified",
        )  # fmt: skip
    date, expires = query.get("X-Amz-Date", ""), query.get("X-Amz-Expires", "")
    expected = _signature(state, request.path, date, expires)
    if not expires.isdigit() or not hmac.compare_digest(query.get("X-Amz-Signature", ""), expected):
        return _s3_error(403, "AccessDenied", "Access Denied")
    signed = calendar.timegm(time.strptime(date, _AMZ_DATE))  # signed: the format is ours
    if _clock.now() > signed + int(expires):
        fields = {
            "X-Amz-Expires": expires,
            "Expires": _iso(signed + int(expires)),
            "ServerTime": _iso(_clock.now()),
        }
        return _s3_error(403, "AccessDenied", "Request has expired", fields)
    return None


def _iso(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


def _s3_error(
    status: int, code: str, message: str, fields: dict[str, str] | None = None
) -> web.Response:
    """An S3 error answer: ``application/xml`` with ``<Error><Code>...`` as AWS sends it."""
    extra = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in (fields or {}).items())
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>{extra}"
        "<RequestId>REPLICA0000000000</RequestId><HostId>replica</HostId></Error>"
    )
    return web.Response(status=status, text=body, content_type="application/xml")
