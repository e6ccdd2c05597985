"""The zarr store under a product: credentials on every request, metadata fetched once.

Opening one group of a product takes two looks at its metadata: ours (is the href an array, a
multiscales group?) and xarray's. Over HTTP each look would fetch ``.zmetadata`` (Zarr v2) or
the ``zarr.json`` documents (Zarr v3) again, so the store keeps the metadata documents it has
read (small JSON, absent ones too) for as long as it lives: one open. Chunks are never kept.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import threading
import weakref
from typing import Any

from zarr.abc.store import ByteRequest
from zarr.core.buffer import Buffer, BufferPrototype
from zarr.storage import FsspecStore, WrapperStore

from .._hrefs import local_path, scheme_of
from ..credentials.broker import Broker
from ..credentials.filesystems import filesystem_for

_METADATA = ("zarr.json", ".zmetadata", ".zgroup", ".zarray", ".zattrs")
_ABSENT = object()


class MetadataOnceStore(WrapperStore[Any]):
    """A read-only store that fetches each metadata document at most once."""

    def __init__(self, store: Any) -> None:
        super().__init__(store)
        self._documents: dict[str, Any] = {}

    def _with_store(self, store: Any) -> MetadataOnceStore:
        return type(self)(store)

    async def get(
        self, key: str, prototype: BufferPrototype, byte_range: ByteRequest | None = None
    ) -> Buffer | None:
        if byte_range is not None or not key.endswith(_METADATA):
            return await self._store.get(key, prototype, byte_range)
        known = self._documents.get(key)
        if known is None:
            fetched = await self._store.get(key, prototype)
            self._documents[key] = _ABSENT if fetched is None else fetched
            return fetched
        return None if known is _ABSENT else known

    async def exists(self, key: str) -> bool:
        if key in self._documents:
            return self._documents[key] is not _ABSENT
        return await self._store.exists(key)

    def __getstate__(self) -> dict[str, Any]:
        return {"_store": self._store, "_documents": {}}  # workers fetch what they need

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        return f"MetadataOnceStore({self._store!r})"


def open_store(root: str, broker: Broker) -> MetadataOnceStore:
    """A read-only store for the product at ``root`` (local path, https or s3 URL)."""
    if scheme_of(root) == "file":
        from zarr.storage import LocalStore

        return MetadataOnceStore(LocalStore(local_path(root), read_only=True))
    fs = _shared_filesystem(root, broker)
    return MetadataOnceStore(FsspecStore(fs, path=fs._strip_protocol(root), read_only=True))


# Asynchronous filesystems live in zarr's event loop and own an HTTP session (a connection
# pool). They are shared by every store, so opens reuse connections and the sessions are closed
# at exit instead of being reported unclosed: one HTTP filesystem per broker (its middleware asks
# that broker), one S3 filesystem per set of options (a store's options can come with the call).
_HTTP: weakref.WeakKeyDictionary[Broker, Any] = weakref.WeakKeyDictionary()
_S3: dict[str, Any] = {}
_LOCK = threading.Lock()


def _shared_filesystem(root: str, broker: Broker) -> Any:
    if scheme_of(root) != "s3":
        with _LOCK:
            if broker not in _HTTP:
                _HTTP[broker] = filesystem_for(root, broker, asynchronous=True)
            return _HTTP[broker]
    options = broker.access(root).material().s3_options() or {}
    # hashed, so no key material sits in a dict key
    key = hashlib.sha256(json.dumps(options, sort_keys=True, default=str).encode()).hexdigest()
    with _LOCK:
        if key not in _S3:
            _S3[key] = filesystem_for(root, broker, asynchronous=True)
        return _S3[key]


@atexit.register
def _close_sessions() -> None:
    with _LOCK:
        filesystems = [*_HTTP.values(), *_S3.values()]
    if not filesystems:
        return
    from zarr.core.sync import sync

    for fs in filesystems:
        for session in (getattr(fs, "_session", None), getattr(fs, "_s3", None)):
            if session is not None:
                with contextlib.suppress(Exception):  # best effort at interpreter exit
                    sync(session.__aexit__(None, None, None), timeout=1)
