"""What the local OIDC server knows: realms and their keys, clients and users (and which of them
have two-factor authentication), the refresh tokens it handed out, lifetimes, and the request log.

A user with a TOTP secret (realm config ``"totp": {user: base32 secret}``, or the admin API) must
add ``totp=<current code>`` to a password grant, as on Keycloak with its direct-grant OTP step
(what CDSE runs): RFC 6238 codes (HMAC-SHA1, 30 s, 6 digits) on the shared clock, the previous
and next period accepted too. A missing or wrong code gets Keycloak's answer to a wrong password,
401 ``invalid_grant`` "Invalid user credentials": the server does not say which one was wrong.

Lifetimes are measured on the shared test clock (:func:`xstac_access._clock.now`): a test that
moves it forward makes access and refresh tokens expire here, at the file server and in the
library at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from xstac_access import _clock

LOOPBACK = "127.0.0.1"
OIDC = "/realms/{realm}/protocol/openid-connect"
GRANTS = ("password", "refresh_token")
TOTP_PERIOD = 30
TUNABLES = (
    "access_token_lifetime",
    "refresh_token_lifetime",
    "offline_token_lifetime",
    "rotate_offline",
)
#: Keys of a token endpoint fault rule (``admin_faults``).
FAULT_KEYS = {"status", "retry_after", "count", "realm"}
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
            "users": {"cdse-user": "cdse-pass", "cdse-2fa-user": "cdse-2fa-pass"},
            "totp": {"cdse-2fa-user": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"},
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
    totp: dict[str, str] = field(default_factory=dict)  # user -> base32 TOTP secret
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
    faults: list[dict[str, Any]] = field(default_factory=list)

    def take_fault(self, realm: str) -> dict[str, Any] | None:
        """Consume one use of the first live fault rule for ``realm`` (None: answer normally)."""
        for rule in self.faults:
            if rule.get("realm") not in (None, realm):
                continue
            if rule.get("count") is not None:
                if rule["count"] <= 0:
                    continue
                rule["count"] -= 1
            return rule
        return None

    def new_refresh(self, grant: Grant) -> str:
        token = secrets.token_urlsafe(32)
        self.refresh[token] = grant
        return token

    def tokens(self, issuer: str, grant: Grant, refresh_token: str) -> dict[str, Any]:
        """The token endpoint's answer for ``grant``: a fresh access JWT and the refresh token."""
        realm = self.realms[grant.realm]
        now = int(_clock.now())
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
        secret = realm.totp.get(form["username"])
        if secret is not None and not totp_valid(secret, form.get("totp", "")):
            raise OAuthError(401, "invalid_grant", "Invalid user credentials")
        scope = " ".join(dict.fromkeys(["openid", *form.get("scope", "").split()]))
        offline = "offline_access" in scope.split()
        return Grant(
            realm.name,
            form["username"],
            client_id,
            scope,
            offline,
            _clock.now() + self._refresh_lifetime(offline),
            secrets.token_hex(16),
        )

    def refresh_grant(
        self, realm: Realm, client_id: str, form: dict[str, str]
    ) -> tuple[Grant, str]:
        """Check and use a refresh token; returns its grant and the refresh token to hand back."""
        token = form.get("refresh_token", "")
        grant = self.refresh.get(token)
        if grant is None or grant.realm != realm.name or grant.expires < _clock.now():
            raise OAuthError(400, "invalid_grant", "Invalid refresh token")
        if grant.client_id != client_id:
            raise OAuthError(400, "invalid_grant", "Token client and authorized client don't match")
        if grant.offline and not self.config["rotate_offline"]:
            return grant, token
        del self.refresh[token]
        grant.expires = _clock.now() + self._refresh_lifetime(grant.offline)
        return grant, self.new_refresh(grant)

    def _refresh_lifetime(self, offline: bool) -> float:
        return float(self.config["offline_token_lifetime" if offline else "refresh_token_lifetime"])

    def record(
        self,
        realm: str,
        grant_type: str,
        client_id: str,
        error: str | None,
        *,
        connection: str | None = None,
    ) -> None:
        """Count and log a token request: its grant, client, error, and the connection it came
        on (the client's address and port)."""
        key = f"{realm}:{grant_type}"
        self.counts[key] = self.counts.get(key, 0) + 1
        self.log.append(
            {
                "realm": realm,
                "grant_type": grant_type,
                "client_id": client_id,
                "ok": error is None,
                "error": error,
                "connection": connection,
                "t": time.time(),
            }
        )
        log.info("grant %s client=%s -> %s", key, client_id, error or "ok")


def totp_code(secret: str, at: float | None = None) -> str:
    """The RFC 6238 code of a base32 ``secret`` at time ``at`` (default: the shared clock)."""
    counter = int((_clock.now() if at is None else at) // TOTP_PERIOD)
    digest = hmac.new(base64.b32decode(secret), counter.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{int.from_bytes(digest[offset : offset + 4], 'big') & 0x7FFFFFFF:010d}"[-6:]


def totp_valid(secret: str, code: str) -> bool:
    """Whether ``code`` is the code of this period, the previous or the next one."""
    now = _clock.now()
    return any(
        hmac.compare_digest(totp_code(secret, now + step * TOTP_PERIOD), code)
        for step in (-1, 0, 1)
    )


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
