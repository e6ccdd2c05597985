"""The EOPF Sentinel-1 IW Level-2 OCN product (``S01SIWOCN``, zarr v2) described as code.

An OCN product is a container of three components, each holding one sub-product named after the
product (``<component>/S01SIWOCN_..._VV/{conditions,measurements,quality}``): OWI (ocean wind
field on a 166 x 265 azimuth/range grid of wind cells), RVL (radial velocity, 234 x 136 cells per
sub-swath, 3 sub-swaths) and OSW (ocean swell spectra: an empty 1-cell imagette over IW).
Variables are float32 (fill -999 or NaN) with CF ``units``/``coordinates`` and flag attributes
as in the Sentinel-1 Level-2 OCN product specification; the EOPF ``_eopf_attrs`` keep dtype,
fill value, long and short names. Every array is one Blosc-zstd chunk.
"""

from __future__ import annotations

from typing import Any

from xstac_access.testing.replica import _stac
from xstac_access.testing.replica._zarr_template import Hierarchy, Resize

NAME = "S1A_IW_OCN__2SDV_20250321T063156_20250321T063221_058399_0738CE_2479"
SUB = "S01SIWOCN_20250321T063156_0025_A334_2479_0738CE_VV"
START, END = "2025-03-21T06:31:56.675155Z", "2025-03-21T06:32:21.673897Z"
CREATED = "2025-03-21T07:31:12.061723Z"
#: Swath corners: first row first/last column, then last row last/first column.
CORNERS = [(-2.673269, 51.206413), (-6.43738, 51.620117), (-6.79871, 50.124348),
           (-3.151751, 49.712505)]
