"""Planetary Computer replica: a ``sentinel-2-l2a`` item whose blobs need SAS-signed URLs.

The item is built by code in the Planetary Computer's schema (band keys ``B01`` ... ``B12``,
``AOT``, ``SCL``, ``WVP``, ``visual``, ``preview``, the SAFE's metadata files, ``tilejson``
and ``rendered_preview``; ``eo:bands``, ``gsd`` and ``proj:*`` on the raster assets; PC's
``s2:*`` properties) from the MSI band table and naming rules of ``_s2``. It stands for PC's
scene over tile 60VUK on 2019-01-01 (Esri's reprocessing, baseline 02.12): a descending pass
whose data cover only the tile's south-west, so 87 % of the tile is no-data, like the real one.

Every asset is served. The blobs lie under ``/pc/<account>/<container>/<tile>/<y>/<m>/<d>/
<SAFE>/...`` (the real layout), a prefix the file server protects with SAS signatures from its
``/sas/token/<account>/<container>`` endpoint, as ``planetarycomputer.microsoft.com/api/sas/v1/
token`` does for Azure blobs: all the COGs (every band at its own resolution, masked to the data
footprint, at ``ci`` scale 10x coarser than the real grids), the 320 m ``PVI`` preview and small
stand-ins of the SAFE's XML files. ``tilejson`` and ``rendered_preview`` (and the item's
``preview`` link) point at ``/pc/api/data/v1/item/...`` with PC's query strings; the file server
ignores the query and answers a static TileJSON (whose tile template nothing serves) and a PNG
rendered from the TCI.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import numpy as np
from rasterio.features import rasterize
from rasterio.transform import Affine

from xstac_access.testing.endpoints import Endpoints
from xstac_access.testing.replica import _raster, _s2, _stac

COLLECTION = "pc-sentinel-2-l2a"
ACCOUNT, CONTAINER = "sentinel2l2a01", "sentinel2-l2"
PREFIX = f"/pc/{ACCOUNT}/{CONTAINER}"
DATA_API = "/pc/api/data/v1/item"
_DIVISOR = {"ci": 10, "bench": 1}
_COG = "image/tiff; application=geotiff; profile=cloud-optimized"
_EXTENSIONS = [
    f"https://stac-extensions.github.io/{e}/schema.json"
    for e in ("eo/v1.0.0", "sat/v1.0.0", "projection/v1.0.0")
]

PRODUCT = _s2.Product(
    "S2A", "60VUK", "20190101T000001", "2019-01-01T00:00:01.024000Z",
    generated="20201007T214652", archived="20201007T214653", datastrip_start="20181231T235957",
    absolute_orbit=18417, relative_orbit=116, baseline="02.12", station="ESRI",
    cloud=56.297088, x0=300000.0, y0=6500040.0,
)  # fmt: skip
#: The data footprint in tile fractions (right, down): the datastrip starts a fifth of the way
#: down the tile and the swath's east edge crosses its west side, leaving 13 % with data.
FOOTPRINT = ((0.0, 0.21), (0.30, 0.365), (0.05, 1.0), (0.0, 1.0))
#: Non-band rasters: key, file stem, resolution (PC serves AOT and WVP at 10 m).
_EXTRA = (("AOT", "AOT", 10), ("SCL", "SCL", 20), ("WVP", "WVP", 10), ("visual", "TCI", 10))
_TITLES = {"AOT": "Aerosol optical thickness (AOT)", "SCL": "Scene classfication map (SCL)",
           "WVP": "Water vapour (WVP)", "visual": "True color image"}  # fmt: skip
_METADATA = (  # key, title, path in the SAFE
    ("safe-manifest", "SAFE manifest", "manifest.safe"),
    ("granule-metadata", "Granule metadata", "GRANULE/{granule}/MTD_TL.xml"),
    ("inspire-metadata", "INSPIRE metadata", "INSPIRE.xml"),
    ("product-metadata", "Product metadata", "MTD_MSIL2A.xml"),
    ("datastrip-metadata", "Datastrip metadata", "DATASTRIP/{datastrip}/MTD_DS.xml"),
)


def _rasters() -> list[tuple[str, str, int]]:
    """(asset key, file stem, resolution) of every raster of the item, in PC's (sorted) order."""
    return sorted([(b.band, b.band, b.res) for b in _s2.L2A_BANDS] + list(_EXTRA))


