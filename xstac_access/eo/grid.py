"""Swath data with 2-D latitude/longitude onto a regular grid: ``ds.eo.grid(resolution=0.01)``.

Satellite swaths (Sentinel-1 OCN, Sentinel-3 OLCI, ...) come on (rows, cols) with a latitude and
a longitude per pixel. Users grid them with ``scipy.interpolate.griddata``, which triangulates
millions of points from scratch, takes minutes, and fills the whole convex hull, inventing data
in the gaps. The swath already is a mesh: its neighbouring pixels form quads. So this module
splits each quad into two triangles and rasterises them in one compiled pass (see
:mod:`._raster_kernels`), which is linear interpolation on the swath's own triangles, hundreds of
times faster, and never fills a cell outside the swath.

Geometry and values are separate steps. :func:`build_lookup` computes a :class:`SwathLookup`
(per target cell: the source triangle and its weights, or for ``"mean"`` the target cell of every
source pixel) from latitude/longitude only; :func:`grid` then gathers every variable through it,
and accepts a ready table (``lookup=``) to grid more variables or products with the same
geolocation without redoing the geometry.

Behaviour worth knowing:

* **Methods.** ``"linear"``: barycentric interpolation in the swath triangle that holds the cell
  centre. ``"nearest"``: the vertex of that triangle with the largest weight. ``"mean"`` (for
  targets coarser than the source): the mean of the non-NaN source pixels whose centres fall into
  the cell; a NaN pixel does not blank a cell that has valid ones. Integer, boolean, datetime
  and flag variables (attributes ``flag_values``/``flag_masks``/``flag_meanings``) are never
  averaged: with ``"linear"`` they take the nearest vertex, with ``"mean"`` the source pixel whose
  centre lies nearest the cell centre. Their dtype is kept; cells outside the swath get the
  variable's ``_FillValue`` (attribute or encoding) or, failing one, the dtype's minimum
  (signed) or maximum (unsigned), written to the ``_FillValue`` attribute; booleans get False.
* **Coverage.** The result has a boolean ``coverage`` coordinate on (y, x): True where the cell
  lies inside the swath (for ``"mean"``: where at least one source pixel centre falls). A NaN
  there is missing data; a NaN where coverage is False is outside the swath. NaN data reaches the
  cells whose value it carries weight in; NaN geolocation drops only the triangles touching it.
* **max_distance** (target CRS units): triangles with an edge longer than this are not filled,
  which keeps gaps between bursts or scans open.
* **Coordinates.** 1-D ``x`` (ascending) and ``y`` (descending) cell centres, CRS and transform
  written the rioxarray way (``.rio.crs``, ``.rio.transform()``). Source latitude/longitude are
  taken as WGS 84 and transformed with pyproj to projected CRSs (e.g. EPSG:3413 near the poles).
  In a geographic CRS longitudes are unwrapped to one continuous range: a swath crossing the
  antimeridian is gridded there in one piece. Without a bbox its western edge stays in
  [-180, 180) and ``x`` runs on past 180 (e.g. 175 ... 185); with a bbox, ``x`` follows the bbox
  (e.g. -185 ... -175). ``((x + 180) % 360) - 180`` wraps it back, at the price of a jump.
* **Target grid.** ``resolution`` in CRS units, one number or (xres, yres). ``bbox`` =
  (xmin, ymin, xmax, ymax) in the target CRS: the grid starts at xmin/ymax and covers the box in
  whole cells. Without it the swath's extent is snapped outwards to multiples of the resolution.
* **Next to odc-stac.** ``geobox=`` (an ``odc.geo.geobox.GeoBox``) fixes CRS, resolution and
  extent at once; ``like=`` takes the GeoBox of a Dataset or DataArray (a cube from
  ``xstac_access.load`` or ``odc.stac.load``, or anything with a CRS and 1-D x/y that odc-geo
  reads). The result then carries odc-geo's own coordinates: ``y``/``x`` in a projected CRS,
  ``latitude``/``longitude`` in a geographic one, and odc-geo's ``spatial_ref``; so
  ``xr.align(gridded, cube, join="exact")`` and ``xr.merge`` work with a cube loaded on the same
  GeoBox. With ``like=``, the dimension names, coordinates and CRS coordinate are ``like``'s
  own, so the result aligns with it too when rioxarray wrote them. Rotated or sheared
  GeoBoxes, and ones whose axes run west or north, are refused.
* **Dimensions.** Variables on both swath dimensions are gridded (other dimensions, such as
  ``band`` or ``time``, are kept and each slice gridded); variables on neither are kept as they
  are; variables and coordinates on one swath dimension only (per-row times...) are dropped, as
  are latitude and longitude themselves.
* **Dask.** Building the table computes latitude/longitude only. A dask-backed variable comes back
  as a dask array whose blocks are output tiles (``chunks``, default the source chunk size within
  256 ... 4096), each reading only the source window its cells need. Nothing else is computed.
* **Cores.** The table and numpy variables are computed on as many threads as numba's thread
  count (``NUMBA_NUM_THREADS``, or ``numba.set_num_threads(n)`` on the calling thread), each on
  its own rows of the grid; the result is the same, bit for bit, whatever their number. Grids
  under about 260,000 cells stay on the calling thread. Dask tiles are gathered one per dask
  thread, each on that thread alone.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any

import dask
import dask.array as da
import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor the result is written with)
import xarray as xr
from dask.highlevelgraph import HighLevelGraph

from ..errors import GeolocationNotFoundError, GridError, GridTooLargeError
from . import _odcgeo, _parallel
from ._swath_lookup import Method, SwathLookup, build_lookup, check_method, find_geolocation

if TYPE_CHECKING:
    from odc.geo.geobox import GeoBox

__all__ = [
    "GeolocationNotFoundError",
    "GridError",
    "GridTooLargeError",
    "Method",
    "SwathLookup",
    "build_lookup",
    "find_geolocation",
    "grid",
]

_FLAG_ATTRS = ("flag_values", "flag_masks", "flag_meanings")
# Encoding that describes values (packing, fill, time units), not the source's chunks or files.
_ENCODING_KEPT = frozenset(
    ["dtype", "_FillValue", "missing_value", "scale_factor", "add_offset", "units", "calendar"]
)


def grid(
    obj: xr.Dataset | xr.DataArray,
    resolution: float | Sequence[float] | None = None,
    crs: Any = None,
    bbox: Sequence[float] | None = None,
    method: Method = "linear",
    max_distance: float | None = None,
    lookup: SwathLookup | None = None,
    *,
    chunks: int | tuple[int, int] | None = None,
    geobox: GeoBox | None = None,
    like: xr.Dataset | xr.DataArray | None = None,
) -> xr.Dataset | xr.DataArray:
    """Grid a swath Dataset or DataArray (2-D latitude/longitude) onto a regular grid.

    ``resolution`` is in target CRS units; ``crs`` defaults to EPSG:4326; ``bbox`` (xmin, ymin,
    xmax, ymax, target CRS) defaults to the swath's extent snapped to the resolution. Or the
    grid is given whole: ``geobox`` (an ``odc.geo.geobox.GeoBox``) or ``like`` (a Dataset or
    DataArray whose grid odc-geo reads, such as a cube from ``xstac_access.load``), so that the
    result aligns exactly with what odc-stac loads on that grid. With ``lookup`` (from
    :func:`build_lookup`), the grid, CRS and max_distance come from the table and must not be
    passed again. ``chunks`` sets the output tile size of dask-backed variables. See the module
    docstring for methods, flags, fill values, the ``coverage`` coordinate, the antimeridian,
    GeoBoxes and dask.
    """
    check_method(method)
    lat, lon = find_geolocation(obj)
    if like is not None:
        if geobox is not None:
            raise GridError("pass geobox= or like=, not both: like= stands for its GeoBox")
        geobox = _odcgeo.geobox_of(like)
    if lookup is None:
        lookup = build_lookup(lat, lon, resolution, crs, bbox,
                              method=method, max_distance=max_distance, geobox=geobox)  # fmt: skip
    else:
        _check_reuse(lookup, lat.shape, method, resolution, crs, bbox, max_distance, geobox)
    swath = lat.dims
    tile = _tile(chunks)
    if isinstance(obj, xr.DataArray):
        out: xr.Dataset | xr.DataArray = _grid_array(obj, swath, lookup, method, tile)
    else:
        variables = {}
        for name, var in obj.data_vars.items():
            on = set(var.dims) & set(swath)
            if name in (lat.name, lon.name) or (on and on != set(swath)):
                continue
            variables[name] = _grid_array(var, swath, lookup, method, tile) if on else var
        out = xr.Dataset(variables, coords=_kept_coords(obj, swath), attrs=obj.attrs)
    out = out.assign_coords(
        y=("y", lookup.y),
        x=("x", lookup.x),
        coverage=(
            ("y", "x"),
            lookup.coverage,
            {
                "long_name": "target cell inside the swath",
                "comment": "False: outside the swath; NaN where True: missing source data",
            },
        ),
    )
    if lookup.geobox is not None:
        return _odcgeo.onto(out, lookup.geobox, like)
    out.rio.write_crs(lookup.crs, inplace=True).rio.write_transform(lookup.transform, inplace=True)
    return out.rio.write_coordinate_system(inplace=True)


def _check_reuse(table: SwathLookup, shape: tuple[int, ...], method: str, *grid_args: Any) -> None:
    if any(a is not None for a in grid_args):
        raise GridError(
            "resolution, crs, bbox, geobox, like and max_distance come from lookup=; "
            "pass either lookup or those arguments"
        )
    if table.source_shape != shape:
        raise GridError(
            f"the lookup was built for a swath of {table.source_shape}, this one is {shape}"
        )
    if (table.kind == "bins") != (method == "mean"):
        raise GridError(
            f"a {table.kind} lookup cannot grid with method={method!r}: build one "
            f"with build_lookup(..., method={method!r})"
        )


def _tile(chunks: int | tuple[int, int] | None) -> tuple[int, int] | None:
    if chunks is None:
        return None
    ty, tx = (int(c) for c in np.broadcast_to(chunks, (2,)))
    tile = (ty, tx)
    if min(tile) < 1:
        raise GridError(f"chunks must be positive; got {chunks!r}")
    return tile


def _kept_coords(obj: xr.Dataset | xr.DataArray, swath: tuple[Hashable, ...]) -> dict:
    return {n: c for n, c in obj.coords.items() if not set(c.dims) & set(swath)}


def _grid_array(
    var: xr.DataArray,
    swath: tuple[Hashable, ...],
    table: SwathLookup,
    method: str,
    tile: tuple[int, int] | None,
) -> xr.DataArray:
    """One variable on (..., rows, cols) gridded to (..., y, x) through ``table``."""
    lead = [d for d in var.dims if d not in swath]
    var = var.transpose(*lead, *swath)
    mode, fill, attrs = _how(var, method)
    data: Any = var.data  # numpy or dask
    if var.dtype.kind in "mM":
        data = data.view(np.int64)
    elif var.dtype.kind == "f" and var.dtype.itemsize < 4:  # numba has no float16 arithmetic
        data = data.astype(np.float32)
    if isinstance(data, da.Array):
        if tile is None:
            ty, tx = (min(4096, max(256, max(c))) for c in data.chunks[-2:])
            tile = (ty, tx)
        values: np.ndarray | da.Array = _lazy(data, table, mode, fill, data.dtype, tile)
    else:
        window = (0, table.source_shape[0], 0, table.source_shape[1])
        parts = table.parts(slice(None), slice(None), window)
        source = np.asarray(data)
        values = _gather(
            source, parts, window, (0, 0), table.layout, mode, fill, source.dtype, whole=True
        )
    if var.dtype.kind in "mM":
        values = values.view(var.dtype)
    out = xr.DataArray(
        values, dims=(*lead, "y", "x"), coords=_kept_coords(var, swath), name=var.name, attrs=attrs
    )
    out.encoding = {k: v for k, v in var.encoding.items() if k in _ENCODING_KEPT}
    return out


def _how(var: xr.DataArray, method: str) -> tuple[str, Any, dict]:
    """Gather mode, fill value and attributes of one variable."""
    attrs = dict(var.attrs)
    kind = var.dtype.kind
    if kind not in "biufmM":
        raise GridError(
            f"variable {var.name!r} has dtype {var.dtype}, which cannot be gridded; "
            "grid numbers (for complex data: the real and imaginary parts)"
        )
    categorical = kind in "buimM" or any(a in attrs for a in _FLAG_ATTRS)
    if method == "mean":
        mode = "mean-nearest" if categorical else "mean"
    else:
        mode = "nearest" if categorical or method == "nearest" else "linear"
    if kind in "fb":
        return mode, np.nan if kind == "f" else False, attrs
    if kind in "mM":
        return mode, np.iinfo(np.int64).min, attrs  # NaT
    fill = attrs.get("_FillValue", var.encoding.get("_FillValue"))
    if fill is None:
        info = np.iinfo(var.dtype)
        fill = info.min if kind == "i" else info.max
        attrs["_FillValue"] = var.dtype.type(fill)
    return mode, fill, attrs


def _gather(
    values: np.ndarray,
    parts: dict[str, Any],
    window: tuple[int, int, int, int],
    origin: tuple[int, int],
    layout: tuple[int, int, int],
    mode: str,
    fill: Any,
    dtype: np.dtype,
    *,
    whole: bool = False,
) -> np.ndarray:
    """One output tile (at ``origin`` in the grid) from a source ``window`` of ``values``.

    ``values`` is (..., window rows, window cols); the leading dimensions are gridded one by one.
    ``parts`` comes from :meth:`SwathLookup.parts`, ``layout`` from :attr:`SwathLookup.layout`.
    ``whole`` (the whole grid of a numpy variable) gathers on every core; dask's tiles gather on
    the one thread dask runs each on.
    """
    key = "triangle" if "triangle" in parts else "nearest"
    out = np.empty(values.shape[:-2] + parts[key].shape, dtype=dtype)
    cells = max(math.prod(out.shape[-2:]), math.prod(values.shape[-2:]))
    nthreads = _parallel.threads(cells) if whole else 1
    for idx in np.ndindex(values.shape[:-2]):
        _parallel.gather(mode, values[idx], parts, window, origin, layout, fill, out[idx], nthreads)
    return out


def _lazy(
    data: da.Array, table: SwathLookup, mode: str, fill: Any, dtype: np.dtype, tile: tuple[int, int]
) -> da.Array:
    """A dask array of output tiles, each gathering from the source blocks under its window.

    The graph is written by hand: one task per tile (and per block of the leading dimensions)
    whose inputs are the source blocks its window overlaps and that tile's part of the table,
    a task shared by every variable gridded through the same table.
    """
    windows = table.windows(tile)
    ny, nx = table.shape
    name = "grid-" + dask.base.tokenize(data.name, table.token, tile, mode, fill, dtype)
    row_starts, col_starts = (np.cumsum((0, *c)) for c in data.chunks[-2:])
    graph: dict = {}
    for lead in itertools.product(*(range(len(c)) for c in data.chunks[:-2])):
        lead_shape = tuple(data.chunks[d][b] for d, b in enumerate(lead))
        for ty, tx in itertools.product(*(range(n) for n in windows.shape[:2])):
            ys = slice(ty * tile[0], min((ty + 1) * tile[0], ny))
            xs = slice(tx * tile[1], min((tx + 1) * tile[1], nx))
            r0, r1, c0, c1 = (int(v) for v in windows[ty, tx])
            if r1 < 0:
                shape = (*lead_shape, ys.stop - ys.start, xs.stop - xs.start)
                graph[(name, *lead, ty, tx)] = (np.full, shape, fill, dtype)
                continue
            rows, cols = _overlap(row_starts, r0, r1), _overlap(col_starts, c0, c1)
            blocks = [[(data.name, *lead, i, j) for j in cols] for i in rows]
            parts = f"swath-lookup-{table.token}-{tile[0]}x{tile[1]}-{ty}-{tx}"
            graph[parts] = table.parts(ys, xs, (r0, r1, c0, c1))
            window = (r0, r1, c0, c1, int(row_starts[rows[0]]), int(col_starts[cols[0]]))
            origin = (ys.start, xs.start)
            task = (_gather_blocks, blocks, window, parts, origin, table.layout, mode, fill, dtype)
            graph[(name, *lead, ty, tx)] = task
    tiles = [
        tuple(min(t, n - s) for s in range(0, n, t)) for t, n in zip(tile, (ny, nx), strict=True)
    ]
    # dask's DaskCollection protocol declares __dask_scheduler__ a staticmethod, which its own
    # Array does not match (a function attribute): a stub mistake, not a wrong dependency.
    hlg = HighLevelGraph.from_collections(name, graph, dependencies=[data])  # type: ignore[list-item]
    return da.Array(hlg, name, chunks=(*data.chunks[:-2], *tiles), dtype=dtype)


def _overlap(starts: np.ndarray, lo: int, hi: int) -> range:
    """The blocks (with these start offsets) that overlap [lo, hi)."""
    return range(int(np.searchsorted(starts, lo, "right")) - 1, int(np.searchsorted(starts, hi)))


def _gather_blocks(
    blocks: list[list[np.ndarray]],
    window: tuple[int, ...],
    parts: dict[str, Any],
    origin: tuple[int, int],
    layout: tuple[int, int, int],
    mode: str,
    fill: Any,
    dtype: np.dtype,
) -> np.ndarray:
    """One output tile from the source blocks overlapping its window (r0, r1, c0, c1) whose
    first block starts at (window[4], window[5])."""
    r0, r1, c0, c1, br, bc = window
    values = np.block(blocks)[..., r0 - br : r1 - br, c0 - bc : c1 - bc]
    return _gather(values, parts, (r0, r1, c0, c1), origin, layout, mode, fill, dtype)
