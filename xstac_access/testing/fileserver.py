"""An HTTP file server for the local world: Range reads, auth, redirects, latency and faults.

One process serves one directory tree on two ports. The first is the "main" host (the data
host); the second, "alt", stands for another host: a download host behind a redirect, or the
Earthdata-style login host. Protected prefixes check a bearer JWT against the OIDC server's JWKS
(so expiry and issuer are real), run the Earthdata Login redirect, Basic login and cookie
dance, or want a Planetary-Computer-style SAS signature in the query (tokens from
``/sas/token/<account>/<container>``, lifetime ``sas.lifetime`` in the config). An admin API
under ``/__admin__/`` exposes request and byte counters and injects latency and faults, so tests
and benchmarks see what a client really did on the wire. Nothing here stores or logs a
credential: the request log says only whether one arrived (and its sha256), and signatures in
query strings are masked.

Run: ``python -m xstac_access.testing.fileserver --root DIR --port P --alt-port P2
[--config FILE.json] [--oidc-url URL] [--latency-ms N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import fnmatch
import hashlib
import hmac
import json
import logging
import mimetypes
import re
import secrets
import signal
import socket
import struct
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jwt
from aiohttp import web

from xstac_access.testing.admin import ADMIN

LOOPBACK = "127.0.0.1"

CHUNK = 64 * 1024
DEFAULT_EARTHDATA = {"username": "edl-user", "password": "edl-pass"}
CONFIG_KEYS = {"protected", "redirects", "earthdata", "sas"}
SAS_TOKEN_PATH = "/sas/token/"  # noqa: S105 (a URL path, not a secret)
FAULT_KEYS = {
    "path",
    "host",
    "count",
    "status",
    "retry_after",
    "reset_after_bytes",
    "truncate_after_bytes",
    "slow_bytes_per_s",
    "html",
}
BODY_FAULTS = ("reset_after_bytes", "truncate_after_bytes", "slow_bytes_per_s")
LOGIN_PAGE = (
    b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>"
    b'<form method="post" action="/login"><input name="username">'
    b'<input name="password" type="password"><button>Sign in</button></form>'
    b"</body></html>"
)

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

    def sas_signature(self, account: str, container: str, expiry: str) -> str:
        message = f"{account}/{container}|{expiry}".encode()
        return hmac.new(self.sas_key, message, "sha256").hexdigest()

    def sas_token(self, account: str, container: str) -> dict[str, str]:
        """A Planetary-Computer-style SAS token for one container, valid ``sas.lifetime`` s."""
        lifetime = float((self.config.get("sas") or {}).get("lifetime", 3600))
        expiry = str(int(time.time() + lifetime))
        token = (
            f"se={expiry}&sp=r&sv=2024-05-04&sig={self.sas_signature(account, container, expiry)}"
        )
        iso = datetime.fromtimestamp(int(expiry), tz=UTC).isoformat().replace("+00:00", "Z")
        return {"token": token, "msft:expiry": iso}

    def sas_valid(self, rule: dict[str, Any], query: Any) -> bool:
        """True when the query carries an unexpired signature for the rule's container."""
        expiry, sig = query.get("se", ""), query.get("sig", "")
        if not expiry.isdigit() or int(expiry) < time.time():
            return False
        expected = self.sas_signature(rule["account"], rule["container"], expiry)
        return hmac.compare_digest(sig, expected)

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
            if any(key in rule for key in BODY_FAULTS) != body:
                continue
            if rule.get("count") is not None:
                rule["count"] -= 1
            return rule
        return None

    async def verify_bearer(self, header: str | None, realm: str) -> bool:
        """True when ``header`` holds an RS256 JWT of ``realm``: signature, ``exp``, ``iss``."""
        if self.oidc_url is None or not header or not header.startswith("Bearer "):
            return False
        token = header.removeprefix("Bearer ").strip()
        issuer = f"{self.oidc_url}/realms/{realm}"
        if realm not in self.jwks:
            self.jwks[realm] = jwt.PyJWKClient(
                f"{issuer}/protocol/openid-connect/certs", cache_keys=True, timeout=5
            )
        try:
            key = await asyncio.to_thread(self.jwks[realm].get_signing_key_from_jwt, token)
            jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                issuer=issuer,
                options={"require": ["exp", "iss"], "verify_aud": False},
            )
        except jwt.PyJWTError:
            return False
        return True

    def stats(self) -> dict[str, Any]:
        return {"requests": dict(self.requests), "bytes": dict(self.sent), "log": self.log}


STATE = web.AppKey("state", ServerState)
HOST = web.AppKey("host", str)


