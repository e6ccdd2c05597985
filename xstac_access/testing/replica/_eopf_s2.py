"""The EOPF Sentinel-2 MSI Level-2A product (``S02MSIL2A``, zarr v2) described as code.

One 109.8 km MGRS tile (T34UCE, UTM zone 34N) as the EOPF CPM writes it: ``measurements/
reflectance/r10m|r20m|r60m`` (uint16 BOA reflectance, scale 1e-4, offset -0.1, fill 0), the
``quality`` masks, AOT/WVP, quicklook TCI and cloud/snow probabilities, the ``conditions`` masks
(detector footprints, L1C and L2A classification), the 23 x 23 sun/viewing angle grids and the
CAMS/ECMWF forecasts on a 9 x 9 lat/lon grid (cfgrib attributes). Every raster is chunked 6 x 6
per side (1830, 915 and 305 px at 10, 20 and 60 m); arrays are Blosc-zstd compressed. The root
``.zattrs`` embeds the product's ``stac_discovery`` item and a subset of ``other_metadata``.
Band facts are those of the MSI instrument (ESA's Sentinel-2 User Handbook).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rasterio.crs import CRS

from xstac_access.testing.replica import _stac
from xstac_access.testing.replica._zarr_template import Hierarchy, Resize

NAME = "S2A_MSIL2A_20250109T100401_N0511_R122_T34UCE_20250109T122750"
EPSG = 32634
X0, Y0, TILE_M = 300000.0, 6000000.0, 109800.0
START = "2025-01-09T10:04:01.024000+00:00"
CREATED = "2025-01-09T12:27:50+00:00"
CLOUD = 12.5
PIXELS = {10: 10980, 20: 5490, 60: 1830}  # pixels per side of the tile
CHUNK = {10: 1830, 20: 915, 60: 305}  # 6 chunks per side at every resolution


@dataclass(frozen=True)
class Band:
    """One MSI band: name, STAC common name, centre (nm), width (um), solar irradiance, native
    resolution (m) and the title the catalogue gives it."""

    name: str
    common_name: str
    center_nm: float
    fwhm_um: float
    irradiance: float
    resolution: int
    title: str


BANDS = (
    Band("b01", "coastal", 442.7, 0.020, 1884.69, 60, "Coastal aerosol (band 1)"),
    Band("b02", "blue", 492.7, 0.065, 1959.66, 10, "Blue (band 2)"),
    Band("b03", "green", 559.8, 0.035, 1823.24, 10, "Green (band 3)"),
    Band("b04", "red", 664.6, 0.030, 1512.06, 10, "Red (band 4)"),
    Band("b05", "rededge071", 704.1, 0.015, 1424.64, 20, "Red edge 1 (band 5)"),
    Band("b06", "rededge075", 740.5, 0.015, 1287.61, 20, "Red edge 2 (band 6)"),
    Band("b07", "rededge078", 782.8, 0.020, 1162.08, 20, "Red edge 3 (band 7)"),
    Band("b08", "nir", 832.8, 0.105, 1041.63, 10, "NIR 1 (band 8)"),
    Band("b8a", "nir08", 864.7, 0.020, 955.32, 20, "NIR 2 (band 8A)"),
    Band("b09", "nir09", 945.1, 0.020, 812.92, 60, "NIR 3 (band 9)"),
    Band("b10", "cirrus", 1373.5, 0.030, 367.15, 60, "Cirrus (band 10)"),
    Band("b11", "swir16", 1613.7, 0.090, 245.59, 20, "SWIR 1 (band 11)"),
    Band("b12", "swir22", 2202.4, 0.180, 85.25, 20, "SWIR 2 (band 12)"),
)
BY_NAME = {b.name: b for b in BANDS}
#: L2A reflectances per resolution: B08 only at 10 m (B8A below), B09 only at 60 m, no B10.
REFLECTANCE = {
    10: ("b02", "b03", "b04", "b08"),
    20: ("b01", "b02", "b03", "b04", "b05", "b06", "b07", "b8a", "b11", "b12"),
    60: ("b01", "b02", "b03", "b04", "b05", "b06", "b07", "b8a", "b09", "b11", "b12"),
}
_QUALITY_FLAGS = ["ANC_LOST", "ANC_DEG", "MSI_LOST", "MSI_DEG", "QT_DEFECTIVE_PIXELS",
                  "QT_NODATA_PIXELS", "QT_PARTIALLY_CORRECTED_PIXELS", "QT_SATURATED_PIXELS_L1A"]
_L1C_FLAGS = ("OPAQUE", "CIRRUS", "SNOW_ICE")
#: CAMS and ECMWF forecast fields: short name, GRIB name, paramId, units, CF name, level type.
_AOD = "Aerosol Optical Depth at"
_CAMS = (
    ("aod1240", f"Total {_AOD} 1240nm", 210216, "~", "unknown", "surface"),
    ("aod469", f"Total {_AOD} 469nm", 210213, "~", "unknown", "surface"),
    ("aod550", f"Total {_AOD} 550nm", 210207, "~", "unknown", "surface"),
    ("aod670", f"Total {_AOD} 670nm", 210214, "~", "unknown", "surface"),
    ("aod865", f"Total {_AOD} 865nm", 210215, "~", "unknown", "surface"),
    ("bcaod550", f"Black Carbon {_AOD} 550nm", 210211, "~", "unknown", "surface"),
    ("duaod550", f"Dust {_AOD} 550nm", 210209, "~", "unknown", "isobaricInhPa"),
    ("omaod550", f"Organic Matter {_AOD} 550nm", 210210, "~", "unknown", "surface"),
    ("ssaod550", f"Sea Salt {_AOD} 550nm", 210208, "~", "unknown", "surface"),
    ("suaod550", f"Sulphate {_AOD} 550nm", 210212, "~", "unknown", "surface"),
    ("z", "Geopotential", 129, "m**2 s**-2", "geopotential", "surface"),
)
_ECMWF = (
    ("msl", "Mean sea level pressure", 151, "Pa", "air_pressure_at_mean_sea_level", "surface"),
    ("r", "Relative humidity", 157, "%", "relative_humidity", "isobaricInhPa"),
    ("tco3", "Total column ozone", 206, "kg m**-2", "atmosphere_mass_content_of_ozone", "surface"),
    (
        "tcwv",
        "Total column vertically-integrated water vapour",
        137,
        "kg m**-2",
        "lwe_thickness_of_atmosphere_mass_content_of_water_vapor",
        "surface",
    ),
    ("u10", "10 metre U wind component", 165, "m s**-1", "unknown", "surface"),
    ("v10", "10 metre V wind component", 166, "m s**-1", "unknown", "surface"),
)
_GRIB_COORDS = ("number", "time", "step", "surface", "latitude", "longitude", "valid_time")
_MET_GRID = (54.109, 53.154, 17.94, 19.651)  # first/last latitude, first/last longitude
_NAN = "NaN"


def _eopf(dims: list[str], coords: list[str], **extra: Any) -> dict[str, Any]:
    return {"_eopf_attrs": {"coordinates": coords, "dimensions": dims, **extra}}


def _proj(h: Hierarchy, res: int) -> dict[str, Any]:
    """proj:* attributes of a raster of the tile at ``res`` m, for its replica size."""
    n = h.size("x", PIXELS[res])
    step = TILE_M / n
    return {
        "proj:bbox": [X0, Y0 - TILE_M, X0 + TILE_M, Y0],
        "proj:epsg": EPSG,
        "proj:shape": [n, n],
        "proj:transform": [step, 0.0, X0, 0.0, -step, Y0, 0.0, 0.0, 1.0],
        "proj:wkt2": CRS.from_epsg(EPSG).to_wkt(),
    }


def _coords(h: Hierarchy, group: str, res: int) -> None:
    """The x/y coordinates (UTM pixel centres, int64) of a resolution group."""
    for dim in ("x", "y"):
        h.array(f"{group}/{dim}", [dim], [PIXELS[res]], "<i8")


def _raster(h: Hierarchy, path: str, res: int, dtype: str, attrs: dict, **kw: Any) -> None:
    """A y/x raster of the tile, with the x/y coordinates of its group."""
    n, c = PIXELS[res], CHUNK[res]
    _coords(h, path.rsplit("/", 1)[0], res)
    h.array(path, ["y", "x"], [n, n], dtype, chunks=[c, c], attrs={**attrs, **_proj(h, res)}, **kw)


def _flags(long_name: str, masks: list[int], meanings: list[str]) -> dict[str, Any]:
    flags = {"flag_masks": masks, "flag_meanings": meanings}
    return {**_eopf(["y", "x"], ["x", "y"], **flags), "dtype": "<u1", **flags,
            "long_name": long_name}


def _measurements(h: Hierarchy) -> None:
    for res, names in REFLECTANCE.items():
        for name in names:
            band = BY_NAME[name]
            cf = {"add_offset": -0.1, "fill_value": 0, "scale_factor": 0.0001}
            attrs = {
                **_eopf(["y", "x"], ["x", "y"], **cf, units="digital_counts"),
                **cf,
                "dtype": "<u2",
                "long_name": f"BOA reflectance from MSI acquisition at spectral band "
                f"{name} {band.center_nm} nm",
                "units": "digital_counts",
                "valid_max": 65535,
                "valid_min": 1,
            }
            _raster(h, f"measurements/reflectance/r{res}m/{name}", res, "<u2", attrs, fill=0)


def _quality(h: Hierarchy) -> None:
    plain = _eopf(["y", "x"], ["x", "y"])
    bits = [2**i for i in range(len(_QUALITY_FLAGS))]
    mask = _flags("quality mask provided in the final reference frame (ground geometry)", bits,
                  _QUALITY_FLAGS)
    for res in PIXELS:
        for name in ("aot", "wvp"):
            _raster(h, f"quality/atmosphere/r{res}m/{name}", res, "<u2", plain)
        group = f"quality/l2a_quicklook/r{res}m"
        h.array(f"{group}/band", ["band"], [3], "<i8")
        _coords(h, group, res)
        n, c = PIXELS[res], CHUNK[res]
        tci = {**_eopf(["band", "y", "x"], ["band", "x", "y"]), **_proj(h, res)}
        h.array(f"{group}/tci", ["band", "y", "x"], [3, n, n], "|u1", chunks=[1, c, c], attrs=tci)
        for band in BANDS:
            if band.resolution == res:
                _raster(h, f"quality/mask/r{res}m/{band.name}", res, "|u1", mask)
    h.array("quality/probability/r20m/band", [], [], "<i8", compressor=None)
    for name in ("cld", "snw"):
        attrs = {**_eopf(["y", "x"], ["band", "x", "y"]), "coordinates": "band"}
        _raster(h, f"quality/probability/r20m/{name}", 20, "|u1", attrs)


def _masks(h: Hierarchy) -> None:
    footprint = {
        **_eopf(["y", "x"], ["x", "y"]),
        "dtype": "<u1",
        "long_name": "detector footprint mask provided in the final reference frame (ground "
        "geometry). 0 = no detector, 1-12 = detector 1-12",
    }
    for band in BANDS:
        path = f"conditions/mask/detector_footprint/r{band.resolution}m/{band.name}"
        _raster(h, path, band.resolution, "|u1", footprint)
    l1c = _flags("cloud classification mask provided in the final reference frame (ground "
                 "geometry)", [1, 2, 4], list(_L1C_FLAGS))
    _raster(h, "conditions/mask/l1c_classification/r60m/b00", 60, "|u1", l1c)
    for res in (20, 60):
        scl = _eopf(["y", "x"], ["x", "y"])
        _raster(h, f"conditions/mask/l2a_classification/r{res}m/scl", res, "|u1", scl)


def _geometry(h: Hierarchy) -> None:
    g, nb, nd = "conditions/geometry", len(BANDS), 7
    h.array(f"{g}/angle", ["angle"], [2], "<U7")
    h.array(f"{g}/band", ["band"], [nb], "<U3")
    h.array(f"{g}/detector", ["detector"], [nd], "<i8")
    for dim in ("x", "y"):
        h.array(f"{g}/{dim}", [dim], [23], "<i8")
    arrays: tuple[tuple[str, list[str], list[int], list[int] | None, dict[str, Any]], ...] = (
        # name, dims, shape, chunks, extra attributes
        ("mean_sun_angles", ["angle"], [2], None, {"unit": "deg"}),
        ("mean_viewing_incidence_angles", ["band", "angle"], [nb, 2], None, {"unit": "deg"}),
        ("sun_angles", ["angle", "y", "x"], [2, 23, 23], None, {}),
        (
            "viewing_incidence_angles",
            ["band", "detector", "angle", "y", "x"],
            [nb, nd, 2, 23, 23],
            [7, 4, 2, 23, 23],
            {},
        ),
    )
    for name, dims, shape, chunks, extra in arrays:
        coords: list[str] = [d for d in ("angle", "y", "x", "detector", "band") if d in dims]
        h.array(f"{g}/{name}", dims, shape, "<f8", chunks=chunks, fill=_NAN,
                attrs={**_eopf(dims, coords), **extra})


def _grib_attrs(short: str, name: str, param: int, units: str, cf: str, level: str) -> dict:
    lat0, lat1, lon0, lon1 = _MET_GRID
    coords = " ".join(c if c != "surface" else level for c in _GRIB_COORDS)
    return {
        "GRIB_NV": 0, "GRIB_Nx": 9, "GRIB_Ny": 9, "GRIB_cfName": cf, "GRIB_cfVarName": short,
        "GRIB_dataType": "fc", "GRIB_gridDefinitionDescription": "Latitude/Longitude Grid",
        "GRIB_gridType": "regular_ll",
        "GRIB_iDirectionIncrementInDegrees": round((lon1 - lon0) / 8, 3),
        "GRIB_iScansNegatively": 0,
        "GRIB_jDirectionIncrementInDegrees": round((lat0 - lat1) / 8, 3),
        "GRIB_jPointsAreConsecutive": 0, "GRIB_jScansPositively": 0,
        "GRIB_latitudeOfFirstGridPointInDegrees": lat0,
        "GRIB_latitudeOfLastGridPointInDegrees": lat1,
        "GRIB_longitudeOfFirstGridPointInDegrees": lon0,
        "GRIB_longitudeOfLastGridPointInDegrees": lon1,
        "GRIB_missingValue": 3.4028234663852886e38, "GRIB_name": name,
        "GRIB_numberOfPoints": 81, "GRIB_paramId": param, "GRIB_shortName": short,
        "GRIB_stepType": "instant", "GRIB_stepUnits": 0, "GRIB_totalNumber": 0,
        "GRIB_typeOfLevel": level, "GRIB_units": units,
        **_eopf(["latitude", "longitude"], [*_GRIB_COORDS, "isobaricInhPa"], units=units),
        "coordinates": coords, "long_name": name, "standard_name": cf, "units": units,
    }


def _meteorology(h: Hierarchy) -> None:
    day = START[:10]
    coords: tuple[tuple[str, list[str], list[int], str, Any, dict[str, Any]], ...] = (
        # name, dims, shape, dtype, fill, attributes
        ("latitude", ["latitude"], [9], "<f8", _NAN,
         {"long_name": "latitude", "standard_name": "latitude", "stored_direction": "decreasing",
          "units": "degrees_north"}),
        ("longitude", ["longitude"], [9], "<f8", _NAN,
         {"long_name": "longitude", "standard_name": "longitude", "units": "degrees_east"}),
        ("isobaricInhPa", [], [], "<f8", _NAN,
         {"long_name": "pressure", "positive": "down", "standard_name": "air_pressure",
          "stored_direction": "decreasing", "units": "hPa"}),
        ("number", [], [], "<i8", None,
         {"long_name": "ensemble member numerical id", "standard_name": "realization",
          "units": "1"}),
        ("step", [], [], "<i8", None,
         {"long_name": "time since forecast_reference_time", "standard_name": "forecast_period",
          "units": "nanoseconds"}),
        ("surface", [], [], "<f8", _NAN,
         {"long_name": "original GRIB coordinate for key: level(surface)", "units": "1"}),
        ("time", [], [], "<i8", None,
         {"calendar": "proleptic_gregorian", "long_name": "initial time of forecast",
          "standard_name": "forecast_reference_time", "units": f"days since {day} 00:00:00"}),
        ("valid_time", [], [], "<i8", None,
         {"calendar": "proleptic_gregorian", "long_name": "time", "standard_name": "time",
          "units": f"days since {day} {START[11:16]}:00"}),
    )
    for source, fields, aux in (("cams", _CAMS, "AUX_CAMSFO"), ("ecmwf", _ECMWF, "AUX_ECMWFT")):
        group = f"conditions/meteorology/{source}"
        centre = "European Centre for Medium-Range Weather Forecasts"
        h.group(group, {
            "Conventions": "CF-1.7", "GRIB_centre": "ecmf", "GRIB_centreDescription": centre,
            "GRIB_edition": 1, "GRIB_subCentre": 0, "institution": centre,
            "history": f"GRIB to CDM+CF via cfgrib from the product's {aux} file",
        })
        for name, dims, shape, dtype, fill, attrs in coords:
            chunked = {} if shape else {"compressor": None}
            h.array(f"{group}/{name}", dims, shape, dtype, fill=fill, attrs=attrs, **chunked)
        for row in fields:
            h.array(f"{group}/{row[0]}", ["latitude", "longitude"], [9, 9], "<f4", fill=_NAN,
                    attrs=_grib_attrs(*row))


def footprint() -> dict[str, Any]:
    """The tile's outline in longitude/latitude."""
    return _stac.utm_footprint(EPSG, X0, Y0, TILE_M)


