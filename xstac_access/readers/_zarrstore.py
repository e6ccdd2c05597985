"""The zarr store under a product: credentials on every request, metadata fetched once.

Opening one group of a product takes two looks at its metadata: ours (is the href an array, a
multiscales group?) and xarray's. Over HTTP each look would fetch ``.zmetadata`` (Zarr v2) or
the ``zarr.json`` documents (Zarr v3) again, so the store keeps the metadata documents it has
read (small JSON, absent ones too) for as long as it lives: one open.

Round trips, not bytes, make an open slow on a remote store (benchmark B2), so two more things:

* a store not known to be Zarr v3 asks for ``.zmetadata`` first, and when it is there answers
  every v2 metadata key (``.zgroup``, ``.zattrs``, ``.zarray`` of any node) and ``zarr.json``
  from it: one request where zarr asks for ``zarr.json``, ``.zgroup``, ``.zattrs`` and then
  ``.zmetadata`` (an EOPF product);
* :meth:`MetadataOnceStore.prefetch_index_coordinates` fetches the chunks of every index
  coordinate (a 1-D array named like its dimension) under a group at once, before xarray opens
  it: xarray loads them group after group, one request at a time (58 round trips for an S2 L2A
  product tree). Those chunks, small by nature, are kept for the open; other chunks never are.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import threading
import weakref
from typing import Any, TypeGuard

from zarr.abc.store import ByteRequest
from zarr.core.buffer import Buffer, BufferPrototype
from zarr.storage import FsspecStore, WrapperStore

from .. import errors
from .._hrefs import local_path, scheme_of
from ..credentials.broker import Broker
from ..credentials.filesystems import filesystem_for, filesystem_kind

_METADATA = ("zarr.json", ".zmetadata", ".zgroup", ".zarray", ".zattrs")
_V2_METADATA = (".zgroup", ".zarray", ".zattrs")
_ABSENT = object()
#: Index coordinate chunks fetched at once by a prefetch (the rest wait for a free slot).
PREFETCH_CONCURRENCY = 64
#: An index coordinate with more chunks than this is left to xarray (no key list that large).
MAX_PREFETCH = 10_000


class MetadataOnceStore(WrapperStore[Any]):
    """A read-only store that fetches each metadata document at most once (see the module
    docstring); ``consolidated_first`` asks for ``.zmetadata`` before anything else. ``href``
    is the store's root, for messages."""

    def __init__(self, store: Any, consolidated_first: bool = True, href: str = "") -> None:
        super().__init__(store)
        self.href = href
        #: Whether the store can list a group's members (not over HTTP: :mod:`._zarrdiscover`).
        self.lists = scheme_of(href) not in ("http", "https")
        self._documents: dict[str, Any] = {}
        self._chunks: dict[str, Any] = {}  # index coordinate chunks prefetched for this open
        self._consolidated_first = consolidated_first
        self._consolidated: Any = None  # the task reading .zmetadata, once
        self.consolidated: dict[str, Any] | None = None  # its "metadata" mapping when found

    def _with_store(self, store: Any) -> MetadataOnceStore:
        return type(self)(store, self._consolidated_first, self.href)

    async def get(
        self, key: str, prototype: BufferPrototype, byte_range: ByteRequest | None = None
    ) -> Buffer | None:
        if byte_range is None and key in self._chunks:
            return _buffer(self._chunks[key], prototype)
        if byte_range is not None or not key.endswith(_METADATA):
            return await self._store.get(key, prototype, byte_range)
        if self._consolidated_first:
            await self._read_consolidated(prototype)
        known = self._documents.get(key)
        if known is None and self._known_absent(key):
            known = self._documents[key] = _ABSENT
        if known is None:
            fetched = await self._store.get(key, prototype)
            self._documents[key] = _ABSENT if fetched is None else fetched
            return fetched
        return _buffer(known, prototype)

    async def exists(self, key: str) -> bool:
        if key in self._documents:
            return self._documents[key] is not _ABSENT
        if self._known_absent(key):
            return False
        return await self._store.exists(key)

    async def _read_consolidated(self, prototype: BufferPrototype) -> None:
        """Fetch ``.zmetadata`` once (concurrent callers wait for the same request); when it is
        there, every v2 metadata document is known from it and no ``zarr.json`` exists."""
        if self.consolidated is not None:  # read, or built for this store (adopt)
            return
        if self._consolidated is None:  # zarr may have asked for it already
            known = self._documents.pop(".zmetadata", None)
            self._consolidated = asyncio.ensure_future(self._zmetadata(known, prototype))
        try:
            fetched = await self._consolidated
        except errors.AuthError:  # the credential was refused, even after a refresh
            raise
        except Exception:  # a store refusing absent keys (403): zarr's own reads will say
            fetched = None
        if ".zmetadata" in self._documents:
            return
        self._documents[".zmetadata"] = _ABSENT if fetched is None else fetched
        try:
            consolidated = json.loads(fetched.to_bytes())["metadata"] if fetched else None
        except (ValueError, KeyError, TypeError):
            consolidated = None  # not consolidated v2 after all: zarr reports what it finds
        if isinstance(consolidated, dict):
            self._adopt_v2(consolidated)

    async def _zmetadata(self, known: Any, prototype: BufferPrototype) -> Buffer | None:
        """``.zmetadata`` as zarr fetched it already (``known``), else fetched now."""
        if known is None:
            return await self._store.get(".zmetadata", prototype)
        return None if known is _ABSENT else known

    def adopt(self, zarr_json: bytes | None, v2_metadata: dict[str, Any] | None) -> None:
        """Take consolidated metadata built for a store that has none: a root ``zarr.json``
        with inline consolidated metadata (v3), or the ``metadata`` of a ``.zmetadata`` (v2)."""
        if zarr_json is not None:
            self._documents["zarr.json"] = zarr_json
        if v2_metadata is not None:
            document = {"zarr_consolidated_format": 1, "metadata": v2_metadata}
            self._documents[".zmetadata"] = json.dumps(document).encode()
            self._adopt_v2(v2_metadata)

    def _adopt_v2(self, consolidated: dict[str, Any]) -> None:
        self.consolidated = consolidated
        for name, document in consolidated.items():
            if name.endswith(_V2_METADATA):
                self._documents[name] = json.dumps(document).encode()
        self._documents["zarr.json"] = _ABSENT

    def _known_absent(self, key: str) -> bool:
        """A v2 metadata document or a ``zarr.json`` that consolidated metadata says is not
        there (zarr looks for ``.zattrs`` of nodes that have none, and v3 documents)."""
        return self.consolidated is not None and key.endswith((*_V2_METADATA, "zarr.json"))

    def prefetch_index_coordinates(self, group: str = "", *, subtree: bool = False) -> int:
        """Fetch, all at once, the chunks of every index coordinate of ``group`` (and of the
        groups below it with ``subtree``), as known from consolidated v2 metadata (nothing
        without it). Returns how many chunks were asked for."""
        from zarr.core.buffer import default_buffer_prototype
        from zarr.core.sync import sync

        sync(self._read_consolidated(default_buffer_prototype()))
        found = index_chunk_keys(self.consolidated or {}, group, subtree=subtree)
        keys = [k for k in found if k not in self._chunks]
        if not keys:
            return 0
        gate = asyncio.Semaphore(PREFETCH_CONCURRENCY)

        async def fetch(key: str) -> None:
            async with gate:
                try:
                    fetched = await self._store.get(key, default_buffer_prototype())
                except Exception:  # left to xarray's own read, which reports it properly
                    return
            self._chunks[key] = _ABSENT if fetched is None else fetched

        async def fetch_all() -> None:
            await asyncio.gather(*(fetch(key) for key in keys))

        sync(fetch_all())
        return len(keys)

    def __getstate__(self) -> dict[str, Any]:  # workers fetch what they need
        return {"_store": self._store, "_consolidated_first": self._consolidated_first,
                "href": self.href}  # fmt: skip

    def __setstate__(self, state: dict[str, Any]) -> None:
        args = (state["_store"], state["_consolidated_first"], state.get("href", ""))
        self.__init__(*args)  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"MetadataOnceStore({self._store!r})"


