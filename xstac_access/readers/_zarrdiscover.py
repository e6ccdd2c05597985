"""Unconsolidated Zarr stores on a host that cannot list (HTTP): find the nodes, or say so.

Without consolidated metadata (v2 without ``.zmetadata``, v3 with ``consolidated_metadata:
null``) zarr finds a group's members by listing the store. S3, Azure and local stores list; an
HTTP server does not, and zarr then sees a group with no members: an empty Dataset, silently.
So on HTTP the reader asks for the metadata of the nodes it can name, and builds the
consolidated metadata zarr would have read:

* the names the caller and the catalogue give: the path being opened (``group=``, an href
  inside the store) and the STAC asset's ``cube:variables`` / ``cube:dimensions`` (datacube
  extension) and band names (``bands``, ``eo:bands``);
* the names the nodes found declare: an array's dimensions (v3 ``dimension_names``, v2
  ``_ARRAY_DIMENSIONS``, whose coordinate arrays share the names), its ``coordinates``,
  ``grid_mapping``, ``bounds`` and ``ancillary_variables``; a group's multiscales levels and its
  own ``grid_mapping``/``coordinates``.

Each candidate costs one request (v3 ``zarr.json``) or up to three (v2 ``.zarray``,
``.zgroup``, ``.zattrs``), concurrently, round after round until nothing new is named. When
that finds nothing under the group asked for, the open is refused with a
:class:`~xstac_access.errors.FormatError` that says the store is not consolidated and how to
open an array or group by its path; never an empty Dataset or tree.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping
from typing import Any

from .. import errors
from .._hrefs import host_of, safe_href
from .._resolve import Target
from ._zarrlevels import declared_levels

#: Nodes asked for at most (a store declaring more is opened by path instead).
MAX_NODES = 2000
_ARRAY_LINKS = ("coordinates", "grid_mapping", "bounds", "ancillary_variables")


def discover(store: Any, path: str, target: Target) -> int | None:
    """Give ``store`` (a MetadataOnceStore over a host that cannot list) the consolidated
    metadata of every node that can be named from ``path`` and ``target``; ``None`` when there
    is nothing to do (consolidated or listable store, or no group at its root), else the number
    of nodes probed. Raises FormatError when nothing is found under ``path``."""
    from zarr.core.sync import sync

    if store.lists:
        return None
    found = sync(_discover(store, path, _names(target)))
    if found is None:
        return None
    fmt, nodes, probed = found
    if path in nodes and not _has_members(nodes, path):  # (a missing node: xarray says so)
        raise _not_consolidated(target, store, path, fmt)
    if fmt == 3:
        root = {**nodes.pop(""), "consolidated_metadata": {
            "kind": "inline", "must_understand": False, "metadata": nodes}}  # fmt: skip
        store.adopt(json.dumps(root).encode(), None)
    else:
        metadata: dict[str, Any] = {}
        for node_path, (kind, doc, attrs) in nodes.items():
            prefix = f"{node_path}/" if node_path else ""
            metadata[prefix + (".zarray" if kind == "array" else ".zgroup")] = doc
            metadata[prefix + ".zattrs"] = attrs
        store.adopt(None, metadata)
    return probed


def _names(target: Target) -> set[str]:
    """Node names the STAC asset declares (datacube variables and dimensions, band names)."""
    names: set[str] = set()
    for source in (target.asset, target.item.get("properties", {}) if target.item else {}):
        for key in ("cube:variables", "cube:dimensions"):
            if isinstance(source.get(key), Mapping):
                names |= {str(k) for k in source[key]}
    for key in ("bands", "eo:bands"):
        bands = target.asset.get(key)
        for band in bands if isinstance(bands, list) else ():
            if isinstance(band, Mapping) and isinstance(band.get("name"), str):
                names.add(band["name"])
    return names


async def _discover(
    store: Any, path: str, names: Iterable[str]
) -> tuple[int, dict[str, Any], int] | None:
    root = await _json(store, "zarr.json")
    if root is not None:
        if root.get("consolidated_metadata") or root.get("node_type") != "group":
            return None
        fmt, nodes = 3, {"": root}
    else:
        if store.consolidated is not None or await _json(store, ".zgroup") is None:
            return None
        fmt, nodes = 2, {"": ("group", {"zarr_format": 2}, await _json(store, ".zattrs") or {})}
    parts = [p for p in path.split("/") if p]
    wanted = {"/".join(parts[: i + 1]) for i in range(len(parts))}
    wanted |= {"/".join([*parts, name]) for name in names}
    wanted |= _referenced("", nodes[""], fmt)
    probed: set[str] = set()
    while wanted - probed and len(probed) < MAX_NODES:
        batch = sorted(wanted - probed)[: MAX_NODES - len(probed)]
        probed |= set(batch)
        for node_path, node in zip(
            batch, await asyncio.gather(*(_probe(store, fmt, p) for p in batch)), strict=True
        ):
            if node is not None:
                nodes[node_path] = node
                wanted |= _referenced(node_path, node, fmt)
    return fmt, nodes, len(probed)


async def _probe(store: Any, fmt: int, path: str) -> Any:
    """The node at ``path``: a v3 ``zarr.json`` document, or v2 ``(kind, doc, attrs)``."""
    if fmt == 3:
        doc = await _json(store, f"{path}/zarr.json")
        return doc if isinstance(doc, dict) and doc.get("node_type") in ("array", "group") else None
    array, group, attrs = await asyncio.gather(
        *(_json(store, f"{path}/{key}") for key in (".zarray", ".zgroup", ".zattrs"))
    )
    if array is None and group is None:
        return None
    return ("array" if array is not None else "group", array or group, attrs or {})


async def _json(store: Any, key: str) -> Any:
    from zarr.core.buffer import default_buffer_prototype

    try:
        found = await store.get(key, default_buffer_prototype())
        return json.loads(found.to_bytes()) if found is not None else None
    except errors.AuthError:
        raise
    except (ValueError, OSError, errors.AccessError):  # absent, refused or not JSON: no node
        return None


def _referenced(path: str, node: Any, fmt: int) -> set[str]:
    """Paths the node names: an array's siblings (dimensions, coordinates, grid mapping...),
    a group's children (multiscales levels, its grid mapping and coordinates)."""
    if fmt == 3:
        kind, attrs = node.get("node_type"), node.get("attributes") or {}
        dims = node.get("dimension_names") or []
    else:
        kind, attrs = node[0], node[2]
        dims = attrs.get("_ARRAY_DIMENSIONS") or []
    names: list[str] = []
    for link in _ARRAY_LINKS:
        value = attrs.get(link)
        if isinstance(value, str):  # "crs: x y" (CF extended grid_mapping) names crs, x, y
            names += [token.rstrip(":") for token in value.split()]
        elif isinstance(value, list):
            names += [v for v in value if isinstance(v, str)]
    if kind == "array":
        names += [d for d in dims if isinstance(d, str)]
        parent = path.rpartition("/")[0]
    else:
        names += declared_levels(attrs)
        parent = path
    return {f"{parent}/{name}".strip("/") for name in names if name and name not in (".", "..")}


def _has_members(nodes: dict[str, Any], path: str) -> bool:
    prefix = f"{path}/" if path else ""
    return _kind(nodes[path]) == "array" or any(p.startswith(prefix) and p != path for p in nodes)


def _kind(node: Any) -> str | None:
    return node.get("node_type") if isinstance(node, dict) else node[0]


def _not_consolidated(target: Target, store: Any, path: str, fmt: int) -> errors.FormatError:
    href = safe_href(store.href)
    where = f"group {path!r}" if path else "its root group"
    how = "no consolidated_metadata in zarr.json" if fmt == 3 else "no .zmetadata"
    return errors.FormatError(
        f"{target.label}: the Zarr v{fmt} store at {href} (host {host_of(store.href)}) is not "
        f"consolidated ({how}), and an HTTP server cannot list it, so the members of {where} "
        "cannot be found. Open an array or group by its path (group='<name>', or the href "
        f"{href}/<name>), declare the variables in the asset's cube:variables, or consolidate "
        "the store (zarr.consolidate_metadata)."
    )
