"""A Keycloak-like OIDC token server for the local world, faithful where clients go wrong.

It speaks Keycloak's paths (``/realms/<realm>/protocol/openid-connect/{token,certs,userinfo}``
and discovery) and its error answers, issues RS256 JWT access tokens with a short, configurable
lifetime (so expiry really happens in tests) and keeps opaque refresh tokens server-side that
ROTATE: each refresh returns a new one and kills the old, as ESA MAAP and CDSE do. Realms by
default: ``maap`` (the ``offline-token`` client with its published secret, refresh grant only),
``cdse`` (public ``cdse-public``, password and refresh grants) and ``earthdata``. One RSA key per
realm is generated at start. The admin API hands out MAAP-style offline tokens and counts token
requests; it never returns or logs a secret.

Run: ``python -m xstac_access.testing.oidc --port P [--config FILE.json]
[--access-token-lifetime SECONDS]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import hmac
import json
import logging
import secrets
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from xstac_access.testing.admin import ADMIN

LOOPBACK = "127.0.0.1"

OIDC = "/realms/{realm}/protocol/openid-connect"
GRANTS = ("password", "refresh_token")
TUNABLES = (
    "access_token_lifetime",
    "refresh_token_lifetime",
    "offline_token_lifetime",
    "rotate_offline",
)
DEFAULT_CONFIG: dict[str, Any] = {
    "access_token_lifetime": 300,
    "refresh_token_lifetime": 1800,
    "offline_token_lifetime": 90 * 86400,
    "rotate_offline": True,
    "realms": {
        "maap": {
            "clients": {
                "offline-token": {
                    "secret": "offline-token-public-secret",
                    "grants": ["refresh_token"],
                }
            },
            "users": {"maap-user": "maap-pass"},
        },
        "cdse": {
            "clients": {"cdse-public": {"secret": None, "grants": ["password", "refresh_token"]}},
            "users": {"cdse-user": "cdse-pass"},
        },
        "earthdata": {
            "clients": {
                "earthdata-public": {"secret": None, "grants": ["password", "refresh_token"]}
            },
            "users": {"edl-user": "edl-pass"},
        },
    },
}

log = logging.getLogger("xstac_access.testing.oidc")


class OAuthError(Exception):
    """An OAuth error answer: HTTP status, ``error`` code and a description."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description

    def response(self) -> web.Response:
        return web.json_response(
            {"error": self.error, "error_description": self.description}, status=self.status
        )


@dataclass
class Realm:
    """One realm: its signing key, clients and users."""

    name: str
    clients: dict[str, dict[str, Any]]
    users: dict[str, str]
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    kid: str = field(default_factory=lambda: secrets.token_hex(8))

    def jwks(self) -> dict[str, Any]:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}


@dataclass
class Grant:
    """What a refresh token stands for, kept server-side (the token itself is opaque)."""

    realm: str
    user: str
    client_id: str
    scope: str
    offline: bool
    expires: float
    session: str


