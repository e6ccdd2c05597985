"""STAC items of the EOPF Explorer (GeoZarr S2 L2A) in its two published layouts, built as code.

Both carry the Explorer's properties (EOPF, sat, view, MGRS/grid, product, processing,
scientific and projection extensions) and a ``reflectance`` asset of media type
``application/vnd.zarr; version=3; profile=multiscales`` pointing at the multiscales group,
with STAC 1.1 ``bands`` and datacube ``cube:variables``/``cube:dimensions``.

* The pipeline layout (the data-pipeline's GeoZarr output item): ``reflectance`` only, bands
  named ``<level>/<band>`` at their native level (``b8A`` spelled as the pipeline does), the
  cube's x/y extents, and a ``linkTemplates`` entry for ``{resolution}/{band}`` arrays.
* The staging layout (``sentinel-2-l2a-staging``): bands named by band with the finest level
  holding them, no cube extents, and band assets (``AOT_10m``, ``WVP_10m``, ``SCL_20m``) of type
  ``application/vnd.zarr`` pointing at arrays inside the product, with their ``proj:*`` grid.

Shapes and transforms describe the replica's store (``divisor`` times smaller than the real).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xstac_access.testing.replica import _stac
from xstac_access.testing.replica._geozarr_hierarchy import (
    LEVELS,
    full_sizes,
    resolution,
    scaled_size,
)
from xstac_access.testing.replica._geozarr_product import BANDS, REFLECTANCE, Tile

MULTISCALES_TYPE = "application/vnd.zarr; version=3; profile=multiscales"
ZARR_TYPE = "application/vnd.zarr"
_VERSIONS = (
    ("timestamps", "v1.1.0"),
    ("eo", "v1.1.0"),
    ("sat", "v1.0.0"),
    ("projection", "v2.0.0"),
    ("mgrs", "v1.0.0"),
    ("grid", "v1.1.0"),
    ("view", "v1.0.0"),
    ("processing", "v1.2.0"),
    ("product", "v0.1.0"),
    ("scientific", "v1.0.0"),
)
EXTENSIONS = (
    *(f"https://stac-extensions.github.io/{name}/{v}/schema.json" for name, v in _VERSIONS),
    "https://cs-si.github.io/eopf-stac-extension/v1.2.0/schema.json",
    "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
)
#: platform code -> (STAC platform, COSPAR international designator)
_PLATFORMS = {
    "S2A": ("sentinel-2a", "2015-028A"),
    "S2B": ("sentinel-2b", "2017-013A"),
    "S2C": ("sentinel-2c", "2024-157A"),
}
_PROVIDERS = (
    ("European Commission", "https://commission.europa.eu/", ["licensor"]),
    ("ESA", "https://sentinel.esa.int/web/sentinel/missions/copernicus", ["producer", "processor"]),
    (
        "EOPF Sentinel Zarr Samples Service",
        "https://zarr.eopf.copernicus.eu/",
        ["host", "processor"],
    ),
)
#: staging band assets: key -> (array inside the product, title)
BAND_ASSETS = {
    "AOT_10m": ("quality/atmosphere/r10m/aot", "Aerosol optical thickness (AOT)"),
    "SCL_20m": ("conditions/mask/l2a_classification/r20m/scl", "Scene classification map (SCL)"),
    "WVP_10m": ("quality/atmosphere/r10m/wvp", "Water vapour (WVP)"),
}


@dataclass(frozen=True)
class Scene:
    """What an item states about the acquisition that its name does not."""

    absolute_orbit: int
    cloud_cover: float
    snow_cover: float
    sun_azimuth: float
    sun_elevation: float


def _properties(tile: Tile, scene: Scene) -> dict[str, Any]:
    platform, _, sensed, baseline, orbit, mgrs, _ = tile.name.split("_")
    name, designator = _PLATFORMS[platform]
    processed = f"{tile.processed:%Y-%m-%dT%H:%M:%S}Z"
    start = f"{tile.sensing:%Y-%m-%dT%H:%M:%S}Z"
    ring = tile.footprint["coordinates"][0][:-1]
    version = f"{baseline[1:3]}.{baseline[3:]}"
    return {
        "datetime": start,
        "start_datetime": start,
        "end_datetime": start,
        "created": processed,
        "updated": processed,
        "published": processed,
        "gsd": 10.0,
        "mission": "copernicus",
        "constellation": "sentinel-2",
        "platform": name,
        "instruments": ["msi"],
        "sat:platform_international_designator": designator,
        "sat:orbit_state": "descending",
        "sat:absolute_orbit": scene.absolute_orbit,
        "sat:relative_orbit": int(orbit[1:]),
        "sci:doi": "10.5270/S2_-znk9xsj",
        "grid:code": f"MGRS-{mgrs[1:]}",
        "mgrs:utm_zone": int(mgrs[1:3]),
        "mgrs:latitude_band": mgrs[3],
        "mgrs:grid_square": mgrs[4:],
        "proj:code": f"EPSG:{tile.epsg}",
        "proj:bbox": tile.bbox,
        "proj:centroid": {
            "lat": round(sum(p[1] for p in ring) / len(ring), 5),
            "lon": round(sum(p[0] for p in ring) / len(ring), 5),
        },
        "providers": [{"url": url, "name": n, "roles": roles} for n, url, roles in _PROVIDERS],
        "product:type": "S02MSIL2A",
        "product:timeliness": "PT3H",
        "product:timeliness_category": "NRT",
        "processing:level": "L2A",
        "processing:lineage": "IPF L2A processor",
        "processing:facility": "ESA",
        "processing:software": {"Sentinel-2 IPF": version},
        "eo:cloud_cover": scene.cloud_cover,
        "eo:snow_cover": scene.snow_cover,
        "view:sun_azimuth": scene.sun_azimuth,
        "view:sun_elevation": scene.sun_elevation,
        "eopf:datatake_id": f"G{platform}_{sensed}_{scene.absolute_orbit:06d}_N{version}",
        "eopf:instrument_mode": "INS-NOBS",
    }


def _stac_band(name: str, staging: bool) -> str:
    """The pipeline spells band 8A with a capital A; staging items keep the array's name."""
    return name if staging else name.replace("8a", "8A")


