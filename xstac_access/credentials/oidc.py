"""OIDC token providers: the ESA MAAP offline-token exchange and the CDSE password grant.

Both hand out ``Authorization: Bearer <access token>`` and refresh it before it expires (a margin
of a quarter of its lifetime, at most 60 s, from the earlier of ``expires_in`` and the JWT's
``exp``), and once more after a 401. Refreshing is single-flight: threads needing a token while one
is being fetched wait for it instead of each asking the server. Rotating refresh tokens replace the
old one in memory, and in the user's token file when one was configured (written atomically, mode
0600). The password is sent once; afterwards the refresh token is used, because every password
grant opens a new session that counts against the user's quota at CDSE. Accounts with two-factor
authentication add a one-time code (``totp``) to that password grant (CDSE documentation,
"Access token"); the code is asked for only when the password is sent, never kept, logged or
pickled. A token endpoint under load (429, 503 with ``Retry-After``, gateway errors) is retried
under the library's one policy (:mod:`xstac_access.http.policy`), through the thread's pooled
session (:mod:`xstac_access.http.tokens`); errors tell an unavailable service
(:class:`~xstac_access.errors.TokenServiceError`) from a refused credential (``invalid_grant``).
"""

from __future__ import annotations

import base64
import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import _clock, errors
from .._hrefs import host_of
from .._log import get_logger
from ..http.tokens import post_or_get
from .material import Material
from .providers import Refreshing, _reveal
from .secrets import Secret

log = get_logger(__name__)


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT (no signature check: only to time the refresh)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, KeyError, ValueError, TypeError):
        return None


#: What a token endpoint's refusal means, by OAuth error code.
_CLIENT = {
    code: "check the token URL, client id and client secret this credential is configured with"
    for code in ("invalid_client", "unauthorized_client")
}
_OFFLINE_REFUSED = {
    "invalid_grant": "the offline/refresh token expired (ESA MAAP offline tokens last 90 days), "
    "was revoked, or was used up by another process (refresh tokens rotate). Generate a new "
    "one and configure it again.",
}


