"""Planetary Computer replica, Zarr on Azure blob storage: an ``era5-pds`` item of ``abfs://``
stores.

The item is PC's ``era5-pds-2020-12-fc`` as the real one is written (four assets, one
consolidated Zarr v2 store each, hrefs ``abfs://era5/ERA5/2020/12/<variable>.zarr`` with
``xarray:open_kwargs`` naming the storage account in ``storage_options``, ``datetime`` null
between ``start_datetime`` and ``end_datetime``, the datacube extension's ``cube:dimensions``
and ``cube:variables``). Each store holds its variable on ``(time, lat, lon)`` with the real
attributes, the ``lat``/``lon``/``time`` coordinates and ``time1_bounds``, on a 10-degree grid
instead of 0.25 degree, in 2 x 2 x 2 chunks (half a month, half the latitudes, half the
longitudes: few blobs, as Azurite is filled at every world start); the month's 744 hours are
all there. Values are plausible fields of the seed: 2 m temperature with
latitude and a diurnal cycle, sparse rain, solar radiation following the sun.

The stores are written under ``azure/<account>/<container>/`` and uploaded into Azurite (see
:mod:`xstac_access.testing.azurite`), under an account named like PC's; the file server's SAS
token endpoint mints tokens for it signed with the account key the replica derives from the
seed (``server_rules``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from xstac_access.testing.azurite import account_key
from xstac_access.testing.endpoints import Endpoints
from xstac_access.testing.replica import _raster, _stac
from xstac_access.testing.replica._zarr_template import Hierarchy, smooth, write_store

COLLECTION = "era5-pds"
ITEM_ID = "era5-pds-2020-12-fc"
ACCOUNT, CONTAINER = "cpdataeuwest", "era5"
FOLDER = "ERA5/2020/12"
START, HOURS = np.datetime64("2020-12-01T00:00"), 744
TIME_UNITS = "hours since 1900-01-01 00:00:00"
STEP = 10.0  # degrees (the real grid's is 0.25)
#: Real size of each dimension, and the replica's chunk (at the real size).
REAL = {"time": (744, 372), "lat": (721, 361), "lon": (1440, 720)}
_SIZE = {"time": HOURS, "lat": int(180 / STEP) + 1, "lon": int(360 / STEP)}
_COORD_ATTRS = {
    "lat": {"units": "degrees_north", "long_name": "latitude", "standard_name": "latitude"},
    "lon": {"units": "degrees_east", "long_name": "longitude", "standard_name": "longitude"},
    "time": {"units": TIME_UNITS, "long_name": "time", "calendar": "proleptic_gregorian"},
}


def _variable(short: str, name: str, cdm: str, units: str, standard: str) -> dict[str, Any]:
    return {
        "units": units, "nameCDM": cdm, "long_name": name, "nameECMWF": name,
        "product_type": "forecast", "standard_name": standard, "shortNameECMWF": short,
    }  # fmt: skip


#: The item's assets: key -> the variable's attributes (as the real item's ``cube:variables``).
VARIABLES: dict[str, dict[str, Any]] = {
    "precipitation_amount_1hour_Accumulation": _variable(
        "tp", "Total precipitation", "Total_precipitation_1hour_Accumulation", "m",
        "precipitation_amount"),
    "air_temperature_at_2_metres_1hour_Maximum": _variable(
        "mx2t", "Maximum temperature at 2 metres since previous post-processing",
        "Maximum_temperature_at_2_metres_since_previous_post-processing_surface_1_Hour_2", "K",
        "air_temperature"),
    "air_temperature_at_2_metres_1hour_Minimum": _variable(
        "mn2t", "Minimum temperature at 2 metres since previous post-processing",
        "Minimum_temperature_at_2_metres_since_previous_post-processing_surface_1_Hour_2", "K",
        "air_temperature"),
    "integral_wrt_time_of_surface_direct_downwelling_shortwave_flux_in_air_1hour_Accumulation":
        _variable("ssrd", "Surface solar radiation downwards",
                  "Surface_solar_radiation_downwards_surface_1_Hour_Accumulation", "J m**-2",
                  "integral_wrt_time_of_surface_direct_downwelling_shortwave_flux_in_air"),
}  # fmt: skip


def containers(root: Path) -> dict[str, Path]:
    """``"<account>/<container>"`` -> the folder uploaded to Azurite as that container."""
    return {f"{ACCOUNT}/{CONTAINER}": root / "azure" / ACCOUNT / CONTAINER}


def href(variable: str) -> str:
    """The asset href, as PC writes it: container and path, no account."""
    return f"abfs://{CONTAINER}/{FOLDER}/{variable}.zarr"


def _resize(dim: str, n: int) -> int:
    return _SIZE.get(dim, n)


def _hierarchy(variable: str) -> Hierarchy:
    """One store's metadata: the variable, its coordinates and the forecast time bounds."""
    store = Hierarchy(_resize, {"institution": "ECMWF", "title": "ERA5 forecast (replica)"})
    for dim in ("lat", "lon"):
        store.array(dim, [dim], [REAL[dim][0]], "<f4", attrs=_COORD_ATTRS[dim], compressor=None)
    store.array("time", ["time"], [HOURS], "<i8", attrs=_COORD_ATTRS["time"])
    store.array("time1_bounds", ["time", "nv"], [HOURS, 2], "<i8", chunks=[REAL["time"][1], 2])
    dims = ("time", "lat", "lon")
    shape, chunks = [REAL[d][0] for d in dims], [REAL[d][1] for d in dims]
    store.array(variable, dims, shape, "<f4", chunks=chunks, attrs=VARIABLES[variable])
    return store


def _hours() -> np.ndarray:
    """The month's hours, in the store's time units."""
    since = (START - np.datetime64("1900-01-01T00:00")).astype("timedelta64[h]").astype(np.int64)
    return since + np.arange(HOURS, dtype=np.int64)


