"""B6: GCP geocoding of a 2000 x 2000 SAR-like image from a 21 x 21 GCP grid, against GDAL.

The truth is analytic, so the error is known at every pixel: a right-looking radar on a circular
sun-synchronous orbit (inclination 98.18 degrees) over a spherical, rotating Earth, imaging at
zero Doppler in the Earth-fixed frame, rows in azimuth time and columns in slant range. Lines of
constant range are then small circles skewed by the Earth's rotation, columns are spaced
non-linearly on the ground (slant-to-ground range), and the scene lies near 60 N, where
longitudes stretch: what real SAR swaths look like in (lat, lon).

Compared, computing the geolocation of every pixel centre:

- ours: ``ds.eo.geocode()`` (bicubic spline on the GCP lattice, evaluated per dask chunk), on one
  thread (the headline ratio) and on the default threaded scheduler;
- GDAL through rasterio's ``GCPTransformer``: thin-plate spline, and GDAL's polynomial of the
  order it picks for 441 GCPs, forward (pixel centre to lon/lat) like ours;
- GDAL through ``rasterio.warp.reproject`` with ``MAX_GCP_ORDER`` 1, 2, 3 and
  ``SRC_METHOD=GCP_TPS``: reprojection onto a lon/lat grid of about the image's density. It
  maps grid cells back to the image, so it warps two bands holding each pixel centre's
  (line, pixel) with bilinear resampling (exact for such linear bands), and the error is that
  of the inverse mapping.

Errors are in pixels: the lat/lon error converted through the local Jacobian of the truth
(d(lat, lon)/d(line, pixel)), reported as max and RMS over all pixels (reproject: over grid
cells landing at least one pixel inside the image). Times are medians of repeated runs; the
machines drift, so the ratios matter, not the seconds.

Run through ``benchmarks/run.py --only B6`` (or ``python -m benchmarks.b6_geocode``; ``--quick``:
500 x 500, one run); the results go to ``latest.json`` and ``RESULTS.md`` with the others.
"""

from __future__ import annotations

from typing import Any

import dask
import numpy as np
import rasterio
import xarray as xr
from affine import Affine
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS
from rasterio.transform import GCPTransformer, from_bounds
from rasterio.warp import Resampling, reproject

import xstac_access  # noqa: F401  (registers the .eo accessor)
from benchmarks import _harness as h
from benchmarks._harness import median_time

ID = "B6"
TITLE = "GCP geocoding"
CAUSES: dict[str, str] = {}
WGS84 = CRS.from_epsg(4326)
TARGETS = {"max_error_px": 0.01, "speedup_vs_gdal_tps": 5.0}

EARTH_RADIUS = 6_371_008.8  # m, mean sphere
EARTH_ROTATION = 7.2921159e-5  # rad/s
ALTITUDE = 693e3  # m
INCLINATION = np.radians(98.18)
MEAN_MOTION = 2 * np.pi / 5924.0  # rad/s, about 14.6 orbits a day
SCENE_SECONDS = 36.0  # azimuth extent: about 250 km on the ground
NEAR_RANGE, FAR_RANGE = 800e3, 1000e3  # slant range of the first and last column edge, m


SPEC = h.Spec(ID, TITLE, CAUSES)


def truth(line: np.ndarray, pixel: np.ndarray, shape: tuple[int, int]) -> tuple[Any, Any]:
    """Latitude and longitude (degrees) at image positions in GDAL's convention (corner origin)."""
    height, width = shape
    t = np.asarray(line, float) * (SCENE_SECONDS / height)
    u = np.radians(119.0) + MEAN_MOTION * t  # argument of latitude: descending near 60 N
    node = np.radians(20.0) - EARTH_ROTATION * t  # ascending node in the Earth-fixed frame
    cu, su, ci, si = np.cos(u), np.sin(u), np.cos(INCLINATION), np.sin(INCLINATION)
    cn, sn = np.cos(node), np.sin(node)
    nadir = np.stack([cn * cu - sn * ci * su, sn * cu + cn * ci * su, si * su])
    # velocity of the nadir point over the rotating Earth (d/dt of the expression above)
    du, dn = MEAN_MOTION, -EARTH_ROTATION
    velocity = np.stack(
        [
            -sn * dn * cu - cn * su * du - cn * dn * ci * su - sn * ci * cu * du,
            cn * dn * cu - sn * su * du - sn * dn * ci * su + cn * ci * cu * du,
            si * cu * du,
        ]
    )
    right = np.cross(velocity, nadir, axis=0)  # zero-Doppler direction, looking right
    right /= np.linalg.norm(right, axis=0)
    slant = NEAR_RANGE + np.asarray(pixel, float) * ((FAR_RANGE - NEAR_RANGE) / width)
    orbit = EARTH_RADIUS + ALTITUDE
    angle = np.arccos((EARTH_RADIUS**2 + orbit**2 - slant**2) / (2 * EARTH_RADIUS * orbit))
    point = np.cos(angle) * nadir + np.sin(angle) * right
    return np.degrees(np.arcsin(point[2])), np.degrees(np.arctan2(point[1], point[0]))