def _safe() -> str:
    """Blob path of the SAFE: ``<zone>/<band>/<square>/<y>/<m>/<d>/<product>.SAFE``."""
    p, s = PRODUCT, PRODUCT.sensing
    return f"{p.zone}/{p.latitude_band}/{p.grid_square}/{s[:4]}/{s[4:6]}/{s[6:8]}/{p.product_uri}"


def _blob(key: str, stem: str, res: int) -> str:
    """A raster's path below the container (``IMG_DATA/R<res>m/T<tile>_<time>_<stem>_<res>m``)."""
    p = PRODUCT
    name = f"T{p.tile}_{p.sensing}_{stem}"
    granule = f"{_safe()}/GRANULE/{p.granule_folder}"
    if key == "preview":
        return f"{granule}/QI_DATA/{name}.tif"
    return f"{granule}/IMG_DATA/R{res}m/{name}_{res}m.tif"


def _metadata_blob(path: str) -> str:
    p = PRODUCT
    return f"{_safe()}/" + path.format(granule=p.granule_folder, datastrip=p.datastrip_folder)


def _shape(res: int, scale: str) -> tuple[int, int]:
    n = _s2.TILE_M // res // _DIVISOR[scale]
    return n, n


def _valid(shape: tuple[int, int]) -> np.ndarray:
    """Pixels inside the data footprint."""
    transform = Affine(1 / shape[1], 0, 0, 0, 1 / shape[0], 0)  # tile fractions (right, down)
    polygon = {"type": "Polygon", "coordinates": [[*FOOTPRINT, FOOTPRINT[0]]]}
    return rasterize([polygon], out_shape=shape, transform=transform).astype(bool)


def _pixels(seed: int, stem: str, shape: tuple[int, int]) -> np.ndarray:
    """The values of one raster (``_s2.l2a_pixels``), masked to the data footprint."""
    classes, clouds = _s2.scene_fields(seed, ("pc-land",), ("pc-cloud",), PRODUCT.cloud, shape)
    texture = _raster.rng_for(seed, "pc-texture", stem)
    field = _raster.rng_for(seed, "pc", stem)
    return _s2.l2a_pixels(stem, classes, clouds, _valid(shape), texture, field, PRODUCT.boa_offset)


def _write(root: Path, seed: int, scale: str) -> None:
    """Every raster (masked to the footprint), the preview, the XML stand-ins, the API files."""
    files = root / "files"
    container = files / PREFIX.lstrip("/")
    p = PRODUCT
    crs = f"EPSG:{p.epsg}"
    tci = None
    for key, stem, res in _rasters():
        shape = _shape(res, scale)
        pixel = _s2.TILE_M / shape[0]
        data = _pixels(seed, stem, shape)
        transform = Affine(pixel, 0, p.x0, 0, -pixel, p.y0)
        _raster.write_cog(container / _blob(key, stem, res), data, crs, transform, nodata=0)
        if stem == "TCI":
            tci = data
    preview = _pixels(seed, "PVI", (343, 343))
    transform = Affine(320.0, 0, p.x0, 0, -320.0, p.y0)
    _raster.write_cog(container / _blob("preview", "PVI", 320), preview, crs, transform, nodata=0)
    for key, _title, path in _METADATA:
        _raster.write_bytes(container / _metadata_blob(path), _metadata_xml(key))
    api = files / DATA_API.lstrip("/")
    assert tci is not None  # _rasters() has the TCI
    _raster.write_bytes(api / "preview.png", _raster.image_bytes(tci, "PNG", size=512))
    _raster.write_bytes(api / "tilejson.json", json.dumps(_tilejson()).encode())
    _raster.write_bytes(
        api / "map", b"<!doctype html><title>Map of item</title><p>PC item map (replica)</p>\n"
    )


