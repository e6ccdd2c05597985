"""A STAC API proxy in front of the local pgstac that imitates the search limits of real catalogues.

Real catalogues differ in what their search understands, and not always in the way their
conformance classes say. Each path prefix of this proxy is one such "personality", a faithful
imitation of a limit a user of the catalogues in SYSTEMS.md runs into (or has to work around in
code, like seed 004's "try ``query``, then no filter, then CQL2-JSON"):

``/pgstac/``
    pgstac as it is, only observed: the reference a fallback's results are compared with.
``/noquery/``
    no Query extension: not declared, and ``query`` is answered with 400.
``/overdeclared/``
    declares Query and Sort (as pgstac does) but answers 400 to ``query`` and to ``sortby``: a
    deployment that turned off what its framework still declares.
``/nofilter/``
    item search core only: no Query, Filter or Sort declared; ``query``, ``filter`` and
    ``sortby`` are answered with 400, on ``/search`` and on ``/collections`` alike.
``/gettext/``
    declares CQL2-JSON and CQL2 text (as pgstac does) but filters only in a GET query string:
    any filter in a POST body gets pgstac's own 400 for a text filter in POST.
``/cmr/``
    NASA CMR-STAC's broken cloud-cover filtering: ``query``, ``filter`` and ``sortby`` are
    accepted and silently ignored, Sort is not declared.
``/auth/``
    pgstac behind a static bearer token (set through the admin API; nothing passes before).
``/cdse/v1/``
    CDSE's current catalogue: the collections pgstac stores as ``cdse-v1-<id>`` under their
    real ids (``sentinel-2-l2a``), mapped both ways by :mod:`stacproxy_ids`.

Every response's ``links`` (the page's, its features' and collections') are rewritten from the
upstream base to the prefix, so that pagination stays on the proxy and in the personality. Under
``/__admin__/``: ``stats`` (request counters and a log of every request: personality, method,
path, query parameters, JSON body, status, whether an Authorization header came, never its
value), ``reset``, ``faults`` (status faults: ``{"path": glob, "status": 503, "count": 1,
"retry_after": 0}``; a body cut mid-read: ``{"path": glob, "cut_after_bytes": 100, "count":
1}``, the connection reset after that many bytes of the answer) and ``bearer``
(``{"sha256": <hex digest of the expected token>}``).

Run: ``python path/to/stacproxy.py --port P --upstream URL`` (``-m`` works too). As a script it
imports nothing of ``xstac_access``, whose package import (xarray) would cost seconds of CPU while
the rest of the local world starts.
"""

from __future__ import annotations

import argparse
import asyncio
import fnmatch
import hashlib
import hmac
import json
import logging
import re
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

try:  # imported as part of the package
    from .stacproxy_ids import PrefixedIds
except ImportError:  # run as a script: the sibling file
    from stacproxy_ids import PrefixedIds  # type: ignore[no-redef, import-not-found]

LOOPBACK = "127.0.0.1"
ADMIN = "/__admin__/"  # the prefix of xstac_access.testing.admin.ADMIN (not imported: see above)
SEARCH_PARAMS = ("query", "filter", "filter-lang", "sortby")
_QUERY_CLASSES = (r"#query$",)
_SORT_CLASSES = (r"#sort$",)
_FILTER_CLASSES = (
    r"#filter$",
    r"/conf/(basic-)?cql2",
    r"/conf/cql2-(json|text)$",
    r"/conf/(features-)?filter$",
)
#: pgstac's own answer to a text filter in a POST body (its pydantic model wants CQL2-JSON).
_PGSTAC_POST_TEXT_DETAIL = [
    {"type": "dict_type", "loc": ["body", "filter"], "msg": "Input should be a valid dictionary"},
    {"type": "literal_error", "loc": ["body", "filter-lang"], "msg": "Input should be 'cql2-json'"},
]

_NOT_JSON = "<not JSON>"

log = logging.getLogger("xstac_access.testing.stacproxy")


@dataclass(frozen=True)
class Personality:
    """One catalogue behaviour: what it hides from its conformance, refuses, or ignores."""

    hidden_classes: tuple[str, ...] = ()  # regexes of conformance URIs not declared
    rejected: tuple[str, ...] = ()  # request parameters answered with 400
    ignored: tuple[str, ...] = ()  # request parameters dropped silently before pgstac sees them
    filter_get_only: bool = False  # a filter in a POST body gets pgstac's 400
    bearer: bool = False  # requests need the configured bearer token
    hide_queryables: bool = False
    ids: PrefixedIds | None = None  # the catalogue's real collection ids over pgstac's