def _reflectance(tile: Tile, root: str, divisor: int, staging: bool) -> dict[str, Any]:
    """The multiscales asset: bands (where each is read), datacube variables and dimensions."""
    sizes = full_sizes()
    shape = {name: [scaled_size(n, divisor)] * 2 for name, n in sizes.items()}
    bands, variables = [], {}
    for band in sorted(REFLECTANCE) if staging else REFLECTANCE:
        info = next(b for b in BANDS if b.name == band)
        described = {
            "common_name": info.common_name,
            "description": info.description,
            "center_wavelength": info.center,
            "full_width_half_max": info.fwhm,
        }
        stac = _stac_band(band, staging)
        if staging:  # read from the finest level that holds the band
            level = next(lv for lv in LEVELS if band in lv.bands)
            entry = {"gsd": resolution(level.name), "name": band, "proj:shape": shape[level.name]}
            bands.append(entry | described)
        else:  # read at the band's native resolution
            native = f"r{info.native}m"
            entry = {"name": f"{native}/{stac}", **described}
            if info.native != 10:
                entry |= {"proj:shape": shape[native], "gsd": info.native}
            bands.append(entry)
        variables[stac] = {
            "dimensions": ["y", "x"],
            "description": info.description,
            "type": "data",
        }
    extents = {"x": [tile.bbox[0], tile.bbox[2]], "y": [tile.bbox[1], tile.bbox[3]]}
    dimensions = {
        axis: {"type": "spatial", "axis": axis, "reference_system": f"EPSG:{tile.epsg}"}
        | ({} if staging else {"extent": extents[axis]})
        for axis in ("x", "y")
    }
    return {
        "href": f"{root}/measurements/reflectance",
        "type": MULTISCALES_TYPE,
        "title": "Surface Reflectance",
        "gsd": 10,
        "proj:code": f"EPSG:{tile.epsg}",
        "proj:shape": shape["r10m"],
        "bands": bands,
        "cube:dimensions": dimensions,
        "cube:variables": variables,
        "roles": ["data", "reflectance"],
    }


def _band_assets(tile: Tile, root: str, divisor: int) -> dict[str, Any]:
    """Staging assets of single arrays inside the product, with their level's grid."""
    sizes = full_sizes()
    assets = {}
    for key, (path, title) in BAND_ASSETS.items():
        level = path.split("/")[-2]
        n = scaled_size(sizes[level], divisor)
        assets[key] = {
            "gsd": resolution(level),
            "href": f"{root}/{path}",
            "type": ZARR_TYPE,
            "roles": ["data"],
            "title": title,
            "proj:bbox": tile.bbox,
            "proj:code": f"EPSG:{tile.epsg}",
            "proj:shape": [n, n],
            "proj:transform": tile.transform(n),
        }
    return assets


def _link_templates(root: str) -> list[dict[str, Any]]:
    """The pipeline's URI template of every reflectance array (levels of the store)."""
    variables = {
        "resolution": ("Spatial resolution", [level.name for level in LEVELS]),
        "band": ("Band name", [_stac_band(b, staging=False) for b in REFLECTANCE]),
    }
    return [
        {
            "rel": "data-variable",
            "title": "Reflectance arrays",
            "uriTemplate": f"{root}/measurements/reflectance/{{resolution}}/{{band}}",
            "variables": {
                key: {"description": text, "type": "string", "enum": values}
                for key, (text, values) in variables.items()
            },
        }
    ]


def item(
    tile: Tile, scene: Scene, root: str, divisor: int, *, staging: bool, collection: str
) -> dict[str, Any]:
    """The Explorer item of the product whose ``.zarr`` root is at ``root``."""
    assets = {"reflectance": _reflectance(tile, root, divisor, staging)}
    if staging:
        assets |= _band_assets(tile, root, divisor)
    properties = _properties(tile, scene)
    doc = _stac.item(tile.name, collection, tile.footprint, properties, assets, list(EXTENSIONS))
    if not staging:
        doc["linkTemplates"] = _link_templates(root)
    return doc