_ROOTS = {"safe-manifest": "xfdu:XFDU", "granule-metadata": "n1:Level-2A_Tile_ID",
          "inspire-metadata": "gmd:MD_Metadata", "product-metadata": "n1:Level-2A_User_Product",
          "datastrip-metadata": "n1:Level-2A_DataStrip_ID"}  # fmt: skip


def _metadata_xml(key: str) -> bytes:
    """A small stand-in of one of the SAFE's XML files, naming the product."""
    p, root = PRODUCT, _ROOTS[key]
    prefix = root.split(":")[0]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<{root} xmlns:{prefix}="urn:replica:{prefix}">'
        f"<PRODUCT_URI>{p.product_uri}</PRODUCT_URI><GRANULE_ID>{p.granule_id}</GRANULE_ID>"
        f"<DATASTRIP_ID>{p.datastrip_id}</DATASTRIP_ID></{root}>\n"
    ).encode()


def _tilejson() -> dict[str, Any]:
    lonlat = PRODUCT.lonlat(PRODUCT.utm_ring(FOOTPRINT))
    lons, lats = [x for x, _ in lonlat], [y for _, y in lonlat]
    return {
        "tilejson": "2.2.0",
        "version": "1.0.0",
        "scheme": "xyz",
        "tiles": [f"{DATA_API}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}@1x?{_query()}"],
        "minzoom": 0,
        "maxzoom": 24,
        "bounds": [min(lons), min(lats), max(lons), max(lats)],
        "center": [sum(lons) / len(lons), sum(lats) / len(lats), 0],
    }


def _item_id() -> str:
    """PC's id: the SAFE name without the baseline and the suffix."""
    return PRODUCT.product_name.replace(f"_{PRODUCT.n_baseline}", "")


def _query(**extra: str) -> str:
    params = {"collection": COLLECTION, "item": _item_id(), **extra}
    return urlencode(params, quote_via=quote, safe="")


def jobs(root: Path, seed: int, scale: str) -> list[Callable[[], None]]:
    return [functools.partial(_write, root, seed, scale)]


def server_rules() -> dict[str, list[dict[str, Any]]]:
    """The SAS-protected prefix of the blob container."""
    return {
        "protected": [
            {
                "prefix": PREFIX + "/",
                "host": "main",
                "scheme": "sas",
                "account": ACCOUNT,
                "container": CONTAINER,
            }
        ]
    }


def collections() -> list[dict[str, Any]]:
    return [
        _stac.collection(
            COLLECTION,
            "Sentinel-2 Level-2A (Planetary Computer replica)",
            "Sentinel-2 L2A COGs on Azure blob storage, read with SAS tokens.",
            [-180, -90, 180, 90],
            "2015-06-27T10:25:31Z",
            license="proprietary",
        )
    ]


def _eo_band(band: _s2.Band) -> dict[str, Any]:
    out: dict[str, Any] = {"name": band.band}
    if band.pc_common:
        out["common_name"] = band.pc_common
    out.update(
        description=band.pc_description,
        center_wavelength=band.wavelength,
        full_width_half_max=band.fwhm,
    )
    return out


def _raster_asset(href: str, key: str, res: int, scale: str) -> dict[str, Any]:
    p = PRODUCT
    pixel = _s2.TILE_M / _shape(res, scale)[0]
    asset: dict[str, Any] = {
        "href": href,
        "proj:bbox": [p.x0, p.y0 - _s2.TILE_M, p.x0 + _s2.TILE_M, p.y0],
        "proj:shape": list(_shape(res, scale)),
        "proj:transform": [pixel, 0.0, p.x0, 0.0, -pixel, p.y0],
        "gsd": float(res),
        "type": _COG,
        "roles": ["data"],
    }
    if key in _s2.BY_NAME:
        band = _s2.BY_NAME[key]
        asset["title"] = f"{band.pc_description} - {band.res}m"
        asset["eo:bands"] = [_eo_band(band)]
    else:
        asset["title"] = _TITLES[key]
        if key == "visual":
            asset["eo:bands"] = [_eo_band(b) for b in _s2.TCI_BANDS]
    return asset


