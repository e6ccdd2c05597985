"""The levels of a GeoZarr ``multiscales`` group, in the three forms written in the wild.

A multiscales group holds no arrays of its own: each level is a child group. Opened as it is,
it would be an empty Dataset, so the reader opens one of its levels instead (the finest unless
asked otherwise). The forms:

* **layout** (zarr-conventions ``multiscales``, EOPF Explorer 2025): ``{"layout": [{"asset":
  "r10m"}, {"asset": "r20m", "derived_from": "r10m", ...}]}``; the levels no other derives
  from come first.
* **tile matrix set** (GeoZarr draft, titiler-eopf's 2025 GeoZarr): ``{"tile_matrix_set":
  {"crs": ..., "tileMatrices": [{"id": "0", "cellSize": 60, "pointOfOrigin": [x, y], ...}]},
  "tile_matrix_limits": ..., "resampling_method": ...}``; each tile matrix ``id`` is the path of
  its level, and a level's cell size and origin place its pixels when its arrays carry no
  coordinates (:func:`georeference`).
* **list of datasets** (GeoZarr 0.4, ndpyramid, OME-NGFF): ``[{"datasets": [{"path": "0"},
  ...]}]``; writers disagree on the order (GeoZarr 0.4 and ndpyramid coarsest first, OME-NGFF
  finest first), so levels are ordered by the size of their largest array.

Everything here reads metadata only (the group objects of an open store).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

import numpy as np
import xarray as xr


@dataclass(frozen=True)
class Multiscales:
    """The levels of a multiscales group, finest first, and the tile matrix of each level that
    has one (keyed by level name), with the tile matrix set's CRS."""

    levels: list[str]
    matrices: dict[str, dict[str, Any]] = field(default_factory=dict)
    crs: str | None = None


def multiscales(node: Any) -> Multiscales | None:
    """The multiscales description of zarr group ``node``, or ``None`` if it has none."""
    try:
        declared = dict(node.attrs).get("multiscales") if node is not None else None
    except AttributeError:  # an array, or no node
        return None
    if isinstance(declared, dict) and isinstance(declared.get("layout"), list):
        levels = _layout(declared["layout"])
        return Multiscales(levels) if levels else None
    if isinstance(declared, dict) and isinstance(declared.get("tile_matrix_set"), dict):
        return _tile_matrix_set(declared["tile_matrix_set"], node)
    if isinstance(declared, list):
        levels = _datasets(declared)
        return Multiscales(_finest_first(node, levels)) if levels else None
    return None


def declared_levels(attrs: Mapping[str, Any]) -> list[str]:
    """The level paths a group's attributes declare, in any of the three forms, unordered: what
    a store that cannot be listed is asked for (:mod:`._zarrdiscover`)."""
    declared = attrs.get("multiscales")
    if isinstance(declared, dict) and isinstance(declared.get("layout"), list):
        return _layout(declared["layout"])
    if isinstance(declared, dict) and isinstance(declared.get("tile_matrix_set"), dict):
        matrices = declared["tile_matrix_set"].get("tileMatrices") or []
        return [str(m["id"]) for m in matrices if isinstance(m, dict) and m.get("id") is not None]
    return _datasets(declared) if isinstance(declared, list) else []


def _datasets(declared: list[Any]) -> list[str]:
    """The paths of the first multiscale of the list-of-datasets form ("." is the group)."""
    first = next((m for m in declared if isinstance(m, dict)), {})
    paths = [d.get("path") for d in first.get("datasets") or [] if isinstance(d, dict)]
    return [str(p).strip("/") if str(p) != "." else "" for p in paths if p is not None]


def _layout(entries: list[Any]) -> list[str]:
    names = [e["asset"] for e in entries if isinstance(e, dict) and isinstance(e.get("asset"), str)]
    roots = [e["asset"] for e in entries if isinstance(e, dict) and "derived_from" not in e]
    return [*roots, *[n for n in names if n not in roots]]


