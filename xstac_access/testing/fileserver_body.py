"""How the file server sends a file: one byte range of it, and the faults that spoil the body.

Body faults: ``reset_after_bytes`` (a TCP reset), ``truncate_after_bytes`` (a clean close short
of Content-Length), ``slow_bytes_per_s`` (paced sending) and ``hold_after_bytes`` (the response
stops there until a test releases it, so that a test can act while a transfer is in flight).
Status and HTML faults answer instead of the file (:func:`fault_response`). A ``no_range`` rule
makes the server ignore Range and send the whole file with a 200, as servers without range
support do.
"""

from __future__ import annotations

import asyncio
import mimetypes
import socket
import struct
from pathlib import Path
from typing import Any, BinaryIO

from aiohttp import web

from xstac_access.testing.fileserver_state import (
    BODY_FAULTS,
    HOST,
    ServerState,
    json_error,
    log,
)

CHUNK = 64 * 1024
LOGIN_PAGE = (
    b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>"
    b'<form method="post" action="/login"><input name="username">'
    b'<input name="password" type="password"><button>Sign in</button></form>'
    b"</body></html>"
)


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


def fault_response(rule: dict[str, Any]) -> web.Response:
    """The answer of a status or HTML-login-page fault."""
    if rule.get("html"):
        return web.Response(body=LOGIN_PAGE, content_type="text/html")
    headers = {"Retry-After": str(rule["retry_after"])} if "retry_after" in rule else None
    return json_error(int(rule.get("status", 503)), "injected fault", headers)


async def serve_file(
    request: web.Request,
    state: ServerState,
    target: Path | None = None,
    extra_headers: dict[str, str] | None = None,
) -> web.StreamResponse:
    """Send a file (``target``, else the one the request path names under the root) or one byte
    range of it, with ``extra_headers``, applying a body fault if one matches."""
    target = target or state.resolve(request.path)
    if target is None:
        return json_error(404, "not found")
    stat = target.stat()
    size = stat.st_size
    no_range = state.ignores_range(request.app[HOST], request.path)
    headers = {
        "Accept-Ranges": "none" if no_range else "bytes",
        "ETag": f'"{stat.st_mtime_ns:x}-{size:x}"',
        "Content-Type": mimetypes.guess_type(target.name)[0] or "application/octet-stream",
        **(extra_headers or {}),
    }
    start, end, status = 0, size - 1, 200
    if "Range" in request.headers and not no_range:
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
    request["fault"] = sorted(key for key in BODY_FAULTS if key in fault) or None
    sent = 0
    try:
        with target.open("rb") as fh:
            fh.seek(start)
            sent = await send_body(request, resp, fh, length, fault, state)
        if sent < length:
            await cut_connection(request, reset="reset_after_bytes" in fault)
    except ConnectionError:
        log.info("client went away after %d bytes of %s", sent, request.path)
    request["sent"] = sent
    return resp


async def send_body(
    request: web.Request,
    resp: web.StreamResponse,
    fh: BinaryIO,
    length: int,
    fault: dict[str, Any],
    state: ServerState,
) -> int:
    """Write up to ``length`` bytes of ``fh`` as the fault says; return how many were sent."""
    limit = min(
        length, fault.get("reset_after_bytes", length), fault.get("truncate_after_bytes", length)
    )
    rate = fault.get("slow_bytes_per_s")
    step = max(1, min(CHUNK, int(rate / 20))) if rate else CHUNK
    hold = fault.get("hold_after_bytes")
    sent = 0
    while sent < limit:
        if hold is not None and sent >= hold:
            await state.hold(request.path)
            hold = None
        end = limit if hold is None else min(limit, hold)
        data = fh.read(min(step, end - sent))
        if not data:
            break
        await resp.write(data)
        sent += len(data)
        if rate:
            await asyncio.sleep(len(data) / rate)
    return sent


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