def items(endpoints: Endpoints, seed: int, scale: str) -> list[dict[str, Any]]:
    """The PC item, its hrefs on the replica's blob prefix and data API."""
    p = PRODUCT
    blobs = endpoints.http + PREFIX
    assets: dict[str, Any] = {}
    for key, stem, res in _rasters():
        assets[key] = _raster_asset(f"{blobs}/{_blob(key, stem, res)}", key, res, scale)
    assets["preview"] = {
        "href": f"{blobs}/{_blob('preview', 'PVI', 320)}",
        "type": _COG,
        "roles": ["thumbnail"],
        "title": "Thumbnail",
    }
    for key, title, path in _METADATA:
        assets[key] = {
            "href": f"{blobs}/{_metadata_blob(path)}",
            "type": "application/xml",
            "roles": ["metadata"],
            "title": title,
        }
    render = {"assets": "visual", "asset_bidx": "visual|1,2,3", "nodata": "0", "format": "png"}
    api = endpoints.http + DATA_API
    assets["tilejson"] = {
        "title": "TileJSON with default rendering",
        "href": f"{api}/tilejson.json?{_query(**render)}",
        "type": "application/json",
        "roles": ["tiles"],
    }
    assets["rendered_preview"] = {
        "title": "Rendered preview",
        "rel": "preview",
        "href": f"{api}/preview.png?{_query(**render)}",
        "roles": ["overview"],
        "type": "image/png",
    }

    classes, clouds = _s2.scene_fields(seed, ("pc-land",), ("pc-cloud",), p.cloud)
    stats = _s2.scl_percentages(_raster.scl(classes, clouds), _valid(classes.shape))
    lon, lat = p.centre()
    azimuth, elevation = _s2.sun_angles(p.when, lon, lat)
    properties = {
        "datetime": p.datetime,
        "platform": f"Sentinel-2{p.mission[2]}",
        "proj:epsg": p.epsg,
        "instruments": ["msi"],
        "s2:mgrs_tile": p.tile,
        "constellation": "Sentinel 2",
        "s2:granule_id": p.granule_id,
        "eo:cloud_cover": p.cloud,
        "s2:datatake_id": p.datatake_id,
        "s2:product_uri": p.product_uri,
        "s2:datastrip_id": p.datastrip_id,
        "s2:product_type": "S2MSI2A",
        "sat:orbit_state": "descending",
        "s2:datatake_type": "INS-NOBS",
        "s2:generation_time": p.generation_time.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "sat:relative_orbit": p.relative_orbit,
        "s2:mean_solar_zenith": 90 - elevation,
        "s2:mean_solar_azimuth": azimuth,
        "s2:processing_baseline": p.baseline,
        **{f"s2:{k}": v for k, v in stats.items()},
        "s2:degraded_msi_data_percentage": 0.0,
        "s2:reflectance_conversion_factor": _s2.earth_sun_factor(p.when),
    }
    geometry = _stac.polygon(p.lonlat(p.utm_ring(FOOTPRINT)))
    item_id = _item_id()
    stac = f"{endpoints.stac}/collections/{COLLECTION}"
    links = [
        {"rel": "collection", "type": "application/json", "href": stac},
        {"rel": "parent", "type": "application/json", "href": stac},
        {"rel": "root", "type": "application/json", "href": f"{endpoints.stac}/"},
        {"rel": "self", "type": "application/geo+json", "href": f"{stac}/items/{item_id}"},
        _stac.SENTINEL_LICENSE_LINK,
        {"rel": "preview", "href": f"{api}/map?{_query()}", "title": "Map of item",
         "type": "text/html"},
    ]  # fmt: skip
    return [
        {
            "id": item_id,
            "bbox": _stac.bbox_of(geometry),
            "type": "Feature",
            "links": links,
            "assets": assets,
            "geometry": geometry,
            "collection": COLLECTION,
            "properties": properties,
            "stac_extensions": list(_EXTENSIONS),
            "stac_version": "1.0.0",
        }
    ]