_NAN, _MISSING = "NaN", -999.0
#: component -> cell dimensions and their sizes
_CELLS = {
    "owi": (("azimuth", 166), ("range", 265)),
    "rvl": (("azimuth", 234), ("range", 136), ("swath", 3)),
    "osw": (("azimuth", 1), ("range", 1)),
}
_BOOL = ("[false true]", "<b1")  # flag values text, EOPF dtype
_OWI: tuple[tuple[Any, ...], ...] = (  # group, name, units, fill, long name, options
    ("conditions", "auxiliary_wind_direction", "degrees", _NAN, "ECMWF wind direction",
     {"sn": "wind_direction"}),
    ("conditions", "auxiliary_wind_speed", "m/s", _NAN, "ECMWF wind speed", {"sn": "wind_speed"}),
    ("conditions", "elevation_angle", "degrees", _NAN, "radar elevation angle", {}),
    ("conditions", "heading", "degrees", _MISSING, "local northing angle", {}),
    ("conditions", "incidence_angle", "degrees", _NAN, "radar incidence angle", {}),
    ("conditions", "mask", None, None, "classification mask (land, ice)",
     {"flags": ("[0, 1, 2, 4]", "valid_data land ice no_data", "<u1"), "valid": (0, 8)}),
    ("conditions", "nesz", "m^2/m^2", _MISSING, "noise equivalent sigma-naught",
     {"extra": ("polarisation",)}),
    ("conditions", "nrcs", "m^2/m^2", _MISSING, "normalized radar cross section",
     {"extra": ("polarisation",)}),
    ("conditions", "nrcs_noise_corrected", "m^2/m^2", _MISSING, "noise corrected NRCS",
     {"extra": ("polarisation",)}),
    ("conditions", "nrcs_wind_gmf", "m^2/m^2", _MISSING, "NRCS predicted by the GMF", {}),
    ("measurements", "wind_direction", "degrees", _MISSING,
     "SAR wind direction (meteorological convention)", {"sn": "wind_direction"}),
    ("measurements", "wind_speed", "m/s", _MISSING, "SAR wind speed", {"sn": "wind_speed"}),
    ("quality", "inversion_quality", None, None, "inversion quality flag",
     {"flags": ("[0 1 2]", "good fair bad", "<u1"), "valid": (0, 2)}),
    ("quality", "percentage_bright_points", "%", _MISSING, "percentage of bright targets",
     {"valid": (0.0, 100.0)}),
    ("quality", "wind_quality", None, -128, "wind quality flag",
     {"flags": ("[0 1 2 3]", "good fair low bad", "<u1"), "valid": (0, 3)}),
)
_RVL_PLAIN = (  # float32 cell variables: name, units, long name
    ("azimuth_size", "m", "azimuth resolution"),
    ("dc_geo", "Hz", "doppler centroid frequency from geometry"),
    ("dc_miss", "Hz", "doppler centroid frequency from antenna mispointing"),
    ("dc_obs", "Hz", "estimated doppler centroid frequency"),
    ("ground_range_size", "m", "ground range resolution"),
    ("heading", "degrees", "local northing angle"),
    ("incidence_angle", "degrees", "radar incidence angle"),
    ("nrcs", "m^2/m^2", "normalized radar cross section"),
    ("pitch", "degrees", "platform pitch angle"),
    ("roll", "degrees", "platform roll angle"),
    ("slant_range_time", "s", "two-way slant range time"),
    ("stokes_drift_x", "m/s", "easterly surface stokes drift"),
    ("stokes_drift_y", "m/s", "northerly surface stokes drift"),
    ("sweep_angle", "degrees", "TOPS sweep angle"),
    ("yaw", "degrees", "platform yaw angle"),
)
_RVL = (
    *(("conditions", name, units, _MISSING, text, {}) for name, units, text in _RVL_PLAIN),
    ("conditions", "land_coverage", None, _MISSING, "land coverage", {"valid": (0.0, 100.0)}),
    ("conditions", "land_flag", None, None, "land flag",
     {"flags": (_BOOL[0], "no_land land", _BOOL[1])}),
    ("conditions", "zero_doppler_time", None, None, "zero doppler time at cell center",
     {"dtype": "|S1", "edtype": "<M8[us]", "inner": (("length", 26),)}),
    ("measurements", "radial_velocity", "m/s", _MISSING, "radial velocity", {}),
    ("measurements", "radial_velocity_standard_deviation", "m/s", _MISSING,
     "standard deviation of radial velocities", {}),
    ("quality", "dc_obs_confidence", None, None, "doppler centroid confidence flag",
     {"flags": (_BOOL[0], "reliable unreliable", _BOOL[1])}),
    ("quality", "dc_obs_std", "Hz", _MISSING, "doppler centroid standard deviation", {}),
    ("quality", "snr", "1", _MISSING, "signal-to-noise ratio of doppler spectra", {}),
)
_SPECTRUM = {"extra": ("angular_binsize", "wavenumber_binsize"), "coords": ("k", "phi")}
_CARTESIAN = {"extra": ("lag", "ky", "kx"), "coords": ("kx", "ky", "jx", "jy")}
_OSW = tuple(
    ("conditions", name, units, fill, name.replace("_", " "), opts)
    for name, units, fill, opts in (
        ("ambiguity_factor", "1", _MISSING, {"extra": ("partition",)}),
        ("auxiliary_wind_direction", "degrees", _NAN, {}),
        ("auxiliary_wind_speed", "m/s", _NAN, {}),
        ("azimuth_cutoff", "m", _NAN, {}), ("azimuth_size", "m", _NAN, {}),
        ("azimuth_size_slc", "pixels", _MISSING, {}),
        ("cartesian_spectra_imaginary", "m^4", _MISSING, _CARTESIAN),
        ("cartesian_spectra_real", "m^4", _MISSING, _CARTESIAN),
        ("clutter_noise_cross_covariance_spectra", "", _MISSING, {"extra": ("lag",)}),
        ("clutter_noise_cross_spectra", "", _MISSING, {"extra": ("lag",)}),
        ("depth", "m", _NAN, {}), ("ground_range_size", "m", _MISSING, {}),
        ("heading", "degrees", _NAN, {}), ("incidence_angle", "degrees", _NAN, {}),
        ("intensity", "1", _NAN, {}), ("kurtosis", "1", _NAN, {}),
        ("land_coverage", "%", _NAN, {"valid": (0.0, 100.0)}),
        ("land_flag", None, None, {"flags": (_BOOL[0], "no_land land", _BOOL[1])}),
        ("look_separation_time", "s", _NAN, {}), ("non_linear_spectral_width", "m", _NAN, {}),
        ("normalised_variance", "1", _NAN, {}), ("nrcs", "dB", _NAN, {}),
        ("nrcs_denoised", "dB", _NAN, {}), ("polar_spectrum", "m^4", _NAN, _SPECTRUM),
        ("polar_spectrum_normalised_variance", "1", _NAN, _SPECTRUM),
        ("range_cutoff", "m", _NAN, {}), ("range_size_slc", "m", _NAN, {}),
        ("skewness", "1", _NAN, {}),
        ("spectrum_resolution", "m", _NAN, {"extra": ("angular_binsize",), "coords": ("phi",)}),
        ("wind_direction", "degrees", _NAN, {}), ("wind_speed", "m/s", _NAN, {}),
    )
) + tuple(
    ("measurements", name, units, fill, name.replace("_", " "), opts)
    for name, units, fill, opts in (
        ("hs", "m", _MISSING, {"extra": ("partition",)}),
        ("hs_normalised_variance", "1", _MISSING, {"extra": ("partition",)}),
        ("partitions", "1", -128, {**_SPECTRUM, "dtype": "|i1"}),
        ("total_hs", "m", _MISSING, {}), ("total_hs_standard_deviation", "m", _MISSING, {}),
        ("wave_age", "1", _NAN, {}),
        ("wave_direction", "degrees", _MISSING, {"extra": ("partition",)}),
        ("wave_length", "m", _MISSING, {"extra": ("partition",)}), ("wind_sea_hs", "m", _NAN, {}),
    )
) + (
    ("quality", "i_confidence", None, 0, "wave direction ambiguity flag",
     {"flags": (_BOOL[0], "resolved ambiguous", _BOOL[1]), "extra": ("partition",)}),
    ("quality", "partition_quality_flag", None, None, "partition quality flag",
     {"flags": ("[0 1 2 3 4]", "excellent good fair low bad", "<u1"), "valid": (0, 4),
      "extra": ("partition",)}),
    ("quality", "quality_cross_spectra_imaginary_part", "(m/rad)^2", _NAN,
     "imaginary part of quality cross spectra", _SPECTRUM),
    ("quality", "quality_cross_spectra_real_part", "(m/rad)^2", _NAN,
     "real part of quality cross spectra", _SPECTRUM),
    ("quality", "quality_flag", None, None, "quality flag of the swell spectrum",
     {"flags": ("[0 1 2 3]", "good fair low bad", "<u1"), "valid": (0, 3)}),
    ("quality", "snr", "dB", _NAN, "signal-to-noise ratio of cross spectra", {}),
)
_OSW_AXES = (  # name, dimension, units, has a fill_value attribute, groups
    ("k", "wavenumber_binsize", "rad/m", False, ("conditions", "measurements", "quality")),
    ("phi", "angular_binsize", "degrees", False, ("conditions", "measurements", "quality")),
    ("jx", "kx", "m/m", True, ("conditions",)),
    ("jy", "ky", "m/m", True, ("conditions",)),
    ("kx", "kx", "m/m", True, ("conditions",)),
    ("ky", "ky", "m/m", True, ("conditions",)),
)
_COMPONENTS = {
    "owi": ("S-1 OWI rev 2/2", "Sentinel-1 OCN OWI Product", _OWI),
    "rvl": ("S-1 RVL rev 1/6", "Sentinel-1 OCN RVL Product", _RVL),
    "osw": ("S-1 OSW rev 1/7", "Sentinel-1 OCN OSW Product", _OSW),
}


