"""The EOPF Sentinel-3 OLCI Level-2 Land Full Resolution product (``S03OLCLFR``) as code.

A 3-minute OLCI frame: 4091 rows x 4865 columns at 300 m (``measurements``, ``quality`` and
``conditions/image``, chunked 1024 x 1024) with tie-point grids every 64 columns (``conditions/
geometry`` angles and ``conditions/meteorology`` ECMWF fields, 4091 x 77, one chunk except the
temperature profile) and the per-detector instrument tables (21 bands x 3700 detectors). As the
EOPF CPM writes it: land products (GIFAPAR, OTCI, IWV, rectified reflectances) stored decoded as
float32 with their packed encoding (dtype, scale, fill) recorded in ``_eopf_attrs``; latitude,
longitude and angles as float64 micro-degrees with a top-level ``scale_factor`` of 1e-6; the land
quality and science flags (``lqsf``) as flag masks. Everything is Blosc-zstd compressed.
"""

from __future__ import annotations

from typing import Any

from xstac_access.testing.replica import _stac
from xstac_access.testing.replica._zarr_template import Hierarchy, Resize

NAME = (
    "S3B_OL_2_LFR____20250416T063752_20250416T064052_20250416T083835_0179_105_248_3240_ESA_O_NR_003"
)
START, END = "2025-04-16T06:37:51.892834Z", "2025-04-16T06:40:51.892834Z"
CREATED = "2025-04-16T08:38:35Z"
#: Swath corners: first row first/last column, then last row last/first column.
CORNERS = [(40.0543, -10.63), (51.794, -13.3523), (49.4591, -23.9554), (37.0764, -21.0586)]
ROWS, COLUMNS, TP_COLUMNS, CHUNK = 4091, 4865, 77, 1024
_NAN = "NaN"
_IMAGE = (("rows", ROWS), ("columns", COLUMNS))
_TIE = (("tp_rows", ROWS), ("tp_columns", TP_COLUMNS))
_U8 = 1 / 254  # an unsigned byte spread over [0, 1]
_U16 = 1 / 65534
_RADIANCE = "mW.m-2.sr-1.nm-1"
#: name -> (long name, packed dtype, scale, stored fill, data units) of the land products
_LAND = {
    "gifapar": ("green instantaneous FAPAR (GIFAPAR)", "<u1", _U8, 255.0, None),
    "iwv": ("integrated water vapour column", "<u1", 0.3, 255.0, "kg.m-2"),
    "otci": ("OLCI terrestrial chlorophyll index", "<u1", 0.0256, 255.0, None),
    "rc681": ("rectified reflectance, band 10", "<u2", _U16, 65535.0, _RADIANCE),
    "rc865": ("rectified reflectance, band 17", "<u2", _U16, 65535.0, _RADIANCE),
}
_LQSF = ("invalid water land coastline cloud cloud_ambiguous cloud_margin snow_ice inland_water "
         "tidal cosmetic suspect hisolzen saturated wv_fail gifapar_fail otci_fail lrayfail "
         "gifapar_class_bad gifapar_class_ws gifapar_class_csi gifapar_class_bright "
         "gifapar_class_inval_rec otci_bad_in otci_class_clsn")
_OTCI_FLAGS = ("soil_flag_1 soil_flag_2 angle_flag_1 angle_flag_2 radiometry_flag tci_flag",
               [1, 2, 16, 32, 64, 128])
#: tie-point angles: name, long name, packed dtype, stored fill, valid range (micro-degrees)
_ANGLES = (
    ("oaa", "observation azimuth angle", "<i4", -2147483648, (-180_000_000, 180_000_000)),
    ("oza", "observation zenith angle", "<u4", 4294967295, (0, 180_000_000)),
    ("saa", "sun azimuth angle", "<i4", -2147483648, (-180_000_000, 180_000_000)),
    ("sza", "sun zenith angle", "<u4", 4294967295, (0, 180_000_000)),
)
#: ECMWF fields on the tie points: name, long name, units, standard name, valid range
_METEO = (
    ("humidity", "relative humidity", "%", "relative_humidity", (0.0, 100.0)),
    ("sea_level_pressure", "mean sea level pressure", "hPa", "air_pressure_at_sea_level",
     (0.0, 1500.0)),
    ("total_columnar_water_vapour", "total column water vapour", "kg.m-2",
     "atmosphere_water_vapor_content", (0.0, 100.0)),
    ("total_ozone", "total columnar ozone", "kg.m-2", "atmosphere_mass_content_of_ozone",
     (0.0, 100.0)),
)
_INSTRUMENT = (  # name, long name, units, valid range
    ("fwhm", "OLCI bandwidth (full width at half maximum)", "nm", (0.0, 650.0)),
    ("lambda0", "OLCI characterised central wavelength", "nm", (390.0, 1040.0)),
    ("solar_flux", "in-band solar irradiance", "mW.m-2.nm-1", (500.0, 2500.0)),
)
_MASKED = {"eopf_is_masked": True, "eopf_is_scaled": True}


