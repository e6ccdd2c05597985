"""The geometry of swath gridding: where each target cell lies in the swath, computed once.

:func:`build_lookup` turns 2-D latitude/longitude into a :class:`SwathLookup` (per target cell:
the source triangle and its barycentric weights, or for ``"mean"`` the target cell of every
source pixel), which :func:`xstac_access.eo.grid.grid` gathers every variable through. See that
module for the methods, the coverage, the antimeridian and the target grid.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import dask
import numpy as np
import pyproj
import rioxarray  # noqa: F401  (registers the .rio accessor the result is written with)
import xarray as xr
from affine import Affine

from ..errors import GeolocationNotFoundError, GridError, GridTooLargeError
from . import _odcgeo, _parallel
from . import _raster_kernels as _rk

if TYPE_CHECKING:
    from odc.geo.geobox import GeoBox

Method = Literal["linear", "nearest", "mean"]
METHODS = ("linear", "nearest", "mean")
MAX_CELLS = 2_000_000_000
_LAT_NAMES = ("latitude", "lat")
_LON_NAMES = ("longitude", "lon")
_WGS84 = pyproj.CRS.from_epsg(4326)


@dataclass(frozen=True, eq=False, repr=False)
class SwathLookup:
    """The geometry of one swath on one target grid, reusable for any variable on that swath.

    ``kind`` is ``"triangles"`` (methods linear and nearest: ``triangle`` holds per target cell
    the id of the source triangle, -1 outside the swath, and ``weights`` (y, x, 2) the
    barycentric weights of its second and third vertex; see :mod:`._raster_kernels` for the id
    layout, whose column field is ``jbits`` wide) or ``"bins"``
    (method mean: ``cell`` holds per source pixel its flat target cell, -1 outside the grid, and
    ``nearest`` per target cell the flat source index of the pixel nearest its centre, -1 none).
    ``geobox`` is the odc-geo GeoBox the grid was given as, if it was: the result then carries
    that grid's coordinates as odc-geo writes them (see :mod:`._odcgeo`).
    """

    kind: Literal["triangles", "bins"]
    crs: pyproj.CRS
    transform: Affine
    shape: tuple[int, int]
    source_shape: tuple[int, int]
    triangle: np.ndarray | None = None
    weights: np.ndarray | None = None
    cell: np.ndarray | None = None
    nearest: np.ndarray | None = None
    jbits: int = 0
    geobox: GeoBox | None = None
    token: str = field(default_factory=lambda: uuid.uuid4().hex, init=False)
    _windows: dict[tuple[int, int], np.ndarray] = field(default_factory=dict, init=False)

    def __repr__(self) -> str:
        return (
            f"<SwathLookup {self.kind} {self.source_shape} -> {self.shape} "
            f"res={self.resolution} crs={self.crs.to_string()}>"
        )

    @property
    def resolution(self) -> tuple[float, float]:
        """(xres, yres), both positive."""
        return self.transform.a, -self.transform.e

    @property
    def layout(self) -> tuple[int, int, int]:
        """(jbits, source columns, target columns): what the kernels need to decode indices."""
        return self.jbits, self.source_shape[1], self.shape[1]

    @property
    def x(self) -> np.ndarray:
        """Cell-centre x coordinates, ascending."""
        return self.transform.c + (np.arange(self.shape[1]) + 0.5) * self.transform.a

    @property
    def y(self) -> np.ndarray:
        """Cell-centre y coordinates, descending."""
        return self.transform.f + (np.arange(self.shape[0]) + 0.5) * self.transform.e

    @property
    def coverage(self) -> np.ndarray:
        """True where a target cell lies inside the swath (has a source triangle or pixel)."""
        table = self.triangle if self.kind == "triangles" else self.nearest
        assert table is not None  # each kind has its tables (build_lookup)
        return np.greater_equal(table, 0)

    def windows(self, tile: tuple[int, int]) -> np.ndarray:
        """Per output tile of ``tile`` cells, the source window (r0, r1, c0, c1) it reads.

        Shape (tiles in y, tiles in x, 4); ``r1 == -1`` marks a tile outside the swath.
        """
        if tile not in self._windows:
            nty, ntx = -(-self.shape[0] // tile[0]), -(-self.shape[1] // tile[1])
            win = np.empty((nty, ntx, 4), dtype=np.int64)
            win[..., ::2] = np.iinfo(np.int64).max
            win[..., 1::2] = -1
            if self.kind == "triangles":
                _rk.triangle_windows(self.triangle, self.jbits, *tile, win)
            else:
                _rk.bin_windows(self.cell, self.shape[1], *tile, win)
            self._windows[tile] = win
        return self._windows[tile]

    def parts(self, ys: slice, xs: slice, window: tuple[int, int, int, int]) -> dict[str, Any]:
        """The pieces of the table one output tile (``ys``, ``xs``) needs, given its window."""
        if self.kind == "triangles":
            assert self.triangle is not None and self.weights is not None
            return {"triangle": self.triangle[ys, xs], "weights": self.weights[ys, xs]}
        assert self.cell is not None and self.nearest is not None
        r0, r1, c0, c1 = window
        return {"cell": self.cell[r0:r1, c0:c1], "nearest": self.nearest[ys, xs]}


def build_lookup(
    lat: Any,
    lon: Any,
    resolution: float | Sequence[float] | None = None,
    crs: Any = None,
    bbox: Sequence[float] | None = None,
    *,
    method: Method = "linear",
    max_distance: float | None = None,
    geobox: GeoBox | None = None,
) -> SwathLookup:
    """The :class:`SwathLookup` of a swath on a target grid (arguments as for :func:`grid`).

    ``lat``/``lon`` are 2-D (rows, cols) arrays: numpy, dask (computed here) or DataArrays.
    Only the geometry is computed, so the table serves every variable sharing this geolocation.
    """
    check_method(method)
    if geobox is not None:
        if not (resolution is None and crs is None and bbox is None):
            raise GridError(
                "a GeoBox (geobox= or like=) fixes the CRS, resolution and extent at once: "
                "drop resolution=, crs= and bbox=, or drop the GeoBox"
            )
        target, transform, shape = _odcgeo.target_grid(geobox)
    else:
        xres, yres = _resolution(resolution)
        target = pyproj.CRS.from_user_input("EPSG:4326" if crs is None else crs)
    if max_distance is not None and not max_distance > 0:
        raise GridError(f"max_distance must be positive (target CRS units), got {max_distance!r}")
    if max_distance is not None and method == "mean":
        raise GridError(
            "max_distance applies to the triangle methods 'linear' and 'nearest', "
            "not to 'mean' (which only bins source pixel centres)"
        )
    lat, lon = _load_geolocation(lat, lon)
    if geobox is not None:
        bounds = (transform.c, transform.f + shape[0] * transform.e,
                  transform.c + shape[1] * transform.a, transform.f)  # fmt: skip
        x, y, _ = _project(lat, lon, target, bounds)
        _check_size(shape, bounds, x.size)
    else:
        x, y, extent = _project(lat, lon, target, bbox)
        transform, shape = _grid_extent(x, y, xres, yres, bbox, extent)
    xres, yres = transform.a, -transform.e
    common: dict[str, Any] = {"crs": target, "transform": transform, "shape": shape}
    common["geobox"] = geobox
    common["source_shape"] = lat.shape
    if method == "mean":
        cell = np.full(lat.shape, -1, dtype=np.int32)
        nearest = np.full(shape, -1, dtype=np.int32)
        _parallel.bin_pixels(x, y, transform.c, transform.f, xres, yres, cell, nearest)
        return SwathLookup("bins", cell=cell, nearest=nearest, **common)
    ibits, jbits = ((n - 2).bit_length() for n in lat.shape)
    triangle = np.empty(shape, dtype=np.int32 if ibits + jbits + 2 < 32 else np.int64)
    weights = np.empty((*shape, 2), dtype=np.float32)
    origin, edge2 = (transform.c, transform.f), (max_distance or 0.0) ** 2
    _parallel.rasterise_triangles(x, y, jbits, *origin, xres, yres, edge2, triangle, weights)
    return SwathLookup("triangles", triangle=triangle, weights=weights, jbits=jbits, **common)


def find_geolocation(obj: xr.Dataset | xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
    """The 2-D latitude and longitude of a swath, from coordinates or data variables.

    Looked for by name (latitude/lat, longitude/lon, any case) and then by ``standard_name``.
    """
    candidates = dict(obj.coords)
    if isinstance(obj, xr.Dataset):
        candidates.update(obj.data_vars)
    lat = _find(candidates, _LAT_NAMES, "latitude")
    lon = _find(candidates, _LON_NAMES, "longitude")
    if lat is None or lon is None:
        have = ", ".join(f"{n}{tuple(v.dims)}" for n, v in candidates.items()) or "nothing"
        raise GeolocationNotFoundError(
            "no 2-D latitude/longitude to grid with: looked for coordinates or data variables "
            f"named {'/'.join(_LAT_NAMES)} and {'/'.join(_LON_NAMES)} (or with standard_name "
            f"latitude/longitude) on two dimensions; the object has: {have}"
        )
    if lat.dims != lon.dims:
        raise GeolocationNotFoundError(
            f"latitude {lat.name!r} is on {lat.dims} but longitude "
            f"{lon.name!r} on {lon.dims}: they must share dimensions"
        )
    return lat, lon


def _find(
    candidates: dict[Hashable, xr.DataArray], names: Sequence[str], standard_name: str
) -> xr.DataArray | None:
    two_d = {n: v for n, v in candidates.items() if v.ndim == 2}
    by_name = [v for n, v in two_d.items() if str(n).lower() in names]
    by_standard = [v for v in two_d.values() if v.attrs.get("standard_name") == standard_name]
    found = by_name + by_standard
    return found[0] if found else None


def check_method(method: str) -> None:
    if method not in METHODS:
        raise GridError(f"method must be one of {', '.join(METHODS)}; got {method!r}")


def _resolution(resolution: Any) -> tuple[float, float]:
    if resolution is None:
        raise GridError(
            "resolution is required (target CRS units, e.g. 0.01 for EPSG:4326 "
            "degrees or 300 for metres), or pass lookup= from build_lookup()"
        )
    res = np.broadcast_to(np.asarray(resolution, dtype=float), (2,))
    if not (np.all(np.isfinite(res)) and np.all(res > 0)):
        raise GridError(
            f"resolution must be positive, one number or (xres, yres); got {resolution!r}"
        )
    return float(res[0]), float(res[1])


def _load_geolocation(lat: Any, lon: Any) -> tuple[np.ndarray, np.ndarray]:
    lat, lon = (v.data if isinstance(v, xr.DataArray) else v for v in (lat, lon))
    lat, lon = dask.compute(lat, lon)
    lat = np.ascontiguousarray(lat, dtype=np.float64)
    lon = np.ascontiguousarray(lon, dtype=np.float64)
    if lat.ndim != 2 or lat.shape != lon.shape or min(lat.shape) < 2:
        raise GridError(
            f"latitude and longitude must be 2-D, of one shape, at least 2 x 2; "
            f"got {lat.shape} and {lon.shape}"
        )
    return lat, lon


def _project(
    lat: np.ndarray, lon: np.ndarray, target: pyproj.CRS, bbox: Sequence[float] | None
) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float, float] | None]:
    """Swath coordinates in the target CRS, geographic longitudes unwrapped to one range, and
    their finite extent where finding the range needed it (else None).

    Longitudes are brought within 180 degrees of the bbox centre or, without a bbox, of the
    swath's circular mean and then shifted so that the western edge lies in [-180, 180).
    """
    if target != _WGS84:
        transformer = pyproj.Transformer.from_crs(_WGS84, target, always_xy=True)
        lon, lat = transformer.transform(lon, lat)
    if not target.is_geographic:
        return lon, lat, None
    centre = (bbox[0] + bbox[2]) / 2 if bbox is not None else _circular_mean(lon)
    extent = _parallel.finite_extent(lon, lat)
    x = lon  # already continuous around the centre: no copy
    if not (centre - 180.0 <= extent[0] and extent[1] < centre + 180.0):
        x = lon - (centre - 180.0)
        np.mod(x, 360.0, out=x)
        x += centre - 180.0
        extent = _parallel.finite_extent(x, lat)
    if bbox is None and extent[0] < -180.0:
        x = x + 360.0  # the extent shifts exactly: adding a constant keeps the extreme points
        extent = (extent[0] + 360.0, extent[1] + 360.0, extent[2], extent[3])
    return x, lat, extent


def _circular_mean(lon: np.ndarray) -> float:
    step = max(1, int(math.sqrt(lon.size / 1e5)))
    sample = np.radians(lon[::step, ::step])
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        raise GridError("the swath has no finite latitude/longitude to grid")
    return math.degrees(math.atan2(np.sin(sample).mean(), np.cos(sample).mean()))


def _grid_extent(
    x: np.ndarray,
    y: np.ndarray,
    xres: float,
    yres: float,
    bbox: Sequence[float] | None,
    extent: tuple[float, float, float, float] | None = None,
) -> tuple[Affine, tuple[int, int]]:
    if bbox is None:
        xmin, xmax, ymin, ymax = extent or _parallel.finite_extent(x, y)
        if xmin > xmax:
            raise GridError("the swath has no finite latitude/longitude to grid")
        xmin, ymin = math.floor(xmin / xres) * xres, math.floor(ymin / yres) * yres
        xmax = max(math.ceil(xmax / xres) * xres, xmin + xres)
        ymax = max(math.ceil(ymax / yres) * yres, ymin + yres)
    else:
        xmin, ymin, xmax, ymax = (float(v) for v in bbox)
        if not (xmax > xmin and ymax > ymin):
            raise GridError(f"bbox must be (xmin, ymin, xmax, ymax) with max > min; got {bbox}")
    nx = max(1, math.ceil((xmax - xmin) / xres - 1e-9))
    ny = max(1, math.ceil((ymax - ymin) / yres - 1e-9))
    _check_size((ny, nx), (xmin, ymin, xmax, ymax), x.size)
    return Affine(xres, 0.0, xmin, 0.0, -yres, ymax), (ny, nx)


def _check_size(shape: tuple[int, int], bounds: Sequence[float], pixels: int) -> None:
    """Refuse a target grid of absurdly many cells, suggesting the swath's own pixel spacing."""
    ny, nx = shape
    if nx * ny > MAX_CELLS:
        xmin, ymin, xmax, ymax = bounds
        suggested = math.sqrt((xmax - xmin) * (ymax - ymin) / pixels)
        raise GridTooLargeError(
            f"the target grid would be {ny} x {nx} = {nx * ny:.3g} cells (limit {MAX_CELLS:.0e}) "
            f"for a swath of {pixels} pixels: use a coarser resolution, e.g. {suggested:.3g} "
            "(about the swath's own pixel spacing), or a smaller bbox"
        )