PERSONALITIES: dict[str, Personality] = {
    "pgstac": Personality(),
    "noquery": Personality(hidden_classes=_QUERY_CLASSES, rejected=("query",)),
    "overdeclared": Personality(rejected=("query", "sortby")),
    "nofilter": Personality(
        hidden_classes=_QUERY_CLASSES + _FILTER_CLASSES + _SORT_CLASSES,
        rejected=SEARCH_PARAMS,
        hide_queryables=True,
    ),
    "gettext": Personality(filter_get_only=True),
    "cmr": Personality(hidden_classes=_SORT_CLASSES, ignored=SEARCH_PARAMS),
    "auth": Personality(bearer=True),
    "cdse": Personality(ids=PrefixedIds("cdse-v1-", mount="v1")),
}


@dataclass
class ProxyState:
    upstream: str
    base: str
    session: aiohttp.ClientSession | None = None
    requests: Counter[str] = field(default_factory=Counter)
    log: list[dict[str, Any]] = field(default_factory=list)
    faults: list[dict[str, Any]] = field(default_factory=list)
    bearer_sha256: str | None = None

    def take_fault(self, path: str) -> dict[str, Any] | None:
        """Consume one use of the first live fault whose glob matches the proxy path."""
        for rule in self.faults:
            if rule.get("count") is not None and rule["count"] <= 0:
                continue
            if fnmatch.fnmatchcase(path, rule.get("path", "*")):
                if rule.get("count") is not None:
                    rule["count"] -= 1
                return rule
        return None

    def authorized(self, header: str | None) -> bool:
        if self.bearer_sha256 is None or not header or not header.startswith("Bearer "):
            return False
        token = header.removeprefix("Bearer ").strip()
        return hmac.compare_digest(hashlib.sha256(token.encode()).hexdigest(), self.bearer_sha256)


STATE = web.AppKey("state", ProxyState)


def bad_request(description: str) -> web.Response:
    """A 400 shaped like stac-fastapi's errors."""
    return web.json_response({"code": "BadRequest", "description": description}, status=400)


def refusal(persona: Personality, method: str, names: set[str]) -> web.Response | None:
    """The 400 this personality answers to a request carrying parameters ``names``, if any."""
    refused = sorted(names & set(persona.rejected))
    if refused:
        return bad_request(f"this API does not support the {', '.join(refused)} parameter(s)")
    if persona.filter_get_only and method == "POST" and "filter" in names:
        return web.json_response({"detail": _PGSTAC_POST_TEXT_DETAIL}, status=400)
    return None


def declared(persona: Personality, classes: list[str]) -> list[str]:
    return [c for c in classes if not any(re.search(p, c) for p in persona.hidden_classes)]


def rewrite(doc: Any, persona: Personality, upstream: str, base: str) -> Any:
    """Point the document's links at the proxy prefix; hide what the personality lacks."""
    if not isinstance(doc, dict):
        return doc
    if isinstance(doc.get("conformsTo"), list):
        doc["conformsTo"] = declared(persona, doc["conformsTo"])
    links = doc.get("links")
    if isinstance(links, list):
        if persona.hide_queryables:
            links = [ln for ln in links if not str(ln.get("rel", "")).endswith("queryables")]
        for link in links:
            href = link.get("href")
            if isinstance(href, str) and href.startswith(upstream):
                link["href"] = base + href[len(upstream) :]
        doc["links"] = links
    for key in ("features", "collections"):
        for child in doc.get(key) or []:
            rewrite(child, persona, upstream, base)
    return doc


async def forward(
    request: web.Request, state: ProxyState, name: str, persona: Personality
) -> web.Response:
    """Apply the personality to one request, pass it to pgstac, and adapt the answer."""
    tail, root = "/" + request.match_info["tail"], f"{state.base}/{name}"
    if persona.ids is not None:  # below the API root (``/cdse/v1/``), with pgstac's ids
        inner = persona.ids.path(tail)
        if inner is None:
            return web.json_response({"code": "NotFound", "description": request.path}, status=404)
        root, tail = root + persona.ids.root, inner
    params = {k: v for k, v in request.query.items() if k not in persona.ignored}
    body = request["body"]
    if body is _NOT_JSON:
        return bad_request("the request body is not JSON")
    names = set(request.query) | (set(body) if isinstance(body, dict) else set())
    if persona.bearer and not state.authorized(request.headers.get("Authorization")):
        return web.json_response(
            {"code": "Unauthorized", "description": "a valid bearer token is required"},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="stac"'},
        )
    refused = refusal(persona, request.method, names)
    if refused is not None:
        return refused
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in persona.ignored}
    assert state.session is not None
    if persona.ids is not None:
        params, body = await persona.ids.search(tail, params, body, state.session, state.upstream)
    async with state.session.request(
        request.method,
        state.upstream + tail,
        params=params,
        json=body,
        headers={"Accept": request.headers.get("Accept", "application/json")},
    ) as upstream:
        raw = await upstream.read()
        ctype = upstream.headers.get("Content-Type", "application/json")
        status = upstream.status
    try:
        doc = json.loads(raw)
    except ValueError:
        return web.Response(body=raw, status=status, headers={"Content-Type": ctype})
    doc = rewrite(doc, persona, state.upstream, root)
    if persona.ids is not None:
        doc = persona.ids.answer(doc)
    return web.Response(
        text=json.dumps(doc), status=status, headers={"Content-Type": ctype.split(";")[0]}
    )