def _dims(grid: tuple) -> tuple[list[str], list[int]]:
    return [d for d, _ in grid], [n for _, n in grid]


def _coords_of(grid: tuple) -> tuple[str, list[str]]:
    """Top-level ``coordinates`` text and the EOPF coordinate list of a grid's variables."""
    if grid is _IMAGE:
        return "altitude latitude longitude time_stamp", ["latitude", "longitude", "time_stamp",
                                                          "altitude"]
    return "latitude longitude", ["latitude", "longitude"]


def _variable(h: Hierarchy, path: str, grid: tuple, stored: str, fill: Any, eopf: dict,
              *, extra: tuple = (), chunks: list[int] | None = None, **top: Any) -> None:
    """A variable with its ``_eopf_attrs`` and the CF attributes readers see at the top."""
    dims, shape = _dims(tuple(extra) + grid)
    text, coords = _coords_of(grid)
    eopf = {"coordinates": coords + [d for d, _ in extra if d == "wind_vector"],
            "dimensions": dims, **_MASKED, "long_name": eopf.pop("long_name"),
            "short_name": path.rsplit("/", 1)[1], **eopf}
    if chunks is None and grid is _IMAGE:
        chunks = [CHUNK, CHUNK]
    attrs = {"_eopf_attrs": eopf, "coordinates": text, "dtype": eopf["dtype"],
             "long_name": eopf["long_name"], **top}
    h.array(path, dims, shape, stored, chunks=chunks, fill=fill, attrs=attrs)


def _geolocation(h: Hierarchy, group: str, grid: tuple) -> None:
    """latitude/longitude (micro-degrees, scale 1e-6) and, on the image grid, altitude/time."""
    dims, shape = _dims(grid)
    chunks = [CHUNK, CHUNK] if grid is _IMAGE else None
    where = "DEM corrected" if grid is _IMAGE else "tie point"
    for name, limit, units in (("latitude", 90, "degrees_north"),
                               ("longitude", 180, "degrees_east")):
        attrs = {"data_units": units, "dimensions": dims, "dtype": "<i4", **_MASKED,
                 "eopf_target_dtype": "<f8", "fill_value": -2147483648,
                 "long_name": f"{where} {name}", "scale_factor": 1e-06, "standard_name": name,
                 "valid_max": limit * 10**6, "valid_min": -limit * 10**6}
        h.array(f"{group}/{name}", dims, shape, "<f8", chunks=chunks, fill=_NAN, attrs=attrs)
    if grid is not _IMAGE:
        return
    h.array(f"{group}/altitude", dims, shape, "<f4", chunks=chunks, fill=_NAN, attrs={
        "data_units": "m", "dimensions": dims, "dtype": "<i2", **_MASKED,
        "eopf_target_dtype": "<f4", "fill_value": -32768,
        "long_name": "DEM corrected altitude above the reference ellipsoid",
        "standard_name": "altitude", "valid_max": 9000, "valid_min": -1000,
    })
    h.array(f"{group}/time_stamp", ["rows"], [ROWS], "<i8", chunks=[CHUNK], attrs={
        "calendar": "proleptic_gregorian", "data_units": "microseconds", "dimensions": ["rows"],
        "dtype": "<i8", **_MASKED, "eopf_target_dtype": "<M8[ns]", "fill_value": 9999,
        "long_name": "time stamp of each row", "standard_name": "time",
        "units": "nanoseconds since 1970-01-01",
    })


