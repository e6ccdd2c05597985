"""Zarr v3 node documents, pydantic-zarr style, as the EOPF Explorer GeoZarr converter writes them.

Every array has a ``regular`` chunk grid, ``default`` chunk keys with ``/`` and a ``bytes``
codec (little endian; no configuration for one-byte types), then its compressor: blosc (zstd,
level 3, byte shuffle) for data, zstd level 0 for the ``spatial_ref`` scalar of the product's
own levels, none for coordinates. Reflectance bands are ``sharding_indexed``: inner chunks go
through bytes + blosc, the shard index through bytes + crc32c, at the end of the shard. Floats
are NaN-filled and carry the CF ``_FillValue`` xarray writes for NaN (the float64's bytes in
base64); strings are ``fixed_length_utf32``. A group is ``{"attributes", "members"}``.
"""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import numpy as np

Compressor = Literal["blosc", "zstd", "none"]
Node = dict[str, Any]

#: CF ``_FillValue`` of a NaN-filled float array in zarr v3 attributes (xarray's encoding).
NAN_FILL = base64.b64encode(struct.pack("<d", math.nan)).decode()


def _bytes_codec(itemsize: int) -> dict[str, Any]:
    if itemsize == 1:
        return {"name": "bytes"}
    return {"name": "bytes", "configuration": {"endian": "little"}}


def codecs(itemsize: int, compressor: Compressor, inner: Sequence[int] | None = None) -> list[Any]:
    """The codec chain of an array (sharded with ``inner`` chunks when it is given)."""
    chain = [_bytes_codec(itemsize)]
    if compressor == "blosc":
        chain.append(
            {
                "name": "blosc",
                "configuration": {
                    "blocksize": 0,
                    "clevel": 3,
                    "cname": "zstd",
                    "shuffle": "shuffle",
                    "typesize": itemsize,
                },
            }
        )
    elif compressor == "zstd":
        chain.append({"name": "zstd", "configuration": {"checksum": False, "level": 0}})
    if inner is None:
        return chain
    sharding = {
        "chunk_shape": list(inner),
        "codecs": chain,
        "index_codecs": [_bytes_codec(8), {"name": "crc32c"}],
        "index_location": "end",
    }
    return [{"name": "sharding_indexed", "configuration": sharding}]


def _data_type(dtype: str) -> tuple[Any, int, Any]:
    """(zarr v3 ``data_type``, bytes per element for the codecs, ``fill_value``)."""
    np_dtype = np.dtype(dtype)
    if np_dtype.kind == "U":
        spec = {"name": "fixed_length_utf32", "configuration": {"length_bytes": np_dtype.itemsize}}
        return spec, np_dtype.itemsize, ""
    return np_dtype.name, np_dtype.itemsize, "NaN" if np_dtype.kind == "f" else 0


def array(
    dtype: str,
    shape: Sequence[int],
    dims: Sequence[str] | None,
    attrs: dict[str, Any] | None = None,
    *,
    compressor: Compressor = "blosc",
    chunks: Sequence[int] | None = None,
    inner: Sequence[int] | None = None,
) -> Node:
    """An array node: one chunk (or shard, with ``inner`` chunks) of ``chunks`` or its shape."""
    data_type, itemsize, fill = _data_type(dtype)
    attributes = dict(attrs or {})
    if fill == "NaN":
        attributes["_FillValue"] = NAN_FILL
    return {
        "zarr_format": 3,
        "node_type": "array",
        "shape": list(shape),
        "data_type": data_type,
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(chunks or shape)}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": fill,
        "codecs": codecs(itemsize, compressor, inner),
        "attributes": dict(sorted(attributes.items())),
        "dimension_names": list(dims) if dims else None,
        "storage_transformers": [],
    }


def coordinate(dim: str, size: int, dtype: str = "int64") -> Node:
    """A 1-D uncompressed coordinate array in one chunk."""
    return array(dtype, (size,), (dim,), compressor="none")


def scalar(
    dtype: str, attrs: dict[str, Any] | None = None, compressor: Compressor = "none"
) -> Node:
    """A 0-d array (a CF grid mapping, a GRIB level or time coordinate)."""
    return array(dtype, (), None, attrs, compressor=compressor)


def group(members: dict[str, Node] | None = None, attrs: dict[str, Any] | None = None) -> Node:
    """A group node, members in name order as the real hierarchy lists them."""
    return {
        "zarr_format": 3,
        "node_type": "group",
        "attributes": attrs or {},
        "members": dict(sorted((members or {}).items())),
    }


def walk(node: Node, path: str = "") -> Iterator[tuple[str, Node]]:
    """Every node of a hierarchy with its path (``""`` for the root), parents first."""
    yield path, node
    for name, member in (node.get("members") or {}).items():
        yield from walk(member, f"{path}/{name}".lstrip("/"))
