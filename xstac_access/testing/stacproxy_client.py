"""The client of the STAC proxy (:mod:`.stacproxy`): its admin API, and each personality's URL.

Apart from the proxy, which runs as a script importing nothing of ``xstac_access``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .admin import _AdminClient
from .stacproxy import PERSONALITIES


class StacProxyAdmin:
    """Client of the proxy's admin API, and the base URL of each personality."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._admin = _AdminClient(self.base_url)

    def stats(self) -> dict[str, Any]:
        return self._admin.stats()

    def reset(self) -> None:
        """Clear the counters and the request log."""
        self._admin.reset()

    def url(self, personality: str) -> str:
        """The STAC API root of one personality (``"noquery"`` → ``http://.../noquery/``,
        ``"cdse"`` → ``http://.../cdse/v1/``)."""
        if personality not in PERSONALITIES:
            raise KeyError(f"no personality {personality!r}; there are {sorted(PERSONALITIES)}")
        ids = PERSONALITIES[personality].ids
        return f"{self.base_url}/{personality}" + (ids.root if ids else "") + "/"

    def requests(self, personality: str | None = None) -> list[dict[str, Any]]:
        """The logged requests, oldest first, of one personality or all."""
        entries = self.stats()["log"]
        return [e for e in entries if personality in (None, e["personality"])]

    def set_faults(self, rules: list[dict[str, Any]]) -> None:
        self._admin._call("POST", "faults", {"rules": rules})

    def clear_faults(self) -> None:
        self._admin._call("DELETE", "faults")

    def require_bearer(self, token: str | None) -> None:
        """Let ``/auth/`` pass only requests bearing ``token`` (``None``: none pass)."""
        digest = hashlib.sha256(token.encode()).hexdigest() if token is not None else None
        self._admin._call("POST", "bearer", {"sha256": digest})
