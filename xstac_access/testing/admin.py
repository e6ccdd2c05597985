"""Clients of the local servers' admin APIs (``/__admin__/``), for tests, benchmarks and demo.

Standard library only, proxies ignored: they talk to 127.0.0.1 and must work before, and
without, anything else of the project being importable.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

ADMIN = "/__admin__/"


class _AdminClient:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def _call(
        self, method: str, name: str, body: Any = None, timeout: float = 10.0
    ) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(  # noqa: S310 (an http:// admin URL on loopback)
            f"{self.base_url}{ADMIN}{name}", data=data, method=method,
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        with self._opener.open(req, timeout=timeout) as resp:
            return json.loads(resp.read())

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "stats")

    def reset(self) -> None:
        """Clear the counters and the request log."""
        self._call("POST", "reset")


class FileServerAdmin(_AdminClient):
    """The file server's counters, latency, faults and protection config (either port works),
    and the signals a test waits for instead of sleeping (``wait_held``, ``wait_logged``)."""

    def set_latency(self, ms: float) -> None:
        self._call("POST", "latency", {"ms": ms})

    def set_faults(self, rules: list[dict[str, Any]]) -> None:
        self._call("POST", "faults", {"rules": rules})

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def set_config(self, config: dict[str, Any]) -> None:
        self._call("POST", "config", config)

    def release(self) -> int:
        """Let every response held by a ``hold_after_bytes`` fault go on; how many there were."""
        return self._call("POST", "release")["released"]

    def wait_held(self, count: int, timeout: float = 30.0) -> None:
        """Return once ``count`` responses are held mid-body (``HTTPError`` 504 on timeout)."""
        self._call("POST", "wait", {"held": count, "timeout": timeout}, timeout=timeout + 10)

    def wait_logged(self, count: int, path: str = "*", timeout: float = 30.0) -> None:
        """Return once ``count`` requests whose path matches the glob ``path`` are logged: a
        response is logged after its last byte is sent, which its client may see first."""
        body = {"logged": count, "path": path, "timeout": timeout}
        self._call("POST", "wait", body, timeout=timeout + 10)

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Return once no request is in flight: every request made so far is logged."""
        self._call("POST", "wait", {"idle": True, "timeout": timeout}, timeout=timeout + 10)

    def revoke_tokens(
        self,
        *,
        before: float | str | None = "now",
        token: str | None = None,
        status: int | None = None,
    ) -> None:
        """Refuse bearer tokens whose ``exp`` is still ahead, as a server-side revocation does:
        every token issued before ``before`` ("now" or a time on the shared clock; 0 lifts the
        rule; ``None`` leaves it), and ``token`` itself (only its sha256 is sent). ``status``:
        what a revoked token gets from now on, 401 (the default) or 403."""
        import hashlib

        body: dict[str, Any] = {"before": before, "status": status}
        if token is not None:
            body["token_sha256"] = hashlib.sha256(token.encode()).hexdigest()
        self._call("POST", "revoke", body)

    def requests_for(self, path: str, host: str = "main") -> int:
        return self.stats()["requests"].get(f"{host}:{path}", 0)

    def bytes_for(self, path: str, host: str = "main") -> int:
        return self.stats()["bytes"].get(f"{host}:{path}", 0)


class OidcAdmin(_AdminClient):
    """The token server: mint offline tokens, count token requests, shorten token lifetimes."""

    def offline_token(self, realm: str = "maap", user: str = "maap-user") -> str:
        """The long-lived refresh token a portal would hand to ``user`` (ESA MAAP style)."""
        return self._call("POST", "offline-token", {"realm": realm, "user": user})["refresh_token"]

    def require_totp(self, realm: str, user: str, secret: str | None) -> None:
        """Make ``user``'s password grants need the one-time code of the base32 ``secret``
        (``None``: no longer)."""
        self._call("POST", "totp", {"realm": realm, "user": user, "secret": secret})

    def set_access_token_lifetime(self, seconds: float) -> None:
        self._call("POST", "config", {"access_token_lifetime": seconds})

    def settings(self, **changes: Any) -> dict[str, Any]:
        """Change lifetimes and rotation (``access_token_lifetime=60``...); return them all."""
        return self._call("POST", "config", changes)

    def set_faults(self, rules: list[dict[str, Any]]) -> None:
        """Answer token requests with an error status (``{"status": 503, "retry_after": 1,
        "count": 2, "realm": "maap"}``), as a Keycloak under load does; ``[]`` clears them."""
        self._call("POST", "faults", {"rules": rules})

    def token_requests(self, realm: str, grant: str) -> int:
        return self.stats()["token_requests"].get(f"{realm}:{grant}", 0)