async def handle(request: web.Request) -> web.StreamResponse:
    state, name = request.app[STATE], request.match_info["personality"]
    persona = PERSONALITIES.get(name)
    if persona is None:
        return web.json_response(
            {"code": "NotFound", "description": f"personalities: {sorted(PERSONALITIES)}"},
            status=404,
        )
    fault = state.take_fault(request.path)
    if fault is not None and "cut_after_bytes" in fault:
        answer = await forward(request, state, name, persona)
        return await _cut(request, answer, int(fault["cut_after_bytes"]))
    if fault is not None:
        headers = {"Retry-After": str(fault["retry_after"])} if "retry_after" in fault else None
        return web.json_response(
            {"code": "ServerError", "description": "injected fault"},
            status=int(fault.get("status", 503)),
            headers=headers,
        )
    return await forward(request, state, name, persona)


async def _cut(request: web.Request, answer: web.Response, after: int) -> web.StreamResponse:
    """Send ``answer``'s status, headers and first ``after`` bytes, then reset the connection."""
    body = answer.body if isinstance(answer.body, bytes) else b""
    resp = web.StreamResponse(status=answer.status, headers={"Content-Type": answer.content_type})
    resp.content_length = len(body)
    await resp.prepare(request)
    await resp.write(body[:after])
    request["fault"] = "cut_after_bytes"
    if request.transport is not None:
        while request.transport.get_write_buffer_size():
            await asyncio.sleep(0.001)
        request.transport.abort()
    return resp


@web.middleware
async def record(request: web.Request, handler: Any) -> web.StreamResponse:
    """Count and log every non-admin request, with its parameters (credentials only as a flag)."""
    if request.path.startswith(ADMIN):
        return await handler(request)
    state = request.app[STATE]
    request["body"] = None
    if request.can_read_body:
        try:
            request["body"] = await request.json()
        except ValueError:
            request["body"] = _NOT_JSON
    resp = await handler(request)
    personality, _, rest = request.path.lstrip("/").partition("/")
    state.requests[request.path] += 1
    state.log.append(
        {
            "personality": personality,
            "method": request.method,
            "path": "/" + rest,
            "params": dict(request.query),
            "body": request["body"],
            "status": resp.status,
            "fault": request.get("fault"),
            "authorization": "Authorization" in request.headers,
            "t": time.time(),
        }
    )
    log.info("%s %s -> %d", request.method, request.path, resp.status)
    return resp


async def admin_stats(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return web.json_response({"requests": dict(state.requests), "log": state.log})


async def admin_reset(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.requests.clear()
    state.log.clear()
    return web.json_response({"ok": True})


async def admin_set_faults(request: web.Request) -> web.Response:
    rules = (await request.json()).get("rules", [])
    request.app[STATE].faults = [dict(rule) for rule in rules]
    return web.json_response({"ok": True, "rules": len(rules)})


async def admin_clear_faults(request: web.Request) -> web.Response:
    request.app[STATE].faults = []
    return web.json_response({"ok": True})


async def admin_bearer(request: web.Request) -> web.Response:
    digest = (await request.json()).get("sha256")
    if digest is not None and not re.fullmatch(r"[0-9a-f]{64}", str(digest)):
        return bad_request("sha256 must be 64 lower-case hex digits, or null")
    request.app[STATE].bearer_sha256 = digest
    return web.json_response({"ok": True})


def build_app(state: ProxyState) -> web.Application:
    app = web.Application(middlewares=[record])
    app[STATE] = state
    app.router.add_get(ADMIN + "stats", admin_stats)
    app.router.add_post(ADMIN + "reset", admin_reset)
    app.router.add_post(ADMIN + "faults", admin_set_faults)
    app.router.add_delete(ADMIN + "faults", admin_clear_faults)
    app.router.add_post(ADMIN + "bearer", admin_bearer)
    app.router.add_route("*", "/{personality}/{tail:.*}", handle)
    return app


async def serve(args: argparse.Namespace) -> None:
    """Run until SIGTERM or SIGINT."""
    state = ProxyState(upstream=args.upstream.rstrip("/"), base=f"http://{LOOPBACK}:{args.port}")
    runner = web.AppRunner(build_app(state), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, LOOPBACK, args.port).start()
    state.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60), trust_env=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("proxying %s on port %s", state.upstream, args.port)
    await stop.wait()
    await runner.cleanup()
    await state.session.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="the STAC API root to put behind it")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
