"""The file server's per-user connection limits: CDSE allows a general user 4 at once.

A rule of the server config's ``connection_limits`` (``{"prefix": "/cdse/", "max_connections":
4, "retry_after": 1}``, optionally ``"host"``) covers the requests under its prefix that carry a
bearer token. They count against the token's subject (its ``sub`` claim, read here without
verifying the signature: to count, not to authorise, which the protection rule does), from
when they arrive (after the injected latency) until the handler has sent the last byte. One
that arrives while the user already has ``max_connections`` in flight is refused with 429 and
``Retry-After`` before anything else happens to it, as CDSE does.

For tests, per user: the most requests seen in flight at once (``peak``, the refused one
included: what the client attempted), how many were refused, and how many are in flight now;
in the admin stats under ``connections`` (``reset`` clears peaks and refusals).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jwt
from aiohttp import web

if TYPE_CHECKING:
    from xstac_access.testing.fileserver_state import ServerState


@dataclass
class UserConnections:
    """Requests in flight per user, and the peaks and refusals seen since the last reset."""

    in_flight: Counter[str] = field(default_factory=Counter)
    peak: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)

    def enter(self, user: str, limit: int) -> bool:
        """Count a request of ``user`` in; ``False`` (and counted as refused) when over limit."""
        attempted = self.in_flight[user] + 1
        self.peak[user] = max(self.peak[user], attempted)
        if attempted > limit:
            self.refused[user] += 1
            return False
        self.in_flight[user] = attempted
        return True

    def leave(self, user: str) -> None:
        self.in_flight[user] -= 1

    def reset(self) -> None:
        """Forget peaks and refusals (requests in flight stay counted)."""
        self.peak = Counter({user: n for user, n in self.in_flight.items() if n})
        self.refused.clear()

    def stats(self) -> dict[str, dict[str, int]]:
        users = set(self.peak) | set(self.refused) | {u for u, n in self.in_flight.items() if n}
        return {
            user: {
                "peak": self.peak[user],
                "refused": self.refused[user],
                "in_flight": self.in_flight[user],
            }
            for user in sorted(users)
        }


def connection_limiter(state: ServerState, host: str) -> Any:
    """The aiohttp middleware enforcing ``state``'s connection limits on the port ``host``."""

    @web.middleware
    async def limit_connections(request: web.Request, handler: Any) -> web.StreamResponse:
        rule = _rule(state.config.get("connection_limits", []), host, request.path)
        user = _subject(request.headers.get("Authorization")) if rule is not None else None
        if rule is None or user is None:
            return await handler(request)
        if not state.connections.enter(user, int(rule["max_connections"])):
            return web.json_response(
                {"error": f"more than {rule['max_connections']} concurrent connections"},
                status=429,
                headers={"Retry-After": str(rule.get("retry_after", 1))},
            )
        try:
            return await handler(request)
        finally:
            state.connections.leave(user)

    return limit_connections


def _rule(rules: list[dict[str, Any]], host: str, path: str) -> dict[str, Any] | None:
    for rule in rules:
        if path.startswith(rule["prefix"]) and rule.get("host") in (None, host):
            return rule
    return None


def _subject(header: str | None) -> str | None:
    """The ``sub`` claim of a bearer JWT, unverified; ``None`` without a readable one."""
    if not header or not header.startswith("Bearer "):
        return None
    try:
        claims = jwt.decode(header[7:].strip(), options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    sub = claims.get("sub")
    return sub if isinstance(sub, str) else None
