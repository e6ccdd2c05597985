"""Build a zarr v2 store with real chunk data from a real consolidated ``.zmetadata`` template.

The template keeps every group, array name, dtype, compressor, fill value and attribute; only
shapes shrink (by a per-dimension rule) and chunks shrink in proportion, so the chunk *pattern*
(e.g. 6 x 6 chunks per S2 band) stays the real one. Values come from a product-specific
function giving *physical* values; they are encoded here with the array's own CF attributes
(``scale_factor``/``add_offset``), so that xarray decodes them back to plausible numbers.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from xstac_access.testing.replica import _stac

#: (dimension name, real size) -> replica size
Resize = Callable[[str, int], int]
#: (array path, .zarray, .zattrs, shape) -> physical values, or stored values for non-numeric arrays
Values = Callable[[str, dict[str, Any], dict[str, Any]], np.ndarray]


def load(name: str) -> dict[str, Any]:
    """The ``metadata`` mapping of a template ``.zmetadata`` (a fresh copy)."""
    return _stac.template(name)["metadata"]


def scaled(meta: dict[str, Any], resize: Resize) -> dict[str, Any]:
    """A copy of ``meta`` with shapes resized per dimension and chunks shrunk in proportion."""
    out = copy.deepcopy(meta)
    for key, zarray in out.items():
        if not key.endswith(".zarray"):
            continue
        attrs = out.get(key[: -len(".zarray")] + ".zattrs", {})
        dims = attrs.get("_ARRAY_DIMENSIONS", [])
        old_shape = zarray["shape"]
        new_shape = (
            [resize(d, n) for d, n in zip(dims, old_shape, strict=False)]
            if len(dims) == len(old_shape)
            else old_shape
        )
        zarray["chunks"] = [
            c if n == old else max(1, min(new, math.ceil(c * new / old)))
            for c, n, old, new in zip(
                zarray["chunks"], new_shape, old_shape, new_shape, strict=False
            )
        ]
        zarray["shape"] = new_shape
        if "proj:shape" in attrs and "proj:transform" in attrs and len(new_shape) >= 2:
            factor = old_shape[-1] / new_shape[-1]
            t = attrs["proj:transform"]
            attrs["proj:transform"] = [t[0] * factor, t[1], t[2], t[3], t[4] * factor, *t[5:]]
            attrs["proj:shape"] = new_shape[-2:]
    return out


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