def parse_range(header: str, size: int) -> tuple[int, int] | bool | None:
    """Parse a Range header against a file of ``size`` bytes.

    Returns ``(start, end)`` (inclusive) for one satisfiable range, ``None`` when the header is
    to be ignored (malformed, or several ranges: answered with the full file), ``False`` when
    the range cannot be satisfied (416).
    """
    unit, _, spec = header.partition("=")
    first, dash, last = spec.strip().partition("-")
    if unit.strip().lower() != "bytes" or "," in spec or not dash:
        return None
    try:
        if not first:
            suffix = int(last)
            return (max(0, size - suffix), size - 1) if suffix > 0 and size > 0 else False
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start > end and last:
        return None
    if start >= size:
        return False
    return start, min(end, size - 1)


def json_error(status: int, error: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": error}, status=status, headers=headers)


def fault_response(rule: dict[str, Any]) -> web.Response:
    """The answer of a status or HTML-login-page fault."""
    if rule.get("html"):
        return web.Response(body=LOGIN_PAGE, content_type="text/html")
    headers = {"Retry-After": str(rule["retry_after"])} if "retry_after" in rule else None
    return json_error(int(rule.get("status", 503)), "injected fault", headers)


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
        if await state.verify_bearer(auth, rule.get("realm", "")):
            return None
        return json_error(401, "a valid bearer token is required", challenge)
    if rule["scheme"] == "sas":
        if state.sas_valid(rule, request.query):
            return None
        return json_error(403, "missing, invalid or expired SAS signature")
    if auth is not None and auth.startswith("Bearer "):
        if await state.verify_bearer(auth, rule.get("realm", "earthdata")):
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


async def serve_file(request: web.Request, state: ServerState) -> web.StreamResponse:
    """Send a file or one byte range of it, applying a body fault if one matches."""
    target = state.resolve(request.path)
    if target is None:
        return json_error(404, "not found")
    stat = target.stat()
    size = stat.st_size
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": f'"{stat.st_mtime_ns:x}-{size:x}"',
        "Content-Type": mimetypes.guess_type(target.name)[0] or "application/octet-stream",
    }
    start, end, status = 0, size - 1, 200
    if "Range" in request.headers:
        parsed = parse_range(request.headers["Range"], size)
        if parsed is False:
            return json_error(416, "range not satisfiable", {"Content-Range": f"bytes */{size}"})
        if isinstance(parsed, tuple):
            start, end, status = parsed[0], parsed[1], 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    length = end - start + 1
    resp = web.StreamResponse(status=status, headers=headers)
    resp.content_length = length
    fault = None
    if request.method == "GET":
        fault = state.take_fault(request.app[HOST], request.path, body=True)
    await resp.prepare(request)
    if request.method == "HEAD":
        return resp
    fault = fault or {}
    limit = min(
        length, fault.get("reset_after_bytes", length), fault.get("truncate_after_bytes", length)
    )
    rate = fault.get("slow_bytes_per_s")
    step = max(1, min(CHUNK, int(rate / 20))) if rate else CHUNK
    sent = 0
    try:
        with target.open("rb") as fh:
            fh.seek(start)
            while sent < limit and (data := fh.read(min(step, limit - sent))):
                await resp.write(data)
                sent += len(data)
                if rate:
                    await asyncio.sleep(len(data) / rate)
        if sent < length:
            await cut_connection(request, reset="reset_after_bytes" in fault)
    except ConnectionError:
        log.info("client went away after %d bytes of %s", sent, request.path)
    request["sent"] = sent
    return resp


async def cut_connection(request: web.Request, *, reset: bool) -> None:
    """End the connection mid-body: a TCP reset, or a clean close short of Content-Length."""
    transport = request.transport
    if transport is None:
        return
    while transport.get_write_buffer_size():
        await asyncio.sleep(0.001)
    if not reset:
        transport.close()
        return
    await asyncio.sleep(0.02)
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def handle(request: web.Request) -> web.StreamResponse:
    """Every non-admin GET/HEAD: faults, the login endpoints, auth, redirects, then the file."""
    state, host, path = request.app[STATE], request.app[HOST], request.path
    fault = state.take_fault(host, path, body=False)
    if fault is not None:
        return fault_response(fault)
    if host == "alt" and path == "/oauth/authorize":
        return authorize(request, state)
    if path == "/oauth/callback":
        return callback(request, state)
    if path.startswith(SAS_TOKEN_PATH):
        account, _, container = path[len(SAS_TOKEN_PATH) :].partition("/")
        return web.json_response(state.sas_token(account, container))
    rule = state.protection(host, path)
    if rule is not None and (denied := await check_access(request, state, rule)) is not None:
        return denied
    return state.redirect(host, path) or await serve_file(request, state)


