"""A Keycloak-like OIDC token server for the local world, faithful where clients go wrong.

It speaks Keycloak's paths (``/realms/<realm>/protocol/openid-connect/{token,certs,userinfo}``
and discovery) and its error answers, issues RS256 JWT access tokens with a configurable
lifetime, measured on the shared test clock (so expiry really happens in tests, when a test moves
that clock: :mod:`~xstac_access.testing.oidc_state`), and keeps opaque refresh tokens server-side
that ROTATE: each refresh returns a new one and kills the old, as ESA MAAP and CDSE do. Realms by
default: ``maap`` (the ``offline-token`` client with its published secret, refresh grant only),
``cdse`` (public ``cdse-public``, password and refresh grants; ``cdse-2fa-user`` has two-factor
authentication: :mod:`~xstac_access.testing.oidc_state`) and ``earthdata``. One RSA key per
realm is generated at start. The admin API hands out MAAP-style offline tokens and counts token
requests, logging each with the connection it came on (so a test sees a client reuse one); it
never returns or logs a secret. Injected faults make the token endpoint answer 503
(or 429, 502...) with ``Retry-After``, as Keycloak does under load.

Run: ``python -m xstac_access.testing.oidc --port P [--config FILE.json]
[--access-token-lifetime SECONDS]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import functools
import hmac
import json
import logging
import secrets
import signal
import time
from typing import Any

import jwt
from aiohttp import web

from xstac_access import _clock
from xstac_access.testing import _jwt
from xstac_access.testing.admin import ADMIN
from xstac_access.testing.oidc_state import (
    FAULT_KEYS,
    GRANTS,
    LOOPBACK,
    OIDC,
    TUNABLES,
    Grant,
    OAuthError,
    OidcState,
    Realm,
    load_config,
    log,
)

STATE = web.AppKey("state", OidcState)


def issuer_of(request: web.Request, realm: str) -> str:
    """The realm's issuer as Keycloak derives it by default: from the URL the client used."""
    return f"{request.url.origin()}/realms/{realm}"


def realm_of(request: web.Request) -> Realm:
    realm = request.app[STATE].realms.get(request.match_info["realm"])
    if realm is None:
        raise web.HTTPNotFound(
            text=json.dumps({"error": "Realm does not exist"}), content_type="application/json"
        )
    return realm


def client_credentials(request: web.Request, form: dict[str, str]) -> tuple[str, str | None]:
    """``client_id`` and secret from HTTP Basic (client_secret_basic) or the form (post)."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as err:
            raise OAuthError(401, "invalid_client", "Invalid client credentials") from err
        return client_id, secret
    return form.get("client_id", ""), form.get("client_secret")


async def token(request: web.Request) -> web.Response:
    """The token endpoint: password and refresh_token grants, with Keycloak's error answers."""
    state, realm = request.app[STATE], realm_of(request)
    form = {key: str(value) for key, value in (await request.post()).items()}
    grant_type = form.get("grant_type", "")
    client_id, secret = client_credentials(request, form)
    record = functools.partial(state.record, realm.name, grant_type, client_id,
                               connection=_connection(request))  # fmt: skip
    fault = state.take_fault(realm.name)
    if fault is not None:  # a busy Keycloak: counted and logged like any token request
        record(f"HTTP {fault['status']}")
        headers = {"Retry-After": str(fault["retry_after"])} if "retry_after" in fault else None
        return web.json_response(
            {"error": "temporarily_unavailable", "error_description": "Service Unavailable"},
            status=int(fault["status"]),
            headers=headers,
        )
    try:
        client = realm.clients.get(client_id)
        if client is None:
            raise OAuthError(401, "invalid_client", "Invalid client or Invalid client credentials")
        expected = client.get("secret")
        if expected is not None and not hmac.compare_digest(expected, secret or ""):
            raise OAuthError(401, "invalid_client", "Invalid client or Invalid client credentials")
        if grant_type not in GRANTS:
            raise OAuthError(400, "unsupported_grant_type", "Unsupported grant_type")
        if grant_type not in client.get("grants", GRANTS):
            raise OAuthError(400, "unauthorized_client", f"Client not allowed for {grant_type}")
        if grant_type == "password":
            grant = state.password_grant(realm, client_id, form)
            refresh = state.new_refresh(grant)
        else:
            grant, refresh = state.refresh_grant(realm, client_id, form)
    except OAuthError as err:
        record(err.error)
        return err.response()
    record(None)
    return web.json_response(
        state.tokens(issuer_of(request, realm.name), grant, refresh),
        headers={"Cache-Control": "no-store"},
    )


