"""Short-lived credentials for dask.distributed workers, refreshed in one place.

Datasets opened with credentials pickle into dask graphs as :class:`~.broker.Access` handles
that name their provider and nothing secret. When such a handle is pickled in a process that
has a ``distributed.Client``, that process starts a publisher: a daemon thread that keeps a
``distributed.Variable`` per provider and scope filled with current *access* material and
refreshes it before it expires. Workers read the variable when they need material and their
copy is about to expire. Refresh tokens, offline tokens, passwords and S3 keys never leave the
process that was configured with them: only access tokens, cookies, signatures and public S3
options are published, and refreshing happens in that one process, so rotating refresh tokens
cannot race between workers.
"""

from __future__ import annotations

import hashlib
import sys
import threading
import time
from typing import Any

from .. import _clock
from .._log import get_logger
from .material import Material
from .providers import Provider
from .secrets import Secret

log = get_logger(__name__)
_publishers: dict[str, threading.Thread] = {}
_cache: dict[str, Material] = {}
_lock = threading.Lock()
#: Workers refresh their copy this many seconds before it expires.
WORKER_MARGIN = 1.0
FETCH_TIMEOUT = 60.0


def _name(provider_id: str, scope: str) -> str:
    digest = hashlib.sha256(f"{provider_id}|{scope}".encode()).hexdigest()[:16]
    return f"xstac-access-credential-{digest}"


def _client() -> Any:
    """The distributed client of this process, if distributed is in use; never imports it."""
    if "distributed" not in sys.modules:
        return None
    from distributed import default_client

    try:
        return default_client()
    except ValueError:
        return None


def offer(provider: Provider, href: str) -> None:
    """Start publishing ``provider``'s material for ``href`` if a distributed client exists.

    Called while a graph is being pickled, possibly on the client's event loop: publishing
    happens on the publisher thread, never inline (a blocking call there would deadlock).
    """
    client = _client()
    if client is None:
        return
    name = _name(provider.id, provider.scope(href))
    with _lock:
        thread = _publishers.get(name)
        if thread is not None and thread.is_alive():
            return
        thread = threading.Thread(
            target=_publish,
            args=(client, name, provider, href),
            name=f"xstac-relay-{name[-6:]}",
            daemon=True,
        )
        _publishers[name] = thread
    thread.start()


def _publish_once(client: Any, name: str, provider: Provider, href: str) -> Material:
    from distributed import Variable

    material = provider.material(href)
    Variable(name, client=client).set(_to_wire(provider, material, href))
    return material


def _publish(client: Any, name: str, provider: Provider, href: str) -> None:
    """Publish now, then again shortly before each expiry, while the client is running."""
    try:
        material = _publish_once(client, name, provider, href)
        while client.status in ("running", "connecting", "newly-created"):
            if material.expires_at is None:
                time.sleep(5.0)
                continue
            lifetime = max(material.expires_at - _clock.now(), 0.0)
            margin = min(lifetime / 2, max(2 * WORKER_MARGIN, lifetime / 4))
            _clock.sleep_until(_clock.now() + max(0.2, lifetime - margin))
            if client.status not in ("running", "connecting", "newly-created"):
                return  # closed while this slept: nobody to publish to, nothing to fetch
            material = _publish_once(client, name, provider, href)
            log.debug("relayed fresh material %s", material.version)
    except Exception as exc:  # the client closed, or the token endpoint failed: say so
        if client.status in ("running", "connecting", "newly-created"):
            log.warning("credential relay stopped: %s: %s", exc.__class__.__name__, exc)


def fetch(provider_id: str, href: str, scope: str = "") -> Material | None:
    """In a worker: current material for the provider, from the relay (``None`` if none)."""
    if "distributed" not in sys.modules:
        return None
    from distributed import Variable, get_client

    name = _name(provider_id, scope)
    with _lock:
        cached = _cache.get(name)
    if cached is not None and not cached.expires_within(WORKER_MARGIN):
        return cached
    try:
        client = get_client()
    except ValueError:
        return None
    deadline = time.monotonic() + FETCH_TIMEOUT
    while True:
        try:
            wire = Variable(name, client=client).get(timeout=FETCH_TIMEOUT)
        except TimeoutError:
            return None
        material = _from_wire(wire)
        if not material.expires_within(WORKER_MARGIN / 2) or time.monotonic() > deadline:
            with _lock:
                _cache[name] = material
            return material
        time.sleep(0.2)  # the publisher is about to replace it


def forget(provider_id: str | None, href: str, version: str, scope: str = "") -> None:
    """Drop a relayed copy the server refused, so the next fetch asks the relay again."""
    if provider_id is None:
        return
    name = _name(provider_id, scope)
    with _lock:
        if name in _cache and _cache[name].version == version:
            del _cache[name]


def _to_wire(provider: Provider, material: Material, href: str) -> dict[str, Any]:
    s3 = provider.wire_s3(material, href)
    return {
        "headers": {k: v.reveal() for k, v in material.headers.items()},
        "cookies": {k: v.reveal() for k, v in material.cookies.items()},
        "query": material.query.reveal() if material.query is not None else None,
        "s3": s3,
        "expires_at": material.expires_at,
    }


def _from_wire(wire: dict[str, Any]) -> Material:
    return Material.build(
        headers={k: Secret(v) for k, v in wire["headers"].items()},
        cookies={k: Secret(v) for k, v in wire["cookies"].items()},
        query=Secret(wire["query"]) if wire["query"] else None,
        s3=wire["s3"],
        expires_at=wire["expires_at"],
    )