def _buffer(known: Any, prototype: BufferPrototype) -> Buffer | None:
    """A kept document or chunk as zarr wants it (None: known to be absent)."""
    if known is _ABSENT:
        return None
    if isinstance(known, bytes):
        return prototype.buffer.from_bytes(known)
    return known


def index_chunk_keys(
    consolidated: dict[str, Any], group: str = "", *, subtree: bool = False
) -> list[str]:
    """Chunk keys xarray reads when it opens ``group`` (or the tree under it, ``subtree``),
    from consolidated v2 metadata: every chunk of each index coordinate (a 1-D array named like
    its dimension), and the first and last chunk of each CF-time array (``units`` "... since
    ...": xarray decodes a first and a last value to choose the time type), a scalar's one.
    A chunk left out here is fetched later, one more round trip before the open ends."""
    group = group.strip("/")
    prefix = f"{group}/" if group else ""
    keys: list[str] = []
    for name, array in consolidated.items():
        if not name.endswith(".zarray") or not isinstance(array, dict):
            continue
        path = name[: -len(".zarray")].rstrip("/")
        parent = path.rpartition("/")[0]
        if not (path.startswith(prefix) if subtree else parent == group):
            continue
        attrs = consolidated.get(f"{path}/.zattrs")
        attrs = attrs if isinstance(attrs, dict) else {}
        shape, chunks = array.get("shape"), array.get("chunks")
        if shape == [] and chunks == [] and " since " in str(attrs.get("units", "")):
            keys.append(f"{path}/0")  # a CF-time scalar (EOPF's forecast times): one chunk
            continue
        if not (_sizes(shape) and _sizes(chunks) and len(shape) == len(chunks)):
            continue  # damaged metadata: zarr itself will say what is wrong
        counts = [-(-n // max(1, c)) for n, c in zip(shape, chunks, strict=True)]
        if 0 in counts or counts[0] > MAX_PREFETCH:
            continue
        sep = array.get("dimension_separator") or "."
        if attrs.get("_ARRAY_DIMENSIONS") == [path.rpartition("/")[2]] and len(shape) == 1:
            keys += [f"{path}/{i}" for i in range(counts[0])]
        elif " since " in str(attrs.get("units", "")):
            first = sep.join("0" for _ in counts) or "0"
            last = sep.join(str(n - 1) for n in counts) or "0"
            keys += [f"{path}/{first}"] + ([f"{path}/{last}"] if last != first else [])
    return keys


def _sizes(value: Any) -> TypeGuard[list[int]]:
    """A non-empty list of non-negative integers (a shape or chunk shape)."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in value)
    )


def open_store(root: str, broker: Broker, *, zarr_v3: bool = False) -> MetadataOnceStore:
    """A read-only store for the product at ``root`` (local path, https or s3 URL, abfs URL
    naming its account); ``zarr_v3`` (the catalogue says so) skips looking for v2 consolidated
    metadata first."""
    if scheme_of(root) == "file":
        from zarr.storage import LocalStore

        local = LocalStore(local_path(root), read_only=True)
        return MetadataOnceStore(local, not zarr_v3, root)
    fs = _shared_filesystem(root, broker)
    store = FsspecStore(fs, path=fs._strip_protocol(root), read_only=True)
    return MetadataOnceStore(store, not zarr_v3, root)


# Asynchronous filesystems live in zarr's event loop and own an HTTP session (a connection
# pool). They are shared by every store, so opens reuse connections and the sessions are closed
# at exit instead of being reported unclosed. A filesystem serves one kind of href only
# (filesystem_kind: HTTP, one Azure account at one endpoint, one set of S3 options), so an open
# of one kind never hands its filesystem to an open of another. HTTP and Azure filesystems ask
# their broker for every request's credential: one of each kind per broker. S3 filesystems carry
# their options, shared by every broker (a store's options can come with the call, and each
# such call has a broker of its own).
_BY_BROKER: weakref.WeakKeyDictionary[Broker, dict[tuple[str, ...], Any]] = (
    weakref.WeakKeyDictionary()
)
_S3: dict[tuple[str, ...], Any] = {}
_LOCK = threading.Lock()


def _shared_filesystem(root: str, broker: Broker) -> Any:
    kind = filesystem_kind(root, broker)
    with _LOCK:
        cache = _S3 if kind[0] == "s3" else _BY_BROKER.setdefault(broker, {})
        if kind not in cache:
            cache[kind] = filesystem_for(root, broker, asynchronous=True)
        return cache[kind]


@atexit.register
def _close_sessions() -> None:
    with _LOCK:
        filesystems = [
            *_S3.values(),
            *(fs for kinds in _BY_BROKER.values() for fs in kinds.values()),
        ]
    if not filesystems:
        return
    from zarr.core.sync import sync

    for fs in filesystems:
        sessions = ("_session", "_s3", "service_client")  # aiohttp, aiobotocore, azure
        for session in (getattr(fs, name, None) for name in sessions):
            if session is not None:
                with contextlib.suppress(Exception):  # best effort at interpreter exit
                    sync(session.__aexit__(None, None, None), timeout=1)