def _variable(h: Hierarchy, comp: str, row: tuple) -> None:
    group, name, units, fill, long_name, opts = row
    cells = _CELLS[comp]
    dims = [d for d, _ in cells]
    shape = [n for _, n in cells]
    for inner, size in opts.get("inner", ()):  # zero_doppler_time: characters before the swath
        dims.insert(len(dims) - 1, inner)
        shape.insert(len(shape) - 1, size)
    dims += list(opts.get("extra", ()))
    shape += [1 if comp == "osw" else 2] * len(opts.get("extra", ()))
    coords = ["longitude", "latitude", *opts.get("coords", ()),
              *(d for d in opts.get("extra", ()) if d == "polarisation")]
    flags = opts.get("flags")
    dtype = "|i1" if flags else opts.get("dtype", "<f4")
    top: dict[str, Any] = {"coordinates": " ".join(sorted(c for c in coords if c not in dims))}
    if units is not None and not flags:
        top["units"] = units
    if flags:
        top.update(flag_meanings=flags[1], flag_values=flags[0])
    if "valid" in opts:
        top.update(valid_min=opts["valid"][0], valid_max=opts["valid"][1])
    eopf = {
        "coordinates": coords, "dimensions": dims,
        "dtype": flags[2] if flags else opts.get("edtype", dtype.replace("|", "<")),
        **({} if fill in (None, _NAN) else {"fill_value": fill}),
        "long_name": long_name, "short_name": f"{comp}_{name}",
        **({"standard_name": opts["sn"]} if "sn" in opts else {}),
        **{k: v for k, v in top.items() if k != "coordinates"},
    }
    path = f"{comp}/{SUB}/{group}/{name}"
    h.array(path, dims, shape, dtype, fill=fill, attrs={"_eopf_attrs": eopf, **top})