def pixel_error(
    line: np.ndarray, pixel: np.ndarray, lat: np.ndarray, lon: np.ndarray, shape: tuple[int, int]
) -> np.ndarray:
    """|error| in pixels of (lat, lon) claimed for (line, pixel), through the truth's Jacobian."""
    true_lat, true_lon = truth(line, pixel, shape)
    d_lat, d_lon = lat - true_lat, (lon - true_lon + 180.0) % 360.0 - 180.0
    h = 0.5
    lat_l, lon_l = (
        np.subtract(a, b) / (2 * h)
        for a, b in zip(truth(line + h, pixel, shape), truth(line - h, pixel, shape), strict=True)
    )
    lat_p, lon_p = (
        np.subtract(a, b) / (2 * h)
        for a, b in zip(truth(line, pixel + h, shape), truth(line, pixel - h, shape), strict=True)
    )
    det = lat_l * lon_p - lat_p * lon_l
    d_line = (lon_p * d_lat - lat_p * d_lon) / det
    d_pixel = (lat_l * d_lon - lon_l * d_lat) / det
    return np.hypot(d_line, d_pixel)


def summary(errors: np.ndarray) -> dict[str, float]:
    return {"max_error_px": float(errors.max()), "rms_error_px": float(np.sqrt(np.mean(errors**2)))}


