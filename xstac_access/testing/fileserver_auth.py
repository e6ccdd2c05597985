"""The file server's protected prefixes: bearer JWTs, Earthdata Login and SAS signatures.

A bearer token is checked against the OIDC server's JWKS (signature, issuer, and ``exp`` on the
shared test clock). The Earthdata scheme runs the login host's redirect, Basic login, one-time
code and session cookie dance. SAS signatures are Planetary-Computer-style: tokens from
``/sas/token/<account>/<container>`` valid ``sas.lifetime`` seconds of the shared clock.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import jwt
from aiohttp import web

from xstac_access import _clock
from xstac_access.testing import _jwt
from xstac_access.testing.fileserver_state import (
    DEFAULT_EARTHDATA,
    HOST,
    ServerState,
    json_error,
)

SAS_TOKEN_PATH = "/sas/token/"  # noqa: S105 (a URL path, not a secret)


def sas_signature(state: ServerState, account: str, container: str, expiry: str) -> str:
    message = f"{account}/{container}|{expiry}".encode()
    return hmac.new(state.sas_key, message, "sha256").hexdigest()


def sas_token(state: ServerState, account: str, container: str) -> dict[str, str]:
    """A Planetary-Computer-style SAS token for one container, valid ``sas.lifetime`` s: a real
    Azure service SAS for the ``azure_accounts`` (Azurite's), else a signature of this server's."""
    lifetime = float((state.config.get("sas") or {}).get("lifetime", 3600))
    expiry = str(int(_clock.now() + lifetime))
    iso = datetime.fromtimestamp(int(expiry), tz=UTC).isoformat().replace("+00:00", "Z")
    keys = {a["account"]: a["key"] for a in state.config.get("azure_accounts", [])}
    if account in keys:  # Azurite judges expiry on the wall clock: the same lifetime there
        from xstac_access.testing.azurite import container_sas

        wall = time.time() + lifetime
        return {"token": container_sas(account, keys[account], container, wall),
                "msft:expiry": iso}  # fmt: skip
    signature = sas_signature(state, account, container, expiry)
    return {"token": f"se={expiry}&sp=r&sv=2024-05-04&sig={signature}", "msft:expiry": iso}


def sas_valid(state: ServerState, rule: dict[str, Any], query: Any) -> bool:
    """True when the query carries an unexpired signature for the rule's container."""
    expiry, sig = query.get("se", ""), query.get("sig", "")
    if not expiry.isdigit() or int(expiry) < _clock.now():
        return False
    expected = sas_signature(state, rule["account"], rule["container"], expiry)
    return hmac.compare_digest(sig, expected)


async def verify_bearer(state: ServerState, header: str | None, realm: str) -> bool:
    """True when ``header`` holds an RS256 JWT of ``realm`` that is valid and not revoked."""
    return await bearer_status(state, header, realm) == 200


async def bearer_status(state: ServerState, header: str | None, realm: str) -> int:
    """200 when ``header`` holds an RS256 JWT of ``realm`` (signature, ``exp``, ``iss``); 401
    when it does not; the revocation status (401 or 403) when it is valid but revoked (issued
    before the server's "not before" time, or revoked by name)."""
    if state.oidc_url is None or not header or not header.startswith("Bearer "):
        return 401
    token = header.removeprefix("Bearer ").strip()
    issuer = f"{state.oidc_url}/realms/{realm}"
    if realm not in state.jwks:
        state.jwks[realm] = jwt.PyJWKClient(
            f"{issuer}/protocol/openid-connect/certs", cache_keys=True, timeout=5
        )
    try:
        key = await asyncio.to_thread(state.jwks[realm].get_signing_key_from_jwt, token)
        claims = _jwt.verify(token, key.key, issuer=issuer)
    except jwt.PyJWTError:
        return 401
    if int(claims.get("iat", 0)) < state.not_before:
        return state.revoked_status
    if hashlib.sha256(token.encode()).hexdigest() in state.revoked:
        return state.revoked_status
    return 200


def revoke(state: ServerState, body: dict[str, Any]) -> dict[str, Any]:
    """Revoke bearer tokens server-side while their ``exp`` is still ahead: ``{"before": "now"}``
    (or a time on the shared clock) refuses every token issued before that second, as
    Keycloak's not-before policy does; ``{"token_sha256": h}`` refuses one token. ``status``
    is what a revoked token gets: 401 (RFC 6750's ``invalid_token``) or 403, which gateways
    such as AWS API Gateway answer."""
    if body.get("status") is not None:
        state.revoked_status = int(body["status"])
    before = body.get("before")
    if before is not None:
        state.not_before = int(_clock.now() if before == "now" else float(before))
    if body.get("token_sha256"):
        state.revoked.add(str(body["token_sha256"]))
    return {
        "not_before": state.not_before,
        "revoked": len(state.revoked),
        "status": state.revoked_status,
    }


def basic_ok(header: str | None, creds: dict[str, str]) -> bool:
    """True when ``header`` is HTTP Basic with exactly the configured username and password."""
    if not header or not header.startswith("Basic "):
        return False
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return hmac.compare_digest(user, creds["username"]) & hmac.compare_digest(
        password, creds["password"]
    )


async def check_access(
    request: web.Request, state: ServerState, rule: dict[str, Any]
) -> web.Response | None:
    """None when the request may read a protected path, else the 401 or login redirect."""
    auth = request.headers.get("Authorization")
    challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    if rule.get("scheme", "bearer") == "bearer":
        status = await bearer_status(state, auth, rule.get("realm", ""))
        if status == 200:
            return None
        return json_error(status, "a valid bearer token is required", challenge)
    if rule["scheme"] == "sas":
        if sas_valid(state, rule, request.query):
            return None
        return json_error(403, "missing, invalid or expired SAS signature")
    if auth is not None and auth.startswith("Bearer "):
        if await verify_bearer(state, auth, rule.get("realm", "earthdata")):
            return None
        return json_error(401, "invalid Earthdata token", challenge)
    if request.cookies.get("edl_session") in state.sessions:
        return None
    here = state.bases[request.app[HOST]]
    query = urlencode(
        {
            "client_id": "xstac-local",
            "response_type": "code",
            "redirect_uri": f"{here}/oauth/callback",
            "state": request.path_qs,
        }
    )
    login = f"{state.bases['alt']}/oauth/authorize?{query}"
    return web.Response(status=302, headers={"Location": login})


def authorize(request: web.Request, state: ServerState) -> web.Response:
    """The login host: check Basic credentials, then send a one-time code to the callback."""
    creds = state.config.get("earthdata") or DEFAULT_EARTHDATA
    if not basic_ok(request.headers.get("Authorization"), creds):
        challenge = {"WWW-Authenticate": 'Basic realm="Earthdata Login"'}
        return json_error(401, "login required", challenge)
    redirect_uri = request.query.get("redirect_uri", "")
    after = request.query.get("state", "/")
    if redirect_uri not in {f"{base}/oauth/callback" for base in state.bases.values()}:
        return json_error(400, "unknown redirect_uri")
    if not after.startswith("/") or after.startswith("//"):
        return json_error(400, "state must be a local path")
    code = secrets.token_urlsafe(16)
    state.codes[code] = after
    query = urlencode({"code": code, "state": after})
    return web.Response(status=302, headers={"Location": f"{redirect_uri}?{query}"})


def callback(request: web.Request, state: ServerState) -> web.Response:
    """Trade a one-time code for a session cookie and go back to the original path."""
    after = state.codes.pop(request.query.get("code", ""), None)
    if after is None:
        return json_error(401, "unknown or used authorization code")
    session = secrets.token_urlsafe(24)
    state.sessions.add(session)
    resp = web.Response(status=302, headers={"Location": state.bases[request.app[HOST]] + after})
    resp.set_cookie("edl_session", session, path="/", httponly=True)
    return resp