def _connection(request: web.Request) -> str | None:
    """Which TCP connection a request came on (the client's address and port): requests on
    one kept-alive connection share it."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return f"{peer[0]}:{peer[1]}" if peer else None


async def certs(request: web.Request) -> web.Response:
    return web.json_response(realm_of(request).jwks())


async def userinfo(request: web.Request) -> web.Response:
    """Claims of the bearer's user, after checking signature, expiry and issuer."""
    realm = realm_of(request)
    header = request.headers.get("Authorization", "")
    try:
        claims = _jwt.verify(
            header.removeprefix("Bearer ").strip(),
            realm.key.public_key(),
            issuer=issuer_of(request, realm.name),
            require=("sub",),
        )
    except jwt.PyJWTError:
        return web.json_response(
            {"error": "invalid_token", "error_description": "Token verification failed"},
            status=401,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return web.json_response(
        {
            "sub": claims["sub"],
            "preferred_username": claims.get("preferred_username"),
            "email_verified": False,
        }
    )


async def discovery(request: web.Request) -> web.Response:
    realm = realm_of(request)
    issuer = issuer_of(request, realm.name)
    base = issuer + "/protocol/openid-connect"
    return web.json_response(
        {
            "issuer": issuer,
            "token_endpoint": f"{base}/token",
            "jwks_uri": f"{base}/certs",
            "userinfo_endpoint": f"{base}/userinfo",
            "authorization_endpoint": f"{base}/auth",
            "grant_types_supported": list(GRANTS),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "offline_access", "profile", "email"],
        }
    )


async def admin_offline_token(request: web.Request) -> web.Response:
    """What the MAAP portal gives a user: a long-lived offline refresh token."""
    state = request.app[STATE]
    body = await request.json()
    realm = state.realms.get(body.get("realm", "maap"))
    if realm is None or body.get("user") not in realm.users:
        return web.json_response({"error": "unknown realm or user"}, status=400)
    client_id = body.get("client_id") or next(iter(realm.clients))
    expires = _clock.now() + float(state.config["offline_token_lifetime"])
    grant = Grant(
        realm.name,
        body["user"],
        client_id,
        "openid offline_access",
        True,
        expires,
        secrets.token_hex(16),
    )
    return web.json_response({"refresh_token": state.new_refresh(grant)})


async def admin_totp(request: web.Request) -> web.Response:
    """Require (``{"realm", "user", "secret": <base32>}``) or stop requiring (``"secret": null``)
    a one-time code in ``user``'s password grants."""
    body = await request.json()
    realm = request.app[STATE].realms.get(body.get("realm", ""))
    if realm is None or body.get("user") not in realm.users:
        return web.json_response({"error": "unknown realm or user"}, status=400)
    if body.get("secret") is None:
        realm.totp.pop(body["user"], None)
    else:
        realm.totp[body["user"]] = str(body["secret"])
    return web.json_response({"ok": True})


async def admin_stats(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return web.json_response({"token_requests": state.counts, "log": state.log})


async def admin_reset(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.counts.clear()
    state.log.clear()
    return web.json_response({"ok": True})


async def admin_faults(request: web.Request) -> web.Response:
    """Set the token endpoint's faults: ``{"rules": [{"status": 503, "retry_after": 1, "count":
    2, "realm": "maap"}]}`` answers the next two token requests of realm maap with a 503 (no
    ``count``: every one; no ``realm``: every realm). An empty list clears them."""
    rules = (await request.json()).get("rules", [])
    bad = [key for rule in rules for key in rule if key not in FAULT_KEYS]
    if bad or any("status" not in rule for rule in rules):
        return web.json_response(
            {"error": f"each rule needs a status; keys among {sorted(FAULT_KEYS)}"}, status=400
        )
    request.app[STATE].faults = [dict(rule) for rule in rules]
    return web.json_response({"ok": True, "rules": len(rules)})


async def admin_config(request: web.Request) -> web.Response:
    body = await request.json()
    unknown = set(body) - set(TUNABLES)
    if unknown:
        return web.json_response({"error": f"unknown keys {sorted(unknown)}"}, status=400)
    request.app[STATE].config.update(body)
    return web.json_response({key: request.app[STATE].config[key] for key in TUNABLES})


def build_app(config: dict[str, Any]) -> web.Application:
    realms = {
        name: Realm(name, spec.get("clients", {}), spec.get("users", {}), spec.get("totp", {}))
        for name, spec in config["realms"].items()
    }
    app = web.Application()
    app[STATE] = OidcState(config=config, realms=realms)
    app.router.add_get("/realms/{realm}/.well-known/openid-configuration", discovery)
    app.router.add_post(f"{OIDC}/token", token)
    app.router.add_get(f"{OIDC}/certs", certs)
    app.router.add_route("*", f"{OIDC}/userinfo", userinfo)
    app.router.add_post(ADMIN + "offline-token", admin_offline_token)
    app.router.add_post(ADMIN + "totp", admin_totp)
    app.router.add_get(ADMIN + "stats", admin_stats)
    app.router.add_post(ADMIN + "reset", admin_reset)
    app.router.add_post(ADMIN + "config", admin_config)
    app.router.add_post(ADMIN + "faults", admin_faults)
    return app


async def serve(args: argparse.Namespace) -> None:
    """Run until SIGTERM or SIGINT."""
    started = time.perf_counter()
    runner = web.AppRunner(
        build_app(load_config(args.config, args.access_token_lifetime)),
        access_log=None,
        shutdown_timeout=1.0,
    )
    await runner.setup()
    await web.TCPSite(runner, LOOPBACK, args.port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("OIDC server on port %d, ready in %.2f s", args.port, time.perf_counter() - started)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--config", help="JSON file overriding realms, clients, users, lifetimes")
    parser.add_argument("--access-token-lifetime", type=float, help="seconds (default 300)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
