"""``conditions/geometry`` and ``conditions/meteorology`` of an S2 L2A GeoZarr product.

Geometry: sun and per-band, per-detector viewing angles on the 5 km angle grid of the tile
(23 x 23 points, both edges included), with their means. Meteorology: the CAMS forecast
(aerosol optical depths, geopotential) and ECMWF forecast (pressure, humidity, ozone, water
vapour, 10 m wind) fields of the product's ``AUX_CAMSFO``/``AUX_ECMWFT`` GRIB files, a 9 x 9
lat/lon grid over the tile, as cfgrib decodes them: ``GRIB_*`` attributes per field, CF
coordinates (``latitude``/``longitude``, and the scalar level, ensemble and time coordinates).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from xstac_access.testing.replica._geozarr_nodes import Node, array, coordinate, group, scalar
from xstac_access.testing.replica._geozarr_product import BANDS, Tile

_ANGLES = ("zenith", "azimuth")
_ANGLE_GRID = 23  # 5 km steps over the 109.8 km tile, both edges included
_DETECTORS = 6  # of MSI's 12 detectors, those whose swath crosses the tile
_GRIB_POINTS = 9  # lat/lon points per side of the meteorological grids
_CENTRE = "European Centre for Medium-Range Weather Forecasts"
_CALENDAR = "proleptic_gregorian"


@dataclass(frozen=True)
class _Field:
    """A GRIB field as cfgrib names it: variable, GRIB name and parameter id, units, CF name."""

    var: str
    name: str
    param: int
    units: str = "~"
    cf: str = "unknown"
    level: str = "surface"
    short: str | None = None  # GRIB short name when it is not the variable's


#: total aerosol optical depths: wavelength (nm), GRIB parameter id
_TOTAL_AOD = ((469, 210213), (550, 210207), (670, 210214), (865, 210215), (1240, 210216))
#: optical depths at 550 nm per species: prefix, species, parameter id, GRIB level type
_SPECIES = (
    ("bc", "Black Carbon", 210211, "surface"),
    ("du", "Dust", 210209, "isobaricInhPa"),
    ("om", "Organic Matter", 210210, "surface"),
    ("ss", "Sea Salt", 210208, "surface"),
    ("su", "Sulphate", 210212, "surface"),
)
_CAMS = (
    *(
        _Field(f"aod{nm}", f"Total Aerosol Optical Depth at {nm}nm", param)
        for nm, param in _TOTAL_AOD
    ),
    *(
        _Field(f"{key}aod550", f"{species} Aerosol Optical Depth at 550nm", param, level=level)
        for key, species, param, level in _SPECIES
    ),
    _Field("z", "Geopotential", 129, "m**2 s**-2", "geopotential"),
)
_ECMWF = (
    _Field("msl", "Mean sea level pressure", 151, "Pa", "air_pressure_at_mean_sea_level"),
    _Field("r", "Relative humidity", 157, "%", "relative_humidity", "isobaricInhPa"),
    _Field("tco3", "Total column ozone", 206, "kg m**-2", "atmosphere_mass_content_of_ozone"),
    _Field(
        "tcwv",
        "Total column vertically-integrated water vapour",
        137,
        "kg m**-2",
        "lwe_thickness_of_atmosphere_mass_content_of_water_vapor",
    ),
    _Field("u10", "10 metre U wind component", 165, "m s**-1", short="10u"),
    _Field("v10", "10 metre V wind component", 166, "m s**-1", short="10v"),
)


def geometry() -> Node:
    """Sun and viewing angles (every MSI band's): names, detectors, full grids (chunked by
    half bands and detectors) and means."""
    bands = [b.name for b in BANDS]
    grid = (_ANGLE_GRID, _ANGLE_GRID)
    viewing = (len(bands), _DETECTORS, len(_ANGLES), *grid)
    deg = {"unit": "deg"}
    return group(
        {
            "angle": array(f"U{max(map(len, _ANGLES))}", (2,), ("angle",), compressor="none"),
            "band": array(f"U{max(map(len, bands))}", (len(bands),), ("band",), compressor="none"),
            "detector": coordinate("detector", _DETECTORS),
            "mean_sun_angles": array("float64", (2,), ("angle",), deg),
            "mean_viewing_incidence_angles": array(
                "float64", (len(bands), 2), ("band", "angle"), deg
            ),
            "sun_angles": array("float64", (2, *grid), ("angle", "y", "x")),
            "viewing_incidence_angles": array(
                "float64",
                viewing,
                ("band", "detector", "angle", "y", "x"),
                chunks=(math.ceil(viewing[0] / 2), viewing[1] // 2, *viewing[2:]),
            ),
            "x": coordinate("x", _ANGLE_GRID),
            "y": coordinate("y", _ANGLE_GRID),
        }
    )


def lat_lon(tile: Tile) -> tuple[np.ndarray, np.ndarray]:
    """Latitudes (north to south) and longitudes (west to east) of the 9 x 9 GRIB grid, from
    the tile's upper-left to its lower-right corner."""
    (lon0, lat0), (lon1, lat1) = tile.diagonal
    lat = np.round(np.linspace(lat0, lat1, _GRIB_POINTS), 3)
    lon = np.round(np.linspace(lon0, lon1, _GRIB_POINTS), 3)
    return lat, lon