def _tile_matrix_set(tms: dict[str, Any], node: Any) -> Multiscales | None:
    matrices = {
        str(m["id"]): m
        for m in tms.get("tileMatrices") or []
        if isinstance(m, dict) and m.get("id") is not None
    }
    if not matrices:
        return None

    def cell(name: str) -> float:
        size = matrices[name].get("cellSize", matrices[name].get("scaleDenominator"))
        return float(size) if isinstance(size, int | float) else float("inf")

    if all(cell(name) != float("inf") for name in matrices):
        levels = sorted(matrices, key=cell)
    else:
        levels = _finest_first(node, list(matrices))
    crs = tms.get("crs") if isinstance(tms.get("crs"), str) else None
    return Multiscales(levels, matrices, crs)


def _finest_first(node: Any, levels: list[str]) -> list[str]:
    """``levels`` ordered by the size of their largest array, largest first (stable)."""

    def size(level: str) -> int:
        try:
            group = node[level] if level else node
            return max((int(np.prod(a.shape)) for _, a in group.arrays()), default=0)
        except (KeyError, AttributeError, TypeError, ValueError):
            return 0

    return sorted(levels, key=size, reverse=True)


def georeference(ds: xr.Dataset, found: Multiscales, level: str) -> xr.Dataset:
    """``ds`` (one level) with x/y coordinates and a CRS where its arrays carry none.

    Coordinates come from its tile matrix: pixel centres from the matrix's ``pointOfOrigin``
    (the top-left corner unless ``cornerOfOrigin`` says ``bottomLeft``) and ``cellSize``. The
    CRS comes from the level's own grid mapping variable when its arrays do not name it
    (titiler-eopf's coarser levels), else from the tile matrix set's ``crs``."""
    matrix = found.matrices.get(level)
    spatial = [v for v in ds.data_vars.values() if v.ndim >= 2]
    if matrix is None or not spatial:
        return ds
    ydim, xdim = spatial[0].dims[-2:]
    origin, cell = matrix.get("pointOfOrigin"), matrix.get("cellSize")
    if xdim not in ds.coords and ydim not in ds.coords and _point(origin) and _positive(cell):
        x0, y0 = float(origin[0]), float(origin[1])
        up = -1.0 if matrix.get("cornerOfOrigin", "topLeft") == "topLeft" else 1.0
        ds = ds.assign_coords(
            {
                xdim: x0 + (np.arange(ds.sizes[xdim]) + 0.5) * float(cell),
                ydim: y0 + up * (np.arange(ds.sizes[ydim]) + 0.5) * float(cell),
            }
        )
    import rioxarray  # noqa: F401  (registers .rio)

    if ds.rio.crs is not None:
        return ds
    mapping = _grid_mapping(ds)
    if mapping is not None:  # the level has one, but its arrays do not name it
        ds = ds.set_coords(mapping)
        for variable in ds.data_vars.values():
            variable.encoding.setdefault("grid_mapping", mapping)
        if ds.rio.crs is not None:
            return ds
    if found.crs:
        from pyproj import CRS

        ds = ds.rio.write_crs(CRS.from_user_input(found.crs).to_wkt())
    return ds


def _grid_mapping(ds: xr.Dataset) -> str | None:
    """The level's grid mapping variable: the one its ``grid_mapping`` attribute names, else one
    holding a CF ``crs_wkt`` or ``spatial_ref``."""
    named = ds.attrs.get("grid_mapping")
    if isinstance(named, str) and named in ds.variables:
        return named
    found = [n for n, v in ds.variables.items() if {"crs_wkt", "spatial_ref"} & set(v.attrs)]
    return str(found[0]) if len(found) == 1 else None


def _point(value: Any) -> TypeGuard[list[float]]:
    """Two finite numbers (an x, y position)."""
    return isinstance(value, list) and len(value) == 2 and all(_finite(v) for v in value)


def _positive(value: Any) -> TypeGuard[float]:
    return _finite(value) and value > 0


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