def _discovery() -> dict[str, Any]:
    geometry = footprint()
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [
            f"https://stac-extensions.github.io/{ext}/schema.json"
            for ext in ("eopf/v1.0.0", "eo/v1.1.0", "sat/v1.0.0", "view/v1.0.0",
                        "scientific/v1.0.0", "processing/v1.2.0", "product/v0.1.0")
        ],
        "id": f"{NAME}.SAFE",
        "geometry": geometry,
        "bbox": _stac.bbox_of(geometry),
        "links": [{"href": "./.zattrs.json", "rel": "self", "type": "application/json"}],
        "assets": {
            "analytic": {
                "eo:bands": [
                    {"center_wavelength": round(b.center_nm / 1000, 4), "common_name":
                     b.common_name, "full_width_half_max": b.fwhm_um, "name": b.name[1:].upper(),
                     "solar_illumination": str(b.irradiance)}
                    for b in BANDS
                ],
                "eo:cloud_cover": CLOUD, "eo:snow_cover": 0.0, "href": "null",
            }
        },
        "properties": {
            "bands": [
                {"center_wavelength": b.center_nm, "common_name": b.common_name,
                 "full_width_half_max": b.fwhm_um, "name": b.name,
                 "solar_illumination": b.irradiance}
                for b in BANDS
            ],
            "constellation": "sentinel-2", "created": CREATED, "datetime": "null",
            "start_datetime": START, "end_datetime": START,
            "eo:cloud_cover": CLOUD, "eo:snow_cover": 0.0,
            "eopf:baseline": "05.11", "eopf:data_take_id": "GS2A_20250109T100401_049883_N05.11",
            "eopf:instrument_mode": "INS-NOBS",
            "eopf:resolutions": {
                f"bands {', '.join(b.name[1:].upper() for b in BANDS if b.resolution == r)}":
                str(r) for r in PIXELS
            },
            "instrument": "msi", "platform": "sentinel-2a",
            "processing:expression": "systematic", "processing:facility": "ESA",
            "processing:level": "L2A", "processing:lineage": "IPF L2A processor",
            "processing:software": {"Sentinel-2 IPF": "05.11"},
            "product:timeline": "NRT", "product:timeliness": "PT3H",
            "product:timeliness_category": "NRT", "product:type": "S02MSIL2A",
            "proj:bbox": [X0, Y0 - TILE_M, X0 + TILE_M, Y0], "proj:epsg": EPSG,
            "providers": [{"name": "L2A Processor", "roles": ["processor"]},
                          {"name": "ESA", "roles": ["producer"]}],
            "sat:absolute_orbit": 49883, "sat:orbit_state": "descending",
            "sat:platform_international_designator": "2015-028A", "sat:relative_orbit": 122,
            "sci:doi": "10.5270/S2_-znk9xsj",
        },
    }