def _field(field: _Field, lat: np.ndarray, lon: np.ndarray) -> Node:
    """A float32 lat/lon field with the ``GRIB_*`` and CF attributes cfgrib gives it."""
    attrs = {
        "GRIB_NV": 0,
        "GRIB_Nx": _GRIB_POINTS,
        "GRIB_Ny": _GRIB_POINTS,
        "GRIB_cfName": field.cf,
        "GRIB_cfVarName": field.var,
        "GRIB_dataType": "fc",
        "GRIB_gridDefinitionDescription": "Latitude/Longitude Grid",
        "GRIB_gridType": "regular_ll",
        "GRIB_iDirectionIncrementInDegrees": round(float(lon[1] - lon[0]), 3),
        "GRIB_iScansNegatively": 0,
        "GRIB_jDirectionIncrementInDegrees": round(float(lat[0] - lat[1]), 3),
        "GRIB_jPointsAreConsecutive": 0,
        "GRIB_jScansPositively": 0,
        "GRIB_latitudeOfFirstGridPointInDegrees": float(lat[0]),
        "GRIB_latitudeOfLastGridPointInDegrees": float(lat[-1]),
        "GRIB_longitudeOfFirstGridPointInDegrees": float(lon[0]),
        "GRIB_longitudeOfLastGridPointInDegrees": float(lon[-1]),
        "GRIB_missingValue": float(np.finfo(np.float32).max),
        "GRIB_name": field.name,
        "GRIB_numberOfPoints": _GRIB_POINTS**2,
        "GRIB_paramId": field.param,
        "GRIB_shortName": field.short or field.var,
        "GRIB_stepType": "instant",
        "GRIB_stepUnits": 0,
        "GRIB_totalNumber": 0,
        "GRIB_typeOfLevel": field.level,
        "GRIB_units": field.units,
        "coordinates": "isobaricInhPa number step surface time valid_time",
        "long_name": field.name,
        "standard_name": field.cf,
        "units": field.units,
    }
    return array("float32", (_GRIB_POINTS, _GRIB_POINTS), ("latitude", "longitude"), attrs)


def _coordinates(tile: Tile) -> dict[str, Node]:
    """cfgrib's coordinates: the lat/lon axes and scalar level, member, step and times."""
    day = tile.sensing.strftime("%Y-%m-%d")
    axis = {"long_name": "latitude", "standard_name": "latitude"}
    time = {"calendar": _CALENDAR, "long_name": "initial time of forecast"}
    return {
        "isobaricInhPa": scalar(
            "float64",
            {
                "long_name": "pressure",
                "positive": "down",
                "standard_name": "air_pressure",
                "stored_direction": "decreasing",
                "units": "hPa",
            },
        ),
        "latitude": array(
            "float64",
            (_GRIB_POINTS,),
            ("latitude",),
            {**axis, "stored_direction": "decreasing", "units": "degrees_north"},
            compressor="none",
        ),
        "longitude": array(
            "float64",
            (_GRIB_POINTS,),
            ("longitude",),
            {"long_name": "longitude", "standard_name": "longitude", "units": "degrees_east"},
            compressor="none",
        ),
        "number": scalar(
            "int64",
            {
                "long_name": "ensemble member numerical id",
                "standard_name": "realization",
                "units": "1",
            },
        ),
        "step": scalar(
            "int64",
            {
                "long_name": "time since forecast_reference_time",
                "standard_name": "forecast_period",
                "units": "minutes",
            },
        ),
        "surface": scalar(
            "float64",
            {"long_name": "original GRIB coordinate for key: level(surface)", "units": "1"},
        ),
        "time": scalar(
            "int64",
            {
                **time,
                "standard_name": "forecast_reference_time",
                "units": f"days since {day} 00:00:00",
            },
        ),
        "valid_time": scalar(
            "int64",
            {
                "calendar": _CALENDAR,
                "long_name": "time",
                "standard_name": "time",
                "units": f"days since {tile.sensing:%Y-%m-%d %H:%M}:00",
            },
        ),
    }


def _grib_group(tile: Tile, fields: tuple[_Field, ...], aux: str) -> Node:
    """One decoded GRIB file: its fields and coordinates, and cfgrib's global attributes."""
    lat, lon = lat_lon(tile)
    safe = f"{tile.name}.SAFE/GRANULE/L2A_T{tile.name.split('_')[5][1:]}/AUX_DATA/{aux}"
    encode = ["parameter", "time", "geography", "vertical"]
    options = {"source": safe, "filter_by_keys": {}, "encode_cf": encode}
    attrs = {
        "Conventions": "CF-1.7",
        "GRIB_centre": "ecmf",
        "GRIB_centreDescription": _CENTRE,
        "GRIB_edition": 1,
        "GRIB_subCentre": 0,
        "history": f"{tile.processed:%Y-%m-%dT%H:%M} GRIB to CDM+CF via "
        f"cfgrib-0.9.10.4/ecCodes-2.34.1 with {json.dumps(options)}",
        "institution": _CENTRE,
    }
    members = {f.var: _field(f, lat, lon) for f in fields}
    return group({**members, **_coordinates(tile)}, attrs)


def meteorology(tile: Tile) -> Node:
    """The ``cams`` and ``ecmwf`` groups."""
    return group(
        {
            "cams": _grib_group(tile, _CAMS, "AUX_CAMSFO"),
            "ecmwf": _grib_group(tile, _ECMWF, "AUX_ECMWFT"),
        }
    )