def _lat_lon(h: Hierarchy, comp: str, group: str) -> None:
    cells = _CELLS[comp]
    dims, shape = [d for d, _ in cells], [n for _, n in cells]
    where = "wave cell" if comp == "osw" else "wind cell" if comp == "owi" else "cell"
    for name, units in (("latitude", "degrees_north"), ("longitude", "degrees_east")):
        attrs = {
            "dimensions": dims, "dtype": "<f4",
            **({"fill_value": _MISSING} if comp == "rvl" else {}),
            "long_name": f"geodetic {name} at {where} center", "standard_name": name,
            "units": units,
        }
        h.array(f"{comp}/{SUB}/{group}/{name}", dims, shape, "<f4", fill=_NAN, attrs=attrs)


def _axes(h: Hierarchy) -> None:
    for name, dim, units, filled, groups in _OSW_AXES:
        attrs = {"dimensions": [dim], "dtype": "<f4",
                 **({"fill_value": _MISSING} if filled else {}),
                 "long_name": f"spectral axis {name}", "units": units}
        for group in groups:
            h.array(f"osw/{SUB}/{group}/{name}", [dim], [1], "<f4", fill=_NAN, attrs=attrs)


def _owi_extras(h: Hierarchy) -> None:
    base = f"owi/{SUB}"
    h.array(f"{base}/conditions/polarisation", ["polarisation"], [2], "|i1", attrs={
        "dimensions": ["polarisation"], "dtype": "<u1", "flag_meanings": "VV VH HH HV DH DV",
        "flag_values": "[0 1 2 3 4 5]", "long_name": "receiving polarisation identifier",
    })
    eopf = {"dimensions": ["calib_const_inc_angles"], "dtype": "<f4", "fill_value": _MISSING,
            "long_name": "geophysical calibration constant",
            "short_name": "owi_calibration_constant"}
    h.array(f"{base}/quality/calibration_constant", ["calib_const_inc_angles"], [159], "<f4",
            fill=_MISSING, attrs={"_eopf_attrs": eopf})