def centres(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(line, pixel) of every pixel centre, GDAL's convention."""
    return np.meshgrid(np.arange(shape[0]) + 0.5, np.arange(shape[1]) + 0.5, indexing="ij")


def gcp_grid(shape: tuple[int, int], count: int) -> list[GroundControlPoint]:
    lines, pixels = np.meshgrid(
        np.linspace(0, shape[0], count), np.linspace(0, shape[1], count), indexing="ij"
    )
    lat, lon = truth(lines, pixels, shape)
    return [
        GroundControlPoint(row=r, col=c, x=x, y=y, id=str(i))
        for i, (r, c, x, y) in enumerate(
            zip(lines.ravel(), pixels.ravel(), lon.ravel(), lat.ravel(), strict=True)
        )
    ]


def image(shape: tuple[int, int], gcps: list[GroundControlPoint]) -> xr.Dataset:
    """A lazy GCP-only image as the GeoTIFF reader returns one (GCPs on ``spatial_ref``)."""
    import dask.array as da
    import rioxarray  # noqa: F401

    data = da.zeros(shape, dtype="uint16", chunks=(shape[0] // 2, shape[1] // 2))
    return xr.Dataset({"band_data": (("y", "x"), data)}).rio.write_gcps(gcps, "EPSG:4326")


def ours(shape, gcps, repeats, scheduler) -> dict[str, Any]:
    ds = image(shape, gcps)

    def run():
        out = ds.eo.geocode()
        with dask.config.set(scheduler=scheduler):
            return dask.compute(out["latitude"].data, out["longitude"].data)

    seconds, (lat, lon) = median_time(run, repeats)
    return {"seconds": seconds, **summary(pixel_error(*centres(shape), lat, lon, shape))}


def gdal_forward(shape, gcps, repeats, tps: bool) -> dict[str, Any]:
    rows, cols = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")

    def run():
        with GCPTransformer(gcps, tps=tps) as transformer:
            xs, ys = transformer.xy(rows.ravel(), cols.ravel(), offset="center")
        return np.reshape(ys, shape), np.reshape(xs, shape)

    seconds, (lat, lon) = median_time(run, repeats, warm_up=not tps)
    errors = pixel_error(rows + 0.5, cols + 0.5, lat, lon, shape)
    return {"seconds": seconds, **summary(errors)}


def target_grid(shape: tuple[int, int]) -> tuple[Affine, tuple[int, int], tuple[float, ...]]:
    """A lon/lat grid over the swath with about as many cells inside it as the image has pixels:
    its transform, (rows, cols) and bbox (west, south, east, north)."""
    rows, cols = centres(shape)
    lat, lon = truth(rows, cols, shape)
    bbox = (lon.min(), lat.min(), lon.max(), lat.max())
    edge = int(np.sqrt(shape[0] * shape[1] * 1.3))
    return from_bounds(*bbox, edge, edge), (edge, edge), bbox


def inverse_errors(line, pixel, transform, shape) -> dict[str, Any]:
    """Errors of a grid's claimed image position per cell (NaN: none), cells well inside only."""
    height, width = shape
    inside = (line > 1) & (line < height - 1) & (pixel > 1) & (pixel < width - 1)
    cell_rows, cell_cols = np.nonzero(inside)
    cell_lon, cell_lat = rasterio.transform.xy(transform, cell_rows, cell_cols)
    errors = pixel_error(
        line[inside], pixel[inside], np.asarray(cell_lat), np.asarray(cell_lon), shape
    )
    return {"cells_checked": int(inside.sum()), **summary(errors)}


def gdal_reproject(shape, gcps, repeats, options: dict[str, str]) -> dict[str, Any]:
    transform, cells, _ = target_grid(shape)
    source = np.stack(centres(shape))

    def run():
        destination = np.full((2, *cells), np.nan)
        reproject(
            source,
            destination,
            gcps=gcps,
            src_crs=WGS84,
            dst_crs=WGS84,
            dst_transform=transform,
            dst_nodata=np.nan,
            resampling=Resampling.bilinear,
            **options,
        )
        return destination

    seconds, (line, pixel) = median_time(run, repeats)
    return {"seconds": seconds, **inverse_errors(line, pixel, transform, shape)}


def ours_onto_grid(shape, gcps, repeats) -> dict[str, Any]:
    """``ds.eo.geocode().eo.grid(...)`` (linear, on one thread) onto the reproject grid."""
    transform, cells, bbox = target_grid(shape)
    rows, cols = centres(shape)
    ds = image(shape, gcps).assign(line=(("y", "x"), rows), pixel=(("y", "x"), cols))
    resolution = (transform.a, -transform.e)

    def run():
        with dask.config.set(scheduler="synchronous"):
            out = ds[["line", "pixel"]].eo.geocode().eo.grid(resolution=resolution, bbox=bbox)
            return out["line"].values, out["pixel"].values

    seconds, (line, pixel) = median_time(run, repeats)
    assert line.shape == cells
    return {"seconds": seconds, **inverse_errors(line, pixel, transform, shape)}


def cpu(quick: bool) -> list[dict[str, Any]]:
    """B6's rows of the results: full-resolution geolocation, and onto a lon/lat grid."""
    shape, repeats = ((500, 500), 1) if quick else ((2000, 2000), 5)
    gcps = gcp_grid(shape, 21)
    forward = {
        "ours": ours(shape, gcps, repeats, "synchronous") | {"label": "xstac-access geocode"},
        "ours_threads": ours(shape, gcps, repeats, "threads")
        | {"label": "xstac-access geocode, threads"},
        "tps": gdal_forward(shape, gcps, 1, tps=True) | {"label": "GDAL TPS (1 run)"},
        "poly": gdal_forward(shape, gcps, repeats, False) | {"label": "GDAL polynomial"},
    }
    onto = {"ours": ours_onto_grid(shape, gcps, repeats) | {"label": "geocode + eo.grid"}}
    for order in (1, 2, 3):
        onto[f"poly{order}"] = gdal_reproject(
            shape, gcps, repeats, {"SRC_METHOD": "GCP_POLYNOMIAL", "MAX_GCP_ORDER": str(order)}
        ) | {"label": f"reproject polynomial {order}"}
    onto["tps"] = gdal_reproject(shape, gcps, repeats, {"SRC_METHOD": "GCP_TPS"}) | {
        "label": "reproject TPS"
    }
    for rows in (forward, onto):
        for row in rows.values():
            row["median_s"] = round(row.pop("seconds"), 4)
            row["info"] = {k: row[k] for k in ("max_error_px", "rms_error_px") if k in row}
    speedup = h.ratio(forward["tps"]["median_s"], forward["ours"]["median_s"])
    targets = [
        h.target(
            "error",
            "≤ 0.01 px geolocation error (max)",
            round(forward["ours"]["max_error_px"], 4),
            TARGETS["max_error_px"],
            deterministic=True,
        ),
        h.target(
            "speedup",
            "≥ 5 x faster than TPS",
            speedup,
            TARGETS["speedup_vs_gdal_tps"],
            at_most=False,
        ),
    ]
    grid_targets = [
        h.target(
            "grid_error",
            "≤ 0.01 px error on the grid (max)",
            round(onto["ours"]["max_error_px"], 4),
            TARGETS["max_error_px"],
            deterministic=True,
        ),
    ]
    case = f"{shape[0]}², 21² GCPs"
    return [
        SPEC.record(
            None,
            forward,
            case=case + ", full-res lat/lon",
            targets=targets,
            counted=False,
        ),
        SPEC.record(
            None,
            onto,
            case=case + ", onto a lon/lat grid",
            targets=grid_targets,
            counted=False,
        ),
    ]


if __name__ == "__main__":
    import sys

    from benchmarks.run import main

    main(["--only", ID, *sys.argv[1:]])