@dataclass
class OidcState:
    """Realms, live refresh tokens, lifetimes and the request log."""

    config: dict[str, Any]
    realms: dict[str, Realm]
    refresh: dict[str, Grant] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)

    def new_refresh(self, grant: Grant) -> str:
        token = secrets.token_urlsafe(32)
        self.refresh[token] = grant
        return token

    def tokens(self, issuer: str, grant: Grant, refresh_token: str) -> dict[str, Any]:
        """The token endpoint's answer for ``grant``: a fresh access JWT and the refresh token."""
        realm = self.realms[grant.realm]
        now = int(time.time())
        lifetime = int(self.config["access_token_lifetime"])
        subject = uuid.uuid5(uuid.NAMESPACE_URL, f"{issuer}/{grant.user}")
        claims = {
            "iss": issuer,
            "sub": str(subject),
            "aud": "account",
            "azp": grant.client_id,
            "iat": now,
            "exp": now + lifetime,
            "jti": str(uuid.uuid4()),
            "typ": "Bearer",
            "scope": grant.scope,
            "sid": grant.session,
            "preferred_username": grant.user,
        }
        token = jwt.encode(claims, realm.key, algorithm="RS256", headers={"kid": realm.kid})
        return {
            "access_token": token,
            "expires_in": lifetime,
            "refresh_expires_in": 0 if grant.offline else int(grant.expires - now),
            "refresh_token": refresh_token,
            "token_type": "Bearer",
            "not-before-policy": 0,
            "session_state": grant.session,
            "scope": grant.scope,
        }

    def password_grant(self, realm: Realm, client_id: str, form: dict[str, str]) -> Grant:
        password = realm.users.get(form.get("username", ""))
        if password is None or not hmac.compare_digest(password, form.get("password", "")):
            raise OAuthError(401, "invalid_grant", "Invalid user credentials")
        scope = " ".join(dict.fromkeys(["openid", *form.get("scope", "").split()]))
        offline = "offline_access" in scope.split()
        return Grant(
            realm.name,
            form["username"],
            client_id,
            scope,
            offline,
            time.time() + self._refresh_lifetime(offline),
            secrets.token_hex(16),
        )

    def refresh_grant(
        self, realm: Realm, client_id: str, form: dict[str, str]
    ) -> tuple[Grant, str]:
        """Check and use a refresh token; returns its grant and the refresh token to hand back."""
        token = form.get("refresh_token", "")
        grant = self.refresh.get(token)
        if grant is None or grant.realm != realm.name or grant.expires < time.time():
            raise OAuthError(400, "invalid_grant", "Invalid refresh token")
        if grant.client_id != client_id:
            raise OAuthError(400, "invalid_grant", "Token client and authorized client don't match")
        if grant.offline and not self.config["rotate_offline"]:
            return grant, token
        del self.refresh[token]
        grant.expires = time.time() + self._refresh_lifetime(grant.offline)
        return grant, self.new_refresh(grant)

    def _refresh_lifetime(self, offline: bool) -> float:
        return float(self.config["offline_token_lifetime" if offline else "refresh_token_lifetime"])

    def record(self, realm: str, grant_type: str, client_id: str, error: str | None) -> None:
        key = f"{realm}:{grant_type}"
        self.counts[key] = self.counts.get(key, 0) + 1
        self.log.append(
            {
                "realm": realm,
                "grant_type": grant_type,
                "client_id": client_id,
                "ok": error is None,
                "error": error,
                "t": time.time(),
            }
        )
        log.info("token %s client=%s -> %s", key, client_id, error or "ok")


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
        state.record(realm.name, grant_type, client_id, err.error)
        return err.response()
    state.record(realm.name, grant_type, client_id, None)
    return web.json_response(
        state.tokens(issuer_of(request, realm.name), grant, refresh),
        headers={"Cache-Control": "no-store"},
    )


async def certs(request: web.Request) -> web.Response:
    return web.json_response(realm_of(request).jwks())


async def userinfo(request: web.Request) -> web.Response:
    """Claims of the bearer's user, after checking signature, expiry and issuer."""
    realm = realm_of(request)
    header = request.headers.get("Authorization", "")
    try:
        claims = jwt.decode(
            header.removeprefix("Bearer ").strip(),
            realm.key.public_key(),
            algorithms=["RS256"],
            issuer=issuer_of(request, realm.name),
            options={"require": ["exp", "iss", "sub"], "verify_aud": False},
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
    expires = time.time() + float(state.config["offline_token_lifetime"])
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


async def admin_stats(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return web.json_response({"token_requests": state.counts, "log": state.log})


async def admin_reset(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.counts.clear()
    state.log.clear()
    return web.json_response({"ok": True})


async def admin_config(request: web.Request) -> web.Response:
    body = await request.json()
    unknown = set(body) - set(TUNABLES)
    if unknown:
        return web.json_response({"error": f"unknown keys {sorted(unknown)}"}, status=400)
    request.app[STATE].config.update(body)
    return web.json_response({key: request.app[STATE].config[key] for key in TUNABLES})


def load_config(path: str | None, lifetime: float | None) -> dict[str, Any]:
    """The default config, overridden per top-level key and per realm by the file and flag."""
    config = json.loads(json.dumps(DEFAULT_CONFIG))
    if path:
        extra = json.loads(Path(path).read_text())
        config["realms"].update(extra.pop("realms", {}))
        config.update(extra)
    if lifetime is not None:
        config["access_token_lifetime"] = lifetime
    return config


def build_app(config: dict[str, Any]) -> web.Application:
    realms = {
        name: Realm(name, spec.get("clients", {}), spec.get("users", {}))
        for name, spec in config["realms"].items()
    }
    app = web.Application()
    app[STATE] = OidcState(config=config, realms=realms)
    app.router.add_get("/realms/{realm}/.well-known/openid-configuration", discovery)
    app.router.add_post(f"{OIDC}/token", token)
    app.router.add_get(f"{OIDC}/certs", certs)
    app.router.add_route("*", f"{OIDC}/userinfo", userinfo)
    app.router.add_post(ADMIN + "offline-token", admin_offline_token)
    app.router.add_get(ADMIN + "stats", admin_stats)
    app.router.add_post(ADMIN + "reset", admin_reset)
    app.router.add_post(ADMIN + "config", admin_config)
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
