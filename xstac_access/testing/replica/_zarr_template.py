"""Build a zarr v2 store with real chunk data from a product *description* written as code.

A ``Hierarchy`` collects the consolidated metadata of a product: every group (with its
``.zattrs``), every array's ``.zarray`` (dtype, compressor, fill value, chunks) and ``.zattrs``
(``_ARRAY_DIMENSIONS`` first, then the CF and EOPF attributes). Arrays are declared at their
*real* size and chunking; a per-dimension ``Resize`` rule shrinks shapes and the chunks shrink in
proportion, so the chunk *pattern* (e.g. 6 x 6 chunks per S2 band) stays the real one. Values
come from a product-specific function giving *physical* values; they are encoded here with the
array's own CF attributes (``scale_factor``/``add_offset``), so that xarray decodes them back to
plausible numbers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import zarr

#: (dimension name, real size) -> replica size
Resize = Callable[[str, int], int]
#: (array path, .zarray, .zattrs, shape) -> physical values, or stored values for non-numeric arrays
Values = Callable[[str, dict[str, Any], dict[str, Any]], np.ndarray]
#: The compressor of every chunked EOPF array (Blosc zstd level 3, bit shuffle).
BLOSC_ZSTD = {"blocksize": 0, "clevel": 3, "cname": "zstd", "id": "blosc", "shuffle": 2}


def real_size(dim: str, n: int) -> int:
    """The identity ``Resize``: every dimension keeps its real size."""
    del dim
    return n


class Hierarchy:
    """The consolidated metadata (``.zmetadata``'s ``metadata`` mapping) of one product."""

    def __init__(self, resize: Resize = real_size, root_attrs: dict[str, Any] | None = None):
        self.resize = resize
        self.meta: dict[str, Any] = {".zgroup": {"zarr_format": 2}, ".zattrs": root_attrs or {}}

    def group(self, path: str, attrs: dict[str, Any] | None = None) -> None:
        """Declare a group (and its parents); ``attrs`` replace the group's ``.zattrs``."""
        parts = path.strip("/").split("/")
        for depth in range(1, len(parts) + 1):
            key = "/".join(parts[:depth])
            self.meta.setdefault(f"{key}/.zgroup", {"zarr_format": 2})
            self.meta.setdefault(f"{key}/.zattrs", {})
        if attrs is not None:
            self.meta[f"{path.strip('/')}/.zattrs"] = attrs

    def size(self, dim: str, n: int) -> int:
        """The replica size of a dimension whose real size is ``n``."""
        return self.resize(dim, n)

    def array(
        self,
        path: str,
        dims: Sequence[str],
        shape: Sequence[int],
        dtype: str,
        *,
        chunks: Sequence[int] | None = None,
        fill: Any = None,
        attrs: dict[str, Any] | None = None,
        compressor: dict[str, Any] | None = BLOSC_ZSTD,
    ) -> None:
        """Declare an array at its real ``shape`` and ``chunks`` (whole array if omitted)."""
        if "/" in path:
            self.group(path.rsplit("/", 1)[0])
        real_chunks = list(shape) if chunks is None else list(chunks)
        new_shape = [self.resize(d, n) for d, n in zip(dims, shape, strict=True)]
        self.meta[f"{path}/.zarray"] = {
            "chunks": [
                c if new == old else max(1, min(new, math.ceil(c * new / old)))
                for c, old, new in zip(real_chunks, shape, new_shape, strict=True)
            ],
            "compressor": dict(compressor) if compressor else None,
            "dtype": dtype,
            "fill_value": fill,
            "filters": None,
            "order": "C",
            "shape": new_shape,
            "zarr_format": 2,
        }
        self.meta[f"{path}/.zattrs"] = {"_ARRAY_DIMENSIONS": list(dims), **(attrs or {})}


def encode(phys: np.ndarray, zarray: dict[str, Any], attrs: dict[str, Any]) -> np.ndarray:
    """Physical -> stored values with the array's scale/offset (rounded and clipped for ints)."""
    dtype = np.dtype(zarray["dtype"])
    if dtype.kind not in "iuf":
        return np.asarray(phys).astype(dtype)
    stored = (np.asarray(phys, dtype=np.float64) - attrs.get("add_offset", 0.0)) / attrs.get(
        "scale_factor", 1.0
    )
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        stored = np.clip(np.round(stored), info.min, info.max)
    else:
        stored = _quantise(stored)
    return stored.astype(dtype)


def _quantise(values: np.ndarray, bits: int = 14) -> np.ndarray:
    """Round floats to a power-of-two step (2**bits levels over their range).

    Synthetic smooth fields carry noise in every mantissa bit, which no codec compresses; real
    measurements are quantised by their instruments. Zeroed low bits keep the stores small.
    """
    finite = values[np.isfinite(values)]
    span = float(np.ptp(finite)) if finite.size else 0.0
    if span == 0.0:
        return values
    step = 2.0 ** np.floor(np.log2(span / 2**bits))
    return np.round(values / step) * step


def _dump(obj: Any) -> bytes:
    return json.dumps(
        obj, indent=4, sort_keys=True, ensure_ascii=True, separators=(",", ": ")
    ).encode()


def write_store(root: Path, meta: dict[str, Any], values: Values) -> None:
    """Write metadata files, ``.zmetadata`` and every array's chunks under ``root`` (``.zarr``)."""
    root.mkdir(parents=True, exist_ok=True)
    for key, doc in meta.items():
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(_dump(doc))
    (root / ".zmetadata").write_bytes(_dump({"metadata": meta, "zarr_consolidated_format": 1}))
    store = zarr.storage.LocalStore(root)
    for key in sorted(meta):
        if not key.endswith(".zarray"):
            continue
        path = key[: -len("/.zarray")] if "/" in key else ""
        attrs = meta.get(f"{path}/.zattrs", {})
        array = zarr.open_array(store=store, path=path, mode="r+", zarr_format=2)
        data = values(path, meta[key], attrs)
        array[...] = np.broadcast_to(encode(data, meta[key], attrs), array.shape)


def norm_index(shape: tuple[int, ...], axis: int) -> np.ndarray:
    """Normalised coordinate (0..1, first to last index) along ``axis``, broadcastable to shape."""
    n = shape[axis]
    values = np.linspace(0.0, 1.0, n) if n > 1 else np.array([0.5])
    view = [1] * len(shape)
    view[axis] = n
    return values.reshape(view)


def smooth(shape: tuple[int, ...], seed: tuple[int, ...], lo: float, hi: float) -> np.ndarray:
    """A smooth field between ``lo`` and ``hi`` over the last two axes, repeated over the others."""
    if len(shape) < 2:
        rng = np.random.default_rng(seed)
        return lo + (hi - lo) * rng.random(shape)
    rng = np.random.default_rng(seed)
    ny, nx = shape[-2], shape[-1]
    v, u = np.linspace(0, 1, ny)[:, None], np.linspace(0, 1, nx)[None, :]
    field = np.zeros((ny, nx))
    for k in range(4):
        fx, fy, ph = rng.uniform(0.3, 2.5), rng.uniform(0.3, 2.5), rng.uniform(0, 2 * np.pi)
        field += np.sin(2 * np.pi * (fx * u + fy * v) + ph) / (k + 1)
    field = (field - field.min()) / max(np.ptp(field), 1e-9)
    return np.broadcast_to(lo + (hi - lo) * field, shape)


def quad_lonlat(
    corners: list[tuple[float, float]], row: np.ndarray, col: np.ndarray, bow: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat inside a swath quad (corners: first row first col, first row last col, last row
    last col, last row first col) at normalised (row, col), with a cross-track ``bow`` (degrees of
    latitude at mid-swath, zero at the edges) that makes the grid curved as a real swath is."""
    (x00, y00), (x01, y01), (x11, y11), (x10, y10) = corners
    lon = (1 - row) * ((1 - col) * x00 + col * x01) + row * ((1 - col) * x10 + col * x11)
    lat = (1 - row) * ((1 - col) * y00 + col * y01) + row * ((1 - col) * y10 + col * y11)
    return lon, lat + bow * (1 - 4 * (col - 0.5) ** 2)