def _discovery(properties: dict[str, Any]) -> dict[str, Any]:
    geometry = _stac.polygon(CORNERS)
    exts = ("eopf/v1.0.0", "product/v0.1.0", "eo/v1.1.0", "sat/v1.0.0", "view/v1.0.0",
            "scientific/v1.0.0", "processing/v1.2.0")
    return {
        "type": "Feature", "stac_version": "1.0.0",
        "stac_extensions": [f"https://stac-extensions.github.io/{e}/schema.json" for e in exts],
        "id": "SAR Standard L2 Product", "geometry": geometry, "bbox": _stac.bbox_of(geometry),
        "links": [{"href": "./.zattrs.json", "rel": "self", "type": "application/json"},
                  *_COMPONENTS],
        "assets": {}, "properties": properties,
    }


def properties() -> dict[str, Any]:
    """The product's embedded STAC properties (as the root ``stac_discovery`` has them)."""
    return {
        "constellation": "sentinel-1", "created": CREATED, "datetime": "null",
        "start_datetime": START, "end_datetime": END,
        "eopf:datatake_id": "473294", "eopf:instrument_mode": "IW", "instrument": "sar",
        "platform": "sentinel-1a", "processing:expression": "systematic",
        "processing:software": {"Sentinel-1 IPF": "003.91"},
        "product:timeliness": "PT3H", "product:timeliness_category": "NRT-3h",
        "product:type": "S01SIWOCN", "sat:absolute_orbit": 58399,
        "sat:orbit_state": "descending", "sat:relative_orbit": 52,
    }


def _component_metadata(comp: str) -> dict[str, Any]:
    algorithm, title, _ = _COMPONENTS[comp]
    return {
        "algorithm_version": algorithm, "eopf_category": "eoproduct", "history": "MISSING",
        "mission_phase": "Operational", "polarisation": "VV", "prf": 486.486,
        "processing_center": "MTI", "processing_start_time": CREATED,
        f"{comp}_status": "missing" if comp == "osw" else "nominal", "title": title,
        **({"gmf": "CMOD5n", "wind_source": "ECMWF"} if comp != "rvl" else
           {"stokes_source": "WAVEWATCH III (R)"}),
    }


def hierarchy(resize: Resize) -> Hierarchy:
    """The whole product's consolidated metadata, sized by ``resize``."""
    history = [
        {"output": "Downlinked Stream", "processor": None, "type": "Raw Data"},
        {"inputs": {"Raw Data": "Downlinked Stream"}, "output": "S1A_IW_RAW__0SDV",
         "processingCentre": "S1A-PS, ESA", "processor": "", "type": "Level-0 Product"},
        {"inputs": {"Level-0 Product": "S1A_IW_RAW__0SDV"}, "output": NAME,
         "processingCentre": "S1A-PS, ESA", "processor": "Sentinel-1 IPF", "type": "L2",
         "version": "003.91"},
    ]
    root = {"other_metadata": {"eopf_category": "eocontainer", "history": history},
            "stac_discovery": _discovery(properties())}
    h = Hierarchy(resize, root)
    sub = {"processing:version": "004.00", "product:type": "S01SIWOCN"}
    for comp, (_, _, rows) in _COMPONENTS.items():
        h.group(comp, {"other_metadata": {"eopf_category": "eocontainer"},
                       "stac_discovery": {"links": [SUB], "properties": {"product:type": None}}})
        h.group(f"{comp}/{SUB}", {"other_metadata": _component_metadata(comp),
                                  "stac_discovery": _discovery(sub)})
        for group in ("conditions", "measurements", "quality"):
            _lat_lon(h, comp, group)
        for row in rows:
            _variable(h, comp, row)
    _axes(h)
    _owi_extras(h)
    return h
