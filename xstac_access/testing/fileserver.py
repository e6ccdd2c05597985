"""An HTTP file server for the local world: Range reads, auth, redirects, latency and faults.

One process serves one directory tree on two ports. The first is the "main" host (the data
host); the second, "alt", stands for another host: a download host behind a redirect, or the
Earthdata-style login host, and, named ``localhost``, S3 behind a presigned redirect
(:mod:`~xstac_access.testing.fileserver_presign`). Protected prefixes want a bearer JWT, the
Earthdata Login dance or a SAS signature (:mod:`~xstac_access.testing.fileserver_auth`), and a
user may have only so many requests in flight under some
(:mod:`~xstac_access.testing.fileserver_limits`: CDSE's 4); files are sent by
:mod:`~xstac_access.testing.fileserver_body`, with its body faults, and found (OData
``Nodes(...)/$value`` paths, ``Content-Disposition`` names) by
:mod:`~xstac_access.testing.fileserver_odata`. An admin API
under ``/__admin__/`` exposes request and byte counters and injects latency and faults, so tests
and benchmarks see what a client really did on the wire; a test waits for a response to be held
mid-body or a request to be logged (``wait``) rather than sleeping. Nothing here stores or logs a
credential: the request log says only whether one arrived (and its sha256), and signatures in
query strings are masked.

Run: ``python -m xstac_access.testing.fileserver --root DIR --port P --alt-port P2
[--config FILE.json] [--oidc-url URL] [--latency-ms N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import re
import signal
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from xstac_access.testing import s3credentials
from xstac_access.testing.admin import ADMIN
from xstac_access.testing.fileserver_auth import (
    SAS_TOKEN_PATH,
    authorize,
    callback,
    check_access,
    revoke,
    sas_token,
)
from xstac_access.testing.fileserver_body import fault_response, serve_file
from xstac_access.testing.fileserver_limits import connection_limiter
from xstac_access.testing.fileserver_odata import locate
from xstac_access.testing.fileserver_presign import check_presigned, presigned_redirect
from xstac_access.testing.fileserver_state import (
    CONFIG_KEYS,
    FAULT_KEYS,
    HOST,
    LOOPBACK,
    STATE,
    ServerState,
    json_error,
    log,
)


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
        return web.json_response(sas_token(state, account, container))
    rule = state.protection(host, path)
    if rule is not None and rule.get("scheme") == "presigned":
        if (denied := check_presigned(request, state)) is not None:
            return denied
    elif rule is not None and (denied := await check_access(request, state, rule)) is not None:
        return denied
    elif rule is not None and "presign" in rule:
        return presigned_redirect(request, state, rule)
    if path == s3credentials.PATH and "s3credentials" in state.config:  # a DAAC's S3 keys
        return web.json_response(s3credentials.answer(state.config["s3credentials"]))
    redirect = state.redirect(host, path)
    return redirect or await serve_file(request, state, *locate(state, host, path))


@web.middleware
async def record(request: web.Request, handler: Any) -> web.StreamResponse:
    """Add latency to, count and log every non-admin request (credentials only as flags).

    Each log entry says what the server did to the request: the latency it added
    (``delay_ms``) and the body faults it applied (``fault``)."""
    if request.path.startswith(ADMIN):
        return await handler(request)
    state = request.app[STATE]
    state.in_flight += 1
    try:
        delay_ms = state.latency_ms
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000)
        resp = await handler(request)
        log_request(request, state, resp, delay_ms)
    finally:
        state.in_flight -= 1
        await state.announce()
    return resp


def log_request(
    request: web.Request, state: ServerState, resp: web.StreamResponse, delay_ms: float
) -> None:
    """Count a request and add its entry to the log (whether credentials came, not which)."""
    host = request.app[HOST]
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
        "query": re.sub(
            r"(sig|code|X-Amz-Signature|X-Amz-Credential)=[^&]*", r"\1=***", request.query_string
        ),
        "status": resp.status,
        "range": request.headers.get("Range"),
        "bytes": sent,
        "authorization": auth is not None,
        "cookie": "Cookie" in request.headers,
        "delay_ms": delay_ms,
        "fault": request.get("fault"),
        "t": time.time(),
    }
    if auth is not None:
        entry["auth_sha256"] = hashlib.sha256(auth.encode()).hexdigest()
    state.log.append(entry)
    log.info("%s %s %s -> %d (%d bytes)", host, request.method, request.path, resp.status, sent)


async def admin_stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].stats())


async def admin_reset(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.requests.clear()
    state.sent.clear()
    state.log.clear()
    state.connections.reset()
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
    """Drop every fault rule, and let go of the responses held by one."""
    state = request.app[STATE]
    state.faults = []
    return web.json_response({"ok": True, "released": state.release()})


async def admin_release(request: web.Request) -> web.Response:
    """Let every held response go on (its ``hold_after_bytes`` rule stays for the next ones)."""
    return web.json_response({"released": request.app[STATE].release()})


async def admin_wait(request: web.Request) -> web.Response:
    """Answer once ``{"held": n}`` responses are held, ``{"logged": n, "path": glob}``
    requests are logged, or (``{"idle": true}``) none is in flight; 504 after ``timeout``
    seconds. A test's signal, instead of a sleep."""
    state, body = request.app[STATE], await request.json()

    def met() -> bool:
        if "held" in body:
            return len(state.held) >= int(body["held"])
        if "logged" in body:
            return state.logged(body.get("path", "*")) >= int(body["logged"])
        return state.in_flight == 0

    try:
        async with state.changed:
            await asyncio.wait_for(state.changed.wait_for(met), float(body.get("timeout", 30)))
    except TimeoutError:
        return json_error(504, f"still waiting for {body}")
    return web.json_response({"held": len(state.held), "logged": len(state.log)})


async def admin_revoke(request: web.Request) -> web.Response:
    """Revoke bearer tokens server-side (see :func:`~.fileserver_auth.revoke`)."""
    return web.json_response(revoke(request.app[STATE], await request.json()))


async def admin_config(request: web.Request) -> web.Response:
    config = await request.json()
    if not isinstance(config, dict) or set(config) - CONFIG_KEYS:
        return json_error(400, f"config keys must be among {sorted(CONFIG_KEYS)}")
    request.app[STATE].config = config
    return web.json_response({"ok": True})


def build_app(state: ServerState, host: str) -> web.Application:
    """The application of one port: ``host`` is its label ("main" or "alt")."""
    app = web.Application(middlewares=[record, connection_limiter(state, host)])
    app[STATE] = state
    app[HOST] = host
    app.router.add_get(ADMIN + "stats", admin_stats)
    app.router.add_post(ADMIN + "reset", admin_reset)
    app.router.add_post(ADMIN + "latency", admin_latency)
    app.router.add_post(ADMIN + "faults", admin_set_faults)
    app.router.add_delete(ADMIN + "faults", admin_clear_faults)
    app.router.add_post(ADMIN + "config", admin_config)
    app.router.add_post(ADMIN + "release", admin_release)
    app.router.add_post(ADMIN + "wait", admin_wait)
    app.router.add_post(ADMIN + "revoke", admin_revoke)
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
            "presigned": f"http://localhost:{args.alt_port}",  # S3's stand-in: another host name
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
    parser.add_argument(
        "--config", help="JSON file: protected, redirects, earthdata, odata_nodes, disposition"
    )
    parser.add_argument("--oidc-url", help="OIDC server base URL (realms below /realms/<realm>)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay before each answer")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
