"""What both ports of the local file server share: the tree, the auth config, the counters, the
injected faults and the responses a test is holding mid-body.

Tests see the server's side of a transfer through it: counters and a request log, and signals
to wait for instead of sleeping, announced on one condition: a response held mid-body (fault
``hold_after_bytes``, let go by ``release``), a request logged (which happens after its last
byte was sent: its client may be done first), and no request in flight.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import secrets
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web

from xstac_access.testing.fileserver_limits import UserConnections

LOOPBACK = "127.0.0.1"
DEFAULT_EARTHDATA = {"username": "edl-user", "password": "edl-pass"}
CONFIG_KEYS = {
    "protected", "redirects", "earthdata", "sas", "odata_nodes", "disposition", "s3credentials",
    "connection_limits", "azure_accounts",
}  # fmt: skip
#: Faults that change the body of a file being sent; the others answer instead of the file.
BODY_FAULTS = ("reset_after_bytes", "truncate_after_bytes", "slow_bytes_per_s", "hold_after_bytes")
FAULT_KEYS = {"path", "host", "count", "status", "retry_after", "html", "no_range", *BODY_FAULTS}
#: A held response goes on by itself after this long, should a test never release it.
HOLD_SECONDS = 60.0

log = logging.getLogger("xstac_access.testing.fileserver")


@dataclass
class ServerState:
    """Everything both ports share: the tree, the auth config, counters, faults and sessions."""

    root: Path
    bases: dict[str, str]
    oidc_url: str | None
    config: dict[str, Any] = field(default_factory=dict)
    latency_ms: float = 0.0
    faults: list[dict[str, Any]] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)
    sent: Counter[str] = field(default_factory=Counter)
    log: list[dict[str, Any]] = field(default_factory=list)
    codes: dict[str, str] = field(default_factory=dict)
    sessions: set[str] = field(default_factory=set)
    jwks: dict[str, jwt.PyJWKClient] = field(default_factory=dict)
    sas_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    presign_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    #: Bearer tokens issued (``iat``) before this second of the shared clock are refused
    #: (Keycloak's "not before" revocation policy), and so are those whose sha256 is listed.
    not_before: int = 0
    revoked: set[str] = field(default_factory=set)
    revoked_status: int = 401
    held: set[asyncio.Event] = field(default_factory=set)
    in_flight: int = 0
    connections: UserConnections = field(default_factory=UserConnections)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    def resolve(self, path: str) -> Path | None:
        """The regular file under the root that ``path`` names, or None (missing, dir, escape)."""
        if "\x00" in path:
            return None
        target = (self.root / path.lstrip("/")).resolve()
        if not target.is_relative_to(self.root) or not target.is_file():
            return None
        return target

    def protection(self, host: str, path: str) -> dict[str, Any] | None:
        """The first protected-prefix rule covering ``host`` and ``path``."""
        for rule in self.config.get("protected", []):
            if path.startswith(rule["prefix"]) and rule.get("host") in (None, host):
                return rule
        return None

    def redirect(self, host: str, path: str) -> web.Response | None:
        """The configured redirect for exactly this ``host`` and ``path``, if any."""
        for rule in self.config.get("redirects", []):
            if rule.get("host", "main") == host and rule["path"] == path:
                target = self.bases[rule.get("to_host", host)] + rule["to_path"]
                return web.Response(status=rule.get("status", 302), headers={"Location": target})
        return None

    def take_fault(self, host: str, path: str, *, body: bool) -> dict[str, Any] | None:
        """Consume one use of the first live fault rule of the given kind matching the request.

        Status and HTML faults (``body=False``) answer before auth; body faults (``body=True``)
        are taken only when file bytes are about to be sent. A rule without ``count`` never ends.
        """
        for rule in self.faults:
            if rule.get("count") is not None and rule["count"] <= 0:
                continue
            if rule.get("host") not in (None, host):
                continue
            if not fnmatch.fnmatchcase(path, rule.get("path", "*")):
                continue
            if rule.get("no_range") or any(key in rule for key in BODY_FAULTS) != body:
                continue
            if rule.get("count") is not None:
                rule["count"] -= 1
            return rule
        return None

    def ignores_range(self, host: str, path: str) -> bool:
        """True when a ``no_range`` rule covers the request: the server answers 200 with the
        whole file whatever Range asks, as servers without range support do."""
        return any(
            rule.get("no_range")
            and rule.get("host") in (None, host)
            and fnmatch.fnmatchcase(path, rule.get("path", "*"))
            for rule in self.faults
        )

    async def hold(self, path: str) -> None:
        """Hold a response here until :meth:`release` (or ``HOLD_SECONDS``)."""
        gate = asyncio.Event()
        self.held.add(gate)
        await self.announce()
        try:
            await asyncio.wait_for(gate.wait(), HOLD_SECONDS)
        except TimeoutError:
            log.warning("%s was held %.0f s and never released: going on", path, HOLD_SECONDS)
        finally:
            self.held.discard(gate)

    def release(self) -> int:
        """Let every held response go on; how many there were."""
        gates, self.held = self.held, set()
        for gate in gates:
            gate.set()
        return len(gates)

    async def announce(self) -> None:
        """Wake the admin calls waiting for a response to be held or a request to be logged."""
        async with self.changed:
            self.changed.notify_all()

    def logged(self, pattern: str = "*") -> int:
        """How many logged requests have a path matching ``pattern``."""
        return sum(fnmatch.fnmatchcase(entry["path"], pattern) for entry in self.log)

    def stats(self) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "bytes": dict(self.sent),
            "log": self.log,
            "latency_ms": self.latency_ms,
            "faults": self.faults,
            "held": len(self.held),
            "in_flight": self.in_flight,
            "connections": self.connections.stats(),
        }


STATE = web.AppKey("state", ServerState)
HOST = web.AppKey("host", str)


def json_error(status: int, error: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": error}, status=status, headers=headers)