class _OidcProvider(Refreshing):
    """Token caching, expiry margins and single-flight refresh shared by the OIDC grants."""

    name = "OIDC"

    def __init__(
        self,
        token_url: str,
        client_id: str,
        *,
        client_secret: str | Secret | None = None,
        scope: str | None = None,
        max_margin: float = 60.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.token_url, self.client_id, self.scope_value = token_url, client_id, scope
        self._client_secret = Secret(_reveal(client_secret)) if client_secret else None
        self.max_margin = max_margin
        self._refresh_token: Secret | None = None
        self._lifetime = 0.0
        #: Token requests made by this provider, by grant type (for tests and ``xstac auth``).
        self.grants: dict[str, int] = {}

    def public_config(self) -> dict[str, Any]:
        config = {"token_url": self.token_url, "client_id": self.client_id}
        return {**config, **super().public_config()}

    def _margin(self) -> float:
        return min(self.max_margin, self._lifetime / 4)

    def _grant(
        self, grant_type: str, refused: dict[str, str] | None = None, /, **fields: str
    ) -> Material:
        """One token request; ``refused`` says what a refusal's OAuth error code means."""
        data = {"grant_type": grant_type, "client_id": self.client_id, **fields}
        if self._client_secret:
            data["client_secret"] = self._client_secret.reveal()
        if self.scope_value:
            data["scope"] = self.scope_value
        self.grants[grant_type] = self.grants.get(grant_type, 0) + 1
        log.debug(
            "%s grant at %s for client %s", grant_type, host_of(self.token_url), self.client_id
        )
        body = post_or_get(
            self.token_url,
            data=data,
            what=f"{self.name} token",
            refused={**_CLIENT, **(refused or {})},
        )
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise errors.AuthError(
                f"the {self.name} token endpoint at "
                f"{host_of(self.token_url)} returned no access token"
            )
        if isinstance(body.get("refresh_token"), str):
            self._keep_refresh_token(Secret(body["refresh_token"]))
        now = _clock.now()
        # The earlier of the two: a JWT's whole-second ``exp`` can end up to a second before
        # ``now + expires_in`` (and ``now`` is already later than the moment of issue).
        candidates = [jwt_expiry(access)]
        if body.get("expires_in"):
            candidates.append(now + float(body["expires_in"]))
        expires_at = min((c for c in candidates if c is not None), default=None)
        self._lifetime = (expires_at - now) if expires_at else 300.0
        return Material.build(
            headers={"Authorization": Secret(f"Bearer {access}")}, expires_at=expires_at
        )

    def _keep_refresh_token(self, token: Secret) -> None:
        self._refresh_token = token


class OidcRefreshToken(_OidcProvider):
    """Exchange a long-lived refresh (offline) token for access tokens: ESA MAAP's flow.

    Give the token itself or ``token_file`` (the file the MAAP portal's token was saved to);
    with a file, a rotated token is written back so the next session starts from a valid one.
    """

    kind = "oidc-refresh-token"
    name = "OIDC refresh-token"

    def __init__(
        self,
        token_url: str,
        client_id: str,
        *,
        refresh_token: str | Secret | None = None,
        token_file: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(token_url, client_id, **kwargs)
        self.token_file = Path(token_file).expanduser() if token_file else None
        if refresh_token:
            self._refresh_token = Secret(_reveal(refresh_token))
        elif self.token_file is not None:
            self._refresh_token = Secret(_read_token_file(self.token_file))
        else:
            raise errors.ResolveError(
                f"{type(self).__name__} needs refresh_token= or token_file= (for ESA MAAP: the "
                "offline token from the MAAP portal)"
            )
        self._fingerprint_secrets(self._refresh_token)

    def public_config(self) -> dict[str, Any]:
        config = super().public_config()
        if self.token_file:
            config["token_file"] = str(self.token_file)
        return config

    def _fetch(self) -> Material:
        assert self._refresh_token is not None
        return self._grant(
            "refresh_token", _OFFLINE_REFUSED, refresh_token=self._refresh_token.reveal()
        )

    def _keep_refresh_token(self, token: Secret) -> None:
        super()._keep_refresh_token(token)
        if self.token_file is not None:
            _write_token_file(self.token_file, token.reveal())


#: A one-time code (RFC 6238 TOTP): 6 digits for CDSE, up to 8 elsewhere.
_TOTP = re.compile(r"\d{6,8}")
OneTimeCode = str | Secret | Callable[[], str]


class OidcPassword(_OidcProvider):
    """Log in once with a password grant, then refresh: the Copernicus Data Space flow.

    ``totp`` is for accounts with two-factor authentication: the current one-time code, or
    (better: a new login may be needed hours later, when the refresh token has expired) a
    callable returning it, such as ``pyotp.TOTP(secret).now``. It is sent with the password
    grant only, as the ``totp`` form field.
    """

    kind = "oidc-password"
    name = "OIDC password"

    def __init__(
        self,
        token_url: str,
        client_id: str,
        *,
        username: str,
        password: str | Secret,
        totp: OneTimeCode | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(token_url, client_id, **kwargs)
        self.username = username
        self._password = Secret(_reveal(password))
        self._totp = totp if callable(totp) or totp is None else Secret(_reveal(totp))
        self._fingerprint_secrets(self._password)

    def public_config(self) -> dict[str, Any]:
        return {**super().public_config(), "username": self.username}

    def _fetch(self) -> Material:
        if self._refresh_token is not None:
            try:
                return self._grant("refresh_token", refresh_token=self._refresh_token.reveal())
            except errors.AuthError as exc:
                if exc.status not in (400, 401):
                    raise
                log.info("refresh token refused by %s; logging in again", host_of(self.token_url))
                self._refresh_token = None
        fields = {"username": self.username, "password": self._password.reveal()}
        if self._totp is not None:
            fields["totp"] = self._one_time_code().reveal()
        try:
            return self._grant("password", **fields)
        except errors.AuthError as exc:
            if exc.status not in (400, 401):
                raise
            raise errors.AuthError(
                f"{exc}. {self._login_advice()}", href=exc.href, host=exc.host, status=exc.status
            ) from None

    def _one_time_code(self) -> Secret:
        code = self._totp() if callable(self._totp) else self._totp
        code = _reveal(code).strip()
        if not _TOTP.fullmatch(code):
            raise errors.AuthError(
                f"the one-time code (totp) for {self.username} at {host_of(self.token_url)} is "
                "not 6 to 8 digits; give the current code, or a callable returning it",
                host=host_of(self.token_url),
            )
        return Secret(code)

    def _login_advice(self) -> str:
        if self._totp is None:
            return (
                f"Check the username ({self.username}) and password. If the account uses "
                "two-factor authentication, the login also needs a one-time code: configure "
                "totp= (a callable returning the current code, e.g. pyotp.TOTP(secret).now, or "
                "the code itself; XSTAC_CDSE_TOTP for the cdse preset)."
            )
        return (
            f"Check the username ({self.username}), the password and the one-time code (totp): "
            "a code is valid for about 30 seconds; a fixed code cannot serve a later login, a "
            "callable returning the current code can."
        )


def _read_token_file(path: Path) -> str:
    try:
        token = "".join(path.read_text().split())
    except OSError as exc:
        raise errors.ResolveError(f"cannot read the token file {path}: {exc.strerror}") from None
    if not token:
        raise errors.ResolveError(f"the token file {path} is empty")
    return token


def _write_token_file(path: Path, token: str) -> None:
    """Replace the token file atomically (temp file + rename), readable by the user only."""
    fd, tmp = tempfile.mkstemp(prefix=".xstac-token-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(token + "\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