def _other_metadata() -> dict[str, Any]:
    return {
        "AOT_retrieval_model": "CAMS", "eopf_category": "eoproduct",
        "horizontal_CRS_code": f"EPSG:{EPSG}", "horizontal_CRS_name": "WGS84 / UTM zone 34N",
        "mean_sensing_time": START.replace("+00:00", "Z"),
        "mean_sun_azimuth_angle_in_deg_for_all_bands_all_detectors": 165.0,
        "mean_sun_zenith_angle_in_deg_for_all_bands_all_detectors": 76.0,
        "mean_value_of_aerosol_optical_thickness": 0.08,
        "mean_value_of_total_water_vapour_content": 1.0,
        "meteo": {"source": "ECMWF", "type": "FORECAST"},
        "ozone_source": "AUX_ECMWFT", "ozone_value": 365.0,
        "product_quality_status": ",".join(["PASSED"] * 6),
        "band_description": {
            b.name[1:].upper(): {
                "bandwidth": str(round(b.fwhm_um * 1000, 1)), "central_wavelength": b.center_nm,
                "units": "nm", "wavelength_min": round(b.center_nm - b.fwhm_um * 500),
                "wavelength_max": round(b.center_nm + b.fwhm_um * 500),
            }
            for b in BANDS
        },
        "history": [
            {"output": "Downlinked Stream", "type": "Raw Data"},
            {"inputs": "Downlinked Stream", "organisation": "ESA", "output": "S2MSIL0__etc",
             "processor": "L0", "type": "Level-0 Product"},
            {"inputs": "S2MSIL1C", "organisation": "ESA", "output": NAME, "processor": "L2A",
             "type": "Level-2A Product"},
        ],
    }


def hierarchy(resize: Resize) -> Hierarchy:
    """The whole product's consolidated metadata, sized by ``resize``."""
    h = Hierarchy(resize, {"other_metadata": _other_metadata(), "stac_discovery": _discovery()})
    _geometry(h)
    _masks(h)
    _meteorology(h)
    _measurements(h)
    _quality(h)
    return h