def _lat_lon() -> tuple[np.ndarray, np.ndarray]:
    return 90.0 - STEP * np.arange(_SIZE["lat"]), STEP * np.arange(_SIZE["lon"])


def _field(seed: int, variable: str, shape: tuple[int, ...]) -> np.ndarray:
    """Physical values of ``variable`` on ``(time, lat, lon)``."""
    lat, lon = _lat_lon()
    hour = np.arange(shape[0])[:, None, None]
    local = (hour + lon[None, None, :] / 15.0) % 24  # local solar time
    sun = np.clip(np.cos(np.radians(lat))[None, :, None] * np.sin(np.pi * (local - 6) / 12), 0, 1)
    words = _raster.seed_words(seed, "era5", variable)
    weather = smooth(shape[1:], words, 0.0, 1.0)[None]
    short = VARIABLES[variable]["shortNameECMWF"]
    if short == "tp":
        wet = np.clip(weather - 0.55 + 0.2 * np.sin(2 * np.pi * hour / 97.0), 0, None)
        return 0.004 * wet
    if short == "ssrd":
        return 3.6e6 * 0.8 * sun * (1 - 0.5 * weather)
    base = 300.0 - 45.0 * np.abs(np.sin(np.radians(lat)))[None, :, None] ** 1.5 + 4 * weather
    return base + 6.0 * sun + (0.0 if short == "mx2t" else -2.5)


def _values(seed: int, variable: str) -> Callable[[str, dict, dict], np.ndarray]:
    def values(path: str, zarray: dict[str, Any], attrs: dict[str, Any]) -> np.ndarray:
        shape = tuple(zarray["shape"])
        lat, lon = _lat_lon()
        hours = _hours()
        if path in ("lat", "lon"):
            return lat if path == "lat" else lon
        if path == "time":
            return hours
        if path == "time1_bounds":  # the accumulation or extreme covers the hour before
            return np.stack([hours - 1, hours], axis=1)
        return _field(seed, variable, shape)

    return values


def _write(root: Path, seed: int, variable: str) -> None:
    folder = containers(root)[f"{ACCOUNT}/{CONTAINER}"] / FOLDER / f"{variable}.zarr"
    write_store(folder, _hierarchy(variable).meta, _values(seed, variable))


def jobs(root: Path, seed: int, scale: str) -> list[Callable[[], None]]:
    """One store per variable (the same at every scale: no benchmark reads them)."""
    del scale
    return [functools.partial(_write, root, seed, v) for v in VARIABLES]


def server_rules(seed: int) -> dict[str, list[dict[str, Any]]]:
    """The storage account whose SAS tokens the file server mints, and its key."""
    return {"azure_accounts": [{"account": ACCOUNT, "key": account_key(ACCOUNT, seed)}]}


def collections() -> list[dict[str, Any]]:
    return [
        _stac.collection(
            COLLECTION,
            "ERA5 - PDS",
            "ERA5 reanalysis as Zarr on Azure blob storage (Planetary Computer replica).",
            [-180, -90, 180, 90],
            "1979-01-01T00:00:00Z",
            license="proprietary",
        )
    ]


def _cube_variable(variable: str) -> dict[str, Any]:
    attrs = VARIABLES[variable]
    return {"type": "data", "unit": attrs["units"], "attrs": dict(attrs),
            "shape": [_SIZE[d] for d in ("time", "lat", "lon")],
            "dimensions": ["time", "lat", "lon"], "description": attrs["long_name"]}  # fmt: skip


def items(endpoints: Endpoints, seed: int, scale: str) -> list[dict[str, Any]]:
    """The ``fc`` item of December 2020 (its hrefs name no server: abfs:// on the account)."""
    del endpoints, seed, scale
    assets = {
        variable: {
            "href": href(variable),
            "type": "application/vnd+zarr",
            "roles": ["data"],
            "title": attrs["long_name"],
            "xarray:open_kwargs": {
                "chunks": {},
                "engine": "zarr",
                "consolidated": True,
                "storage_options": {"account_name": ACCOUNT},
            },
        }
        for variable, attrs in VARIABLES.items()
    }
    end = str(START + np.timedelta64(HOURS - 1, "h")) + ":00Z"
    lat_extent, lon_extent = [-90.0, 90.0], [0.0, 360.0 - STEP]
    properties = {
        "datetime": None,
        "era5:kind": "fc",
        "end_datetime": end,
        "start_datetime": str(START) + ":00Z",
        "cube:dimensions": {
            "lat": {
                "axis": "y",
                "step": -STEP,
                "type": "spatial",
                "extent": lat_extent,
                "description": "latitude",
                "reference_system": "epsg:4326",
            },
            "lon": {
                "axis": "x",
                "step": STEP,
                "type": "spatial",
                "extent": lon_extent,
                "description": "longitude",
                "reference_system": "epsg:4326",
            },
            "time": {
                "step": "P0DT1H0M0S",
                "type": "temporal",
                "extent": [str(START) + ":00Z", end],
            },
        },
        "cube:variables": {
            "time1_bounds": {
                "type": "data",
                "attrs": {},
                "shape": [HOURS, 2],
                "dimensions": ["time", "nv"],
            },
            **{variable: _cube_variable(variable) for variable in VARIABLES},
        },
    }
    geometry = _stac.polygon([(180, -90), (180, 90), (-180, 90), (-180, -90)])
    item = _stac.item(
        ITEM_ID,
        COLLECTION,
        geometry,
        properties,
        assets,
        extensions=["https://stac-extensions.github.io/datacube/v2.0.0/schema.json"],
    )
    item["stac_version"] = "1.0.0"
    return [item]
