"""Plausible physical values for the arrays of the three EOPF products the replica builds.

Each product gets a ``values(path, zarray, attrs)`` function for ``_zarr_template.write_store``:
S2 L2A (UTM x/y, reflectances from a seeded landscape, TCI, SCL), S1 OCN (curved swath lat/lon,
wind speed/direction) and S3 OLCI LFR (curved swath lat/lon, gifapar in [0, 1], times).
Unknown arrays fall back to a smooth field inside their ``valid_min``/``valid_max``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from xstac_access.testing.replica import _raster
from xstac_access.testing.replica._zarr_template import norm_index, quad_lonlat, smooth

Values = Callable[[str, dict[str, Any], dict[str, Any]], np.ndarray]

_S2_FAMILY = {
    "b01": 0,
    "b02": 0,
    "b03": 1,
    "b04": 2,
    "b05": 3,
    "b06": 3,
    "b07": 3,
    "b08": 4,
    "b8a": 4,
    "b09": 4,
    "b10": 5,
    "b11": 5,
    "b12": 5,
}
_RANGES = {  # name -> physical range for smooth fields
    "aod": (0.05, 0.3),
    "z": (800.0, 1500.0),
    "msl": (100500.0, 102500.0),
    "r": (60.0, 95.0),
    "tco3": (0.006, 0.008),
    "tcwv": (5.0, 20.0),
    "u10": (-6.0, 6.0),
    "v10": (-6.0, 6.0),
    "altitude": (0.0, 1400.0),
    "gifapar": (0.0, 0.9),
    "otci": (0.5, 4.0),
    "iwv": (5.0, 45.0),
    "rc681": (0.03, 0.25),
    "rc865": (0.15, 0.45),
    "humidity": (40.0, 90.0),
    "sea_level_pressure": (1005.0, 1020.0),
    "temperature_profile": (210.0, 300.0),
    "total_columnar_water_vapour": (10.0, 50.0),
    "total_ozone": (0.005, 0.007),
    "horizontal_wind": (-8.0, 8.0),
    "sza": (25.0, 45.0),
    "saa": (40.0, 70.0),
    "oza": (0.0, 55.0),
    "oaa": (-80.0, 100.0),
    "wind_speed": (3.0, 15.0),
    "auxiliary_wind_speed": (3.0, 14.0),
    "wind_direction": (0.0, 359.0),
    "auxiliary_wind_direction": (0.0, 359.0),
    "incidence_angle": (30.0, 46.0),
    "elevation_angle": (27.0, 40.0),
    "heading": (190.0, 192.0),
    "nrcs": (0.005, 0.1),
    "nesz": (0.0005, 0.002),
    "radial_velocity": (-1.0, 1.0),
    "fwhm": (2.5, 40.0),
    "solar_flux": (900.0, 1900.0),
    "lambda0": (400.0, 1020.0),
}


def _fallback(
    name: str, zarray: dict[str, Any], attrs: dict[str, Any], seed: tuple[int, ...]
) -> np.ndarray:
    """Smooth values in the named or declared valid range; flags and integers default to 0."""
    shape = tuple(zarray["shape"])
    dtype = np.dtype(zarray["dtype"])
    if "flag_masks" in attrs or "flag_values" in attrs:
        return np.zeros(shape, dtype=dtype)
    key = next((k for k in (name, name.split("_")[0], name[:3]) if k in _RANGES), None)
    if key:
        return smooth(shape, seed, *_RANGES[key])
    if dtype.kind == "f":
        lo, hi = attrs.get("valid_min", 0.0), attrs.get("valid_max", 1.0)
        return smooth(shape, seed, float(lo), float(min(hi, lo + 100)))
    return np.zeros(shape, dtype=dtype)


def _scalar_or_band(name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray | None:
    """Coordinate-like small arrays (band names, angle names, detector ids, pressure levels)."""
    if name == "angle":
        return np.array(["zenith", "azimuth"], dtype=dtype)
    if name == "band" and dtype.kind == "U":
        return np.array(list(_S2_FAMILY), dtype=dtype)
    if name in ("band", "detector", "wind_vector") and shape:
        return np.arange(1, shape[0] + 1)
    if name == "pressure_level":
        return np.round(np.linspace(1000, 1, shape[0]))
    if name in ("isobaricInhPa", "surface"):
        return np.array(1000.0 if name == "isobaricInhPa" else 0.0)
    if not shape:
        return np.array(0)
    return None


def s2_values(seed: int, x0: float, y0: float, cloud: float) -> Values:
    """Values of an S2 L2A product whose 10 m grid starts at UTM (x0, y0) and covers 109.8 km."""
    land = _raster.seed_words(seed, "eopf-s2-land")
    clouds_seed = _raster.seed_words(seed, "eopf-s2-cloud")

    def values(path: str, zarray: dict[str, Any], attrs: dict[str, Any]) -> np.ndarray:
        name, shape, dtype = (
            path.rsplit("/", 1)[-1],
            tuple(zarray["shape"]),
            np.dtype(zarray["dtype"]),
        )
        if name in ("x", "y") and len(shape) == 1:
            step = 109800 / shape[0] if shape[0] > 100 else 5000.0
            centre = 0.5 if shape[0] > 100 else 0.0
            offsets = (np.arange(shape[0]) + centre) * step
            return x0 + offsets if name == "x" else y0 - offsets
        if "meteorology" in path and name in ("latitude", "longitude"):
            return np.linspace(54.3, 52.9, 9) if name == "latitude" else np.linspace(17.8, 19.8, 9)
        special = _scalar_or_band(name, shape, dtype)
        if special is not None:
            return special
        if len(shape) < 2 or shape[-1] < 50:
            if "sun_angles" in name:
                return (
                    np.stack([smooth(shape[1:], land, 75, 77), smooth(shape[1:], land, 160, 170)])
                    if len(shape) == 3
                    else np.array([76.0, 165.0])
                )
            if "viewing" in name:
                return smooth(shape, land, 2.0, 11.0)
            return _fallback(name, zarray, attrs, land)
        yx = shape[-2:]
        classes = _raster.landscape(land, yx)
        clouds = _raster.cloud_mask(clouds_seed, yx, cloud)
        if "reflectance" in path:
            return _raster.reflectance(classes, _S2_FAMILY[name], clouds)
        if name == "tci":
            return _raster.true_colour(
                *(_raster.reflectance(classes, f, clouds) for f in (2, 1, 0))
            )
        if name == "scl":
            return _raster.scl(classes, clouds)
        if name == "cld":
            return clouds.astype(np.uint8) * 95
        if "detector_footprint" in path:
            col = norm_index(yx, 1) + 0.3 * norm_index(yx, 0)
            return np.broadcast_to(np.clip((col * 5).astype(np.uint8) + 1, 1, 7), yx)
        if name in ("aot", "wvp"):
            return smooth(yx, land, *((90, 160) if name == "aot" else (900, 1800)))
        return np.zeros(shape, dtype=dtype)

    return values


def swath_values(
    seed: int, corners: list[tuple[float, float]], start: str, seconds: float, bow: float
) -> Values:
    """Values of a swath product (S1 OCN, S3 OLCI) with 2-D lat/lon filling ``corners``.

    Rows run along track (``rows``/``tp_rows``/``azimuth``), columns across track
    (``columns``/``tp_columns``/``range``, with OCN's ``swath`` sub-swaths side by side).
    """
    t0 = datetime.fromisoformat(start.replace("Z", "+00:00")).astimezone(UTC)
    t0_ns = int(t0.timestamp()) * 10**9 + t0.microsecond * 1000
    base = _raster.seed_words(seed, "eopf-swath", start)

    def position(shape: tuple[int, ...], dims: list[str]) -> tuple[np.ndarray, np.ndarray]:
        row = norm_index(shape, 0)
        col = norm_index(shape, 1)
        if "swath" in dims:
            k = dims.index("swath")
            col = (col * (shape[1] - 1) + norm_index(shape, k) * (shape[k] - 1) * shape[1]) / max(
                shape[1] * shape[k] - 1, 1
            )
        lon, lat = quad_lonlat(corners, row, col, bow)
        return np.broadcast_to(lon, shape), np.broadcast_to(lat, shape)

    def values(path: str, zarray: dict[str, Any], attrs: dict[str, Any]) -> np.ndarray:
        name, shape, dtype = (
            path.rsplit("/", 1)[-1],
            tuple(zarray["shape"]),
            np.dtype(zarray["dtype"]),
        )
        dims = attrs.get("_ARRAY_DIMENSIONS", [])
        if name in ("latitude", "longitude") and len(shape) >= 2:
            lon, lat = position(shape, dims)
            return lat if name == "latitude" else lon
        if name == "time_stamp":
            return t0_ns + (np.linspace(0, seconds, shape[0]) * 1e9).astype(np.int64)
        if name == "zero_doppler_time":
            rows = shape[0]
            stamps = [(t0_ns + int(seconds * 1e9 * i / max(rows - 1, 1))) for i in range(rows)]
            text = [
                datetime.fromtimestamp(s / 1e9, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
                for s in stamps
            ]
            chars = np.array([list(t[: shape[2]].ljust(shape[2])) for t in text], dtype="S1")
            return np.broadcast_to(chars[:, None, :, None], shape)
        if name == "detector_index":
            return np.broadcast_to((norm_index(shape, 1) * 3699).astype(np.int16), shape)
        special = _scalar_or_band(name, shape, dtype)
        if special is not None:
            return special
        if name in ("relative_spectral_covariance",):
            return np.eye(shape[0]) * 0.01
        if name == "lambda0" and len(shape) == 2:
            return np.broadcast_to(np.linspace(400, 1020, shape[0])[:, None], shape)
        if name in ("wind_quality", "inversion_quality"):
            return np.zeros(shape, dtype=dtype)
        return _fallback(name, zarray, attrs, base)

    return values