@web.middleware
async def record(request: web.Request, handler: Any) -> web.StreamResponse:
    """Add latency to, count and log every non-admin request (credentials only as flags)."""
    if request.path.startswith(ADMIN):
        return await handler(request)
    state, host = request.app[STATE], request.app[HOST]
    if state.latency_ms > 0:
        await asyncio.sleep(state.latency_ms / 1000)
    resp = await handler(request)
    body = getattr(resp, "body", None)
    default = len(body) if isinstance(body, bytes) and request.method != "HEAD" else 0
    sent = request.get("sent", default)
    key = f"{host}:{request.path}"
    state.requests[key] += 1
    state.sent[key] += sent
    auth = request.headers.get("Authorization")
    entry = {
        "host": host,
        "method": request.method,
        "path": request.path,
        "query": re.sub(r"(sig|code)=[^&]*", r"\1=***", request.query_string),
        "status": resp.status,
        "range": request.headers.get("Range"),
        "bytes": sent,
        "authorization": auth is not None,
        "cookie": "Cookie" in request.headers,
        "t": time.time(),
    }
    if auth is not None:
        entry["auth_sha256"] = hashlib.sha256(auth.encode()).hexdigest()
    state.log.append(entry)
    log.info("%s %s %s -> %d (%d bytes)", host, request.method, request.path, resp.status, sent)
    return resp


async def admin_stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].stats())


async def admin_reset(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.requests.clear()
    state.sent.clear()
    state.log.clear()
    return web.json_response({"ok": True})


async def admin_latency(request: web.Request) -> web.Response:
    request.app[STATE].latency_ms = float((await request.json())["ms"])
    return web.json_response({"ok": True})


async def admin_set_faults(request: web.Request) -> web.Response:
    rules = (await request.json()).get("rules", [])
    bad = [key for rule in rules for key in rule if key not in FAULT_KEYS]
    if bad:
        return json_error(400, f"unknown fault keys: {sorted(set(bad))}")
    request.app[STATE].faults = [dict(rule) for rule in rules]
    return web.json_response({"ok": True, "rules": len(rules)})


async def admin_clear_faults(request: web.Request) -> web.Response:
    request.app[STATE].faults = []
    return web.json_response({"ok": True})


async def admin_config(request: web.Request) -> web.Response:
    config = await request.json()
    if not isinstance(config, dict) or set(config) - CONFIG_KEYS:
        return json_error(400, f"config keys must be among {sorted(CONFIG_KEYS)}")
    request.app[STATE].config = config
    return web.json_response({"ok": True})


def build_app(state: ServerState, host: str) -> web.Application:
    """The application of one port: ``host`` is its label ("main" or "alt")."""
    app = web.Application(middlewares=[record])
    app[STATE] = state
    app[HOST] = host
    app.router.add_get(ADMIN + "stats", admin_stats)
    app.router.add_post(ADMIN + "reset", admin_reset)
    app.router.add_post(ADMIN + "latency", admin_latency)
    app.router.add_post(ADMIN + "faults", admin_set_faults)
    app.router.add_delete(ADMIN + "faults", admin_clear_faults)
    app.router.add_post(ADMIN + "config", admin_config)
    app.router.add_get("/{tail:.*}", handle)
    return app


async def serve(args: argparse.Namespace) -> None:
    """Run both ports until SIGTERM or SIGINT, then close them."""
    config = json.loads(Path(args.config).read_text()) if args.config else {}
    state = ServerState(
        root=Path(args.root).resolve(),
        bases={
            "main": f"http://{LOOPBACK}:{args.port}",
            "alt": f"http://{LOOPBACK}:{args.alt_port}",
        },
        oidc_url=args.oidc_url.rstrip("/") if args.oidc_url else None,
        config=config,
        latency_ms=args.latency_ms,
    )
    runners = []
    for host, port in (("main", args.port), ("alt", args.alt_port)):
        runner = web.AppRunner(build_app(state, host), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, LOOPBACK, port).start()
        runners.append(runner)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("serving %s on %s (main) and %s (alt)", state.root, args.port, args.alt_port)
    await stop.wait()
    for runner in runners:
        await runner.cleanup()
    log.info("stopped")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True, help="directory served on both ports")
    parser.add_argument("--port", type=int, required=True, help='port of the "main" host')
    parser.add_argument("--alt-port", type=int, required=True, help='port of the "alt" host')
    parser.add_argument("--config", help="JSON file: protected, redirects, earthdata")
    parser.add_argument("--oidc-url", help="OIDC server base URL (realms below /realms/<realm>)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay before each answer")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