def _land(h: Hierarchy) -> None:
    for name, (long_name, packed, scale, fill, units) in _LAND.items():
        for group, suffix, prefix in (("measurements", "", ""),
                                      ("quality", "_unc", "uncertainty of the ")):
            eopf = {"add_offset": 0.0, "dtype": packed, "eopf_target_dtype": "<f4",
                    "fill_value": int(fill), "long_name": prefix + long_name,
                    "scale_factor": scale, **({"data_units": units} if units else {})}
            _variable(h, f"{group}/{name}{suffix}", _IMAGE, "<f4", fill, eopf)
    flags: dict[str, Any] = {"flag_masks": [2**i for i in range(25)], "flag_meanings": _LQSF}
    _variable(h, "quality/lqsf", _IMAGE, "<u4", None,
              {"dtype": "<u4", "long_name": "land quality and science flags", **flags}, **flags)
    flags = {"flag_masks": _OTCI_FLAGS[1], "flag_meanings": _OTCI_FLAGS[0]}
    _variable(h, "quality/otci_quality_flags", _IMAGE, "|u1", None,
              {"dtype": "<u1", "long_name": "OTCI quality flags", **flags}, **flags)
    for name, dtype, fill, valid in (("detector_index", "<i2", -1, (0, 3699)),
                                     ("frame_offset", "|i1", -128, (-15, 15))):
        eopf = {"dtype": dtype.replace("|", "<"), "eopf_target_dtype": dtype, "fill_value": fill,
                "long_name": name.replace("_", " "), "valid_max": valid[1],
                "valid_min": valid[0]}
        _variable(h, f"conditions/image/{name}", _IMAGE, dtype, fill, eopf)


def _tie_points(h: Hierarchy) -> None:
    for name, long_name, packed, fill, (lo, hi) in _ANGLES:
        eopf = {"data_units": "degrees", "dtype": packed, "eopf_target_dtype": "<f8",
                "fill_value": fill, "long_name": long_name, "scale_factor": 1e-06,
                "valid_max": hi, "valid_min": lo}
        _variable(h, f"conditions/geometry/{name}", _TIE, "<f8", float(fill), eopf)
    met = "conditions/meteorology"
    for name, long_name, units, standard, (least, most) in _METEO:
        eopf = {"data_units": units, "dtype": "<f4", "fill_value": -1.0, "long_name": long_name,
                "standard_name": standard, "valid_max": most, "valid_min": least}
        _variable(h, f"{met}/{name}", _TIE, "<f4", -1.0, eopf, standard_name=standard)
    wind = {"data_units": "m.s-1", "dtype": "<f4", "fill_value": 9.969209968386869e36,
            "long_name": "horizontal wind vector at 10 m", "valid_max": 100.0,
            "valid_min": -100.0}
    _variable(h, f"{met}/horizontal_wind", _TIE, "<f4", wind["fill_value"], wind,
              extra=(("wind_vector", 2),), chunks=[1, ROWS, TP_COLUMNS])
    profile = {"data_units": "K", "dtype": "<f4", "fill_value": -1.0,
               "long_name": "air temperature vertical profile", "standard_name": "air_temperature",
               "valid_max": 400.0, "valid_min": 0.0}
    _variable(h, f"{met}/temperature_profile", _TIE, "<f4", -1.0, profile,
              extra=(("pressure_level", 25),), chunks=[9, 2046, 26],
              standard_name="air_temperature")
    for name, n, long_name in (("pressure_level", 25, "pressure levels of the temperature profile"),
                               ("wind_vector", 2, "components of the horizontal wind")):
        attrs = {"dimensions": [name], "dtype": "<i8", "long_name": long_name}
        h.array(f"{met}/{name}", [name], [n], "<i8", attrs=attrs)


