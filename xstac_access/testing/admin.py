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

    def _call(self, method: str, name: str, body: Any = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(  # noqa: S310 (an http:// admin URL on loopback)
            f"{self.base_url}{ADMIN}{name}", data=data, method=method,
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        with self._opener.open(req, timeout=10) as resp:
            return json.loads(resp.read())

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "stats")

    def reset(self) -> None:
        """Clear the counters and the request log."""
        self._call("POST", "reset")


class FileServerAdmin(_AdminClient):
    """The file server's counters, latency, faults and protection config (either port works)."""

    def set_latency(self, ms: float) -> None:
        self._call("POST", "latency", {"ms": ms})

    def set_faults(self, rules: list[dict[str, Any]]) -> None:
        self._call("POST", "faults", {"rules": rules})

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def set_config(self, config: dict[str, Any]) -> None:
        self._call("POST", "config", config)

    def requests_for(self, path: str, host: str = "main") -> int:
        return self.stats()["requests"].get(f"{host}:{path}", 0)

    def bytes_for(self, path: str, host: str = "main") -> int:
        return self.stats()["bytes"].get(f"{host}:{path}", 0)


class OidcAdmin(_AdminClient):
    """The token server: mint offline tokens, count token requests, shorten token lifetimes."""

    def offline_token(self, realm: str = "maap", user: str = "maap-user") -> str:
        """The long-lived refresh token a portal would hand to ``user`` (ESA MAAP style)."""
        return self._call("POST", "offline-token", {"realm": realm, "user": user})["refresh_token"]

    def set_access_token_lifetime(self, seconds: float) -> None:
        self._call("POST", "config", {"access_token_lifetime": seconds})

    def token_requests(self, realm: str, grant: str) -> int:
        return self.stats()["token_requests"].get(f"{realm}:{grant}", 0)
