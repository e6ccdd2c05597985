"""B5's baselines: what a user would grid a swath with instead of ``.eo.grid``.

Each baseline takes the swath (``lat``, ``lon``, a float ``field`` and a uint8 ``flags`` band)
and the target grid (``Grid``: EPSG:4326, top-left origin, square cells) and returns the two
gridded bands on that grid, NaN (field) where it filled nothing; the flags are gridded the way
that baseline keeps categories intact when it has one (nearest, maximum weight), so every
baseline does the same work as ``.eo.grid`` with two variables. A baseline whose package is not
installed raises :class:`Unavailable`, which B5 reports instead of a row.

* ``ewa``: pyresample's elliptical weighted averaging (``ll2cr`` + ``fornav``, the whole swath
  as one scan), flags with ``maximum_weight_mode``.
* ``kd_nearest`` / ``kd_bilinear``: pyresample's kd-tree nearest neighbour and bilinear
  resamplers (radius of influence: two cells), small sizes only (bilinear takes minutes).
* ``xcube``: xcube-resampling's ``rectify_dataset`` (triangular interpolation, flags nearest),
  computed with dask's threads.
* ``gdal``: GDAL's geolocation-array warp (``rasterio.warp.reproject`` with
  ``src_geoloc_array``, given pixel corners: see ``_corners``), bilinear for the field and
  nearest for the flags, on every core.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from affine import Affine


class Unavailable(RuntimeError):
    """The baseline's package is not installed here."""


@dataclass(frozen=True)
class Grid:
    """A regular EPSG:4326 grid: left and top edges, cell size, (rows, cols)."""

    x0: float
    y0: float
    res: float
    shape: tuple[int, int]

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of the outer cell edges."""
        ny, nx = self.shape
        return self.x0, self.y0 - ny * self.res, self.x0 + nx * self.res, self.y0

    @property
    def transform(self) -> Affine:
        return Affine(self.res, 0.0, self.x0, 0.0, -self.res, self.y0)


Bands = tuple[np.ndarray, np.ndarray]


def _need(*modules: str) -> None:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise Unavailable(f"{', '.join(missing)} not installed (pip install '.[bench]')")


def _area(grid: Grid) -> Any:
    from pyresample.geometry import AreaDefinition

    ny, nx = grid.shape
    return AreaDefinition("b5", "b5", "b5", "EPSG:4326", nx, ny, grid.extent)


def ewa(
    lat: np.ndarray, lon: np.ndarray, field: np.ndarray, flags: np.ndarray, grid: Grid
) -> Bands:
    _need("pyresample")
    from pyresample.ewa import fornav, ll2cr
    from pyresample.geometry import SwathDefinition

    area = _area(grid)
    _, cols, rows = ll2cr(SwathDefinition(lons=lon, lats=lat), area)
    _, out = fornav(cols, rows, area, field, rows_per_scan=None)
    # fornav takes floats (and int8) only: the flags go through as float32, back to uint8
    _, flg = fornav(
        cols, rows, area, flags.astype(np.float32), rows_per_scan=None, maximum_weight_mode=True
    )
    flg = np.where(np.isfinite(flg), flg, 255).astype(np.uint8)
    return out, flg


def _kd(resampler: str) -> Callable[..., Bands]:
    def run(
        lat: np.ndarray, lon: np.ndarray, field: np.ndarray, flags: np.ndarray, grid: Grid
    ) -> Bands:
        _need("pyresample")
        from pyresample import kd_tree
        from pyresample.bilinear import NumpyBilinearResampler
        from pyresample.geometry import SwathDefinition

        area, swath = _area(grid), SwathDefinition(lons=lon, lats=lat)
        radius = 2 * grid.res * 111_320.0
        flg = kd_tree.resample_nearest(swath, flags, area, radius, fill_value=255)
        if resampler == "nearest":
            out = kd_tree.resample_nearest(swath, field, area, radius, fill_value=np.nan)
        else:
            out = NumpyBilinearResampler(swath, area, radius).resample(field, fill_value=np.nan)
        return np.asarray(out, dtype=field.dtype), flg

    return run


kd_nearest = _kd("nearest")
kd_bilinear = _kd("bilinear")


def xcube(
    lat: np.ndarray, lon: np.ndarray, field: np.ndarray, flags: np.ndarray, grid: Grid
) -> Bands:
    _need("xcube_resampling")
    import xarray as xr
    from xcube_resampling.gridmapping import GridMapping
    from xcube_resampling.rectify import rectify_dataset

    dims = ("y", "x")
    source = xr.Dataset(
        {"field": (dims, field), "flags": (dims, flags)},
        coords={"lat": (dims, lat), "lon": (dims, lon)},
    )
    ny, nx = grid.shape
    xmin, ymin, _, _ = grid.extent
    centre = (xmin + grid.res / 2, ymin + grid.res / 2)  # xcube's xy_min is a cell centre
    target = GridMapping.regular((nx, ny), centre, grid.res, "EPSG:4326", tile_size=1024)
    out = rectify_dataset(
        source, target_gm=target, interp_methods={"field": "triangular", "flags": "nearest"}
    )
    out = out.compute()
    return out["field"].values, out["flags"].values


def _corners(centres: np.ndarray) -> np.ndarray:
    """The top-left corner of each pixel (the mean of the four centres around it, extrapolated
    linearly past the first row and column): GDAL takes a geolocation array's values as pixel
    corners, so handing it the centres shifts everything by half a pixel (RMSE x 100)."""
    c = np.concatenate([2 * centres[:1] - centres[1:2], centres], axis=0)
    c = np.concatenate([2 * c[:, :1] - c[:, 1:2], c], axis=1)
    return 0.25 * (c[:-1, :-1] + c[:-1, 1:] + c[1:, :-1] + c[1:, 1:])


def gdal(
    lat: np.ndarray, lon: np.ndarray, field: np.ndarray, flags: np.ndarray, grid: Grid
) -> Bands:
    from rasterio.crs import CRS
    from rasterio.warp import Resampling, reproject

    common = {
        "src_crs": CRS.from_epsg(4326),
        "src_geoloc_array": np.stack([_corners(lon), _corners(lat)]),
        "dst_transform": grid.transform,
        "dst_crs": CRS.from_epsg(4326),
        "num_threads": os.cpu_count() or 1,
    }
    out = np.full(grid.shape, np.nan, dtype=field.dtype)
    reproject(
        field, out, src_nodata=np.nan, dst_nodata=np.nan, resampling=Resampling.bilinear, **common
    )
    flg = np.full(grid.shape, 255, dtype=np.uint8)
    reproject(flags, flg, dst_nodata=255, resampling=Resampling.nearest, **common)
    return out, flg


BASELINES: dict[str, tuple[str, Callable[..., Bands]]] = {
    "ewa": ("pyresample EWA (ll2cr + fornav)", ewa),
    "kd_nearest": ("pyresample kd-tree nearest", kd_nearest),
    "kd_bilinear": ("pyresample bilinear", kd_bilinear),
    "xcube": ("xcube-resampling rectify_dataset (triangular)", xcube),
    "gdal": ("GDAL geolocation-array warp (bilinear)", gdal),
}