def _instrument(h: Hierarchy) -> None:
    dims, shape = ["bands", "detectors"], [21, 3700]
    for name, long_name, units, (lo, hi) in _INSTRUMENT:
        eopf = {"data_units": units, "dimensions": dims, "dtype": "<f4", "eopf_is_masked": True,
                "fill_value": -1.0, "long_name": long_name, "short_name": name,
                "valid_max": hi, "valid_min": lo}
        h.array(f"conditions/instrument/{name}", dims, shape, "<f4", fill=-1.0,
                attrs={"_eopf_attrs": eopf, "dtype": "<f4", "long_name": long_name})
    long_name = "relative spectral covariance matrix"
    eopf = {"dimensions": ["bands", "bands2"], "dtype": "<f4", "long_name": long_name,
            "short_name": "relative_spectral_covariance"}
    h.array("conditions/instrument/relative_spectral_covariance", ["bands", "bands2"], [21, 21],
            "<f4", fill=_NAN, attrs={"_eopf_attrs": eopf, "dtype": "<f4", "long_name": long_name})


def footprint() -> dict[str, Any]:
    """The frame's outline in longitude/latitude."""
    return _stac.polygon(CORNERS)


def _discovery(h: Hierarchy) -> dict[str, Any]:
    geometry = footprint()
    exts = ("eopf/v1.0.0", "eo/v1.1.0", "sat/v1.0.0", "view/v1.0.0", "scientific/v1.0.0",
            "processing/v1.2.0", "product/v0.1.0")
    classes = (("invalid", 4.0), ("cosmetic", 0.0), ("duplicated", 11.2), ("saturated", 0.0),
               ("saline_water", 47.0), ("coastal", 0.07), ("fresh_water", 0.0), ("tidal", 2.0))
    return {
        "type": "Feature", "stac_version": "1.1.0",
        "stac_extensions": [f"https://stac-extensions.github.io/{e}/schema.json" for e in exts],
        "id": f"{NAME}.SEN3", "collection": "OL__L2L.003.00.01",
        "geometry": geometry, "bbox": _stac.bbox_of(geometry),
        "links": [{"href": "./.zattrs.json", "rel": "collection", "type": "application/json"}],
        "assets": {},
        "properties": {
            "classification:classes": [{"name": n, "percentage": p} for n, p in classes],
            "constellation": "sentinel-3", "created": CREATED, "datetime": "null",
            "start_datetime": START, "end_datetime": END,
            "eopf:instrument_mode": "Earth Observation", "gsd": 270, "instrument": "olci",
            "mission": "copernicus", "platform": "sentinel-3b",
            "processing:expression": "systematic", "processing:facility": "",
            "processing:level": "L2", "processing:software": {"PUG": "03.50"},
            "processing:version": "TODO", "product:timeliness": "PT3H",
            "product:timeliness_category": "NR", "product:type": "S03OLCLFR",
            "proj:shape": [h.size("rows", ROWS), h.size("columns", COLUMNS)],
            "providers": [{"name": "Copernicus Ground Segment", "roles": ["processor"]},
                          {"name": "ESA", "roles": ["producer"]}],
            "sat:absolute_orbit": 36325, "sat:orbit_state": "",
            "sat:platform_international_designator": "2018-039A", "sat:relative_orbit": 248,
        },
    }


def _other_metadata() -> dict[str, Any]:
    return {
        "absolute_pass_number": 72650, "cycle_number": 105, "eopf_category": "eoproduct",
        "data_information": {"atm_correction_type": "PARALLEL", "sampling": {
            "across_track_distance": 270, "along_track_distance": 294,
            "columns_per_tiepoint": 64, "rows_per_tiepoint": 1}},
        "history": [{"output": NAME, "processingCentre": "ESA", "processor": "OL__L2",
                     "type": "Level-2 Product"}],
        "meteo": {"missing_time": 0, "source": "ECMWF", "type": "FORECAST"},
        "phase_identifier": 4, "product_unit": {"alongtrack_coordinate": 3240, "duration": 179,
                                                "type": "FRAME"},
        "relative_pass_number": 496, "type": "",
    }


def hierarchy(resize: Resize) -> Hierarchy:
    """The whole product's consolidated metadata, sized by ``resize``."""
    h = Hierarchy(resize)
    h.meta[".zattrs"] = {"other_metadata": _other_metadata(), "stac_discovery": _discovery(h)}
    for group in ("conditions/image", "measurements", "quality"):
        _geolocation(h, group, _IMAGE)
    for group in ("conditions/geometry", "conditions/meteorology"):
        _geolocation(h, group, _TIE)
    _land(h)
    _tie_points(h)
    _instrument(h)
    return h
