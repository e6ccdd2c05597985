"""The Earth Search Sentinel-2 items of the replica: v1 ``sentinel-2-l2a`` and v0
``sentinel-s2-l2a-cogs``, in the schema each catalogue version publishes.

Also what the Sentinel-1 item (``_earthsearch_s1``) shares with them: the COG media type, the
extension URLs and the v1 item's skeleton (``v1_item_json``: key order and links). The scenes
and folder rules they describe come from ``_earthsearch_scenes``.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
from shapely.geometry import Polygon

from xstac_access.testing.endpoints import Endpoints
from xstac_access.testing.replica import _raster, _s2, _stac
from xstac_access.testing.replica._earthsearch_scenes import (
    JP2_BUCKET,
    V0_FOOTPRINT,
    V0_RASTERS,
    V1_RASTERS,
    Raster,
    Scene,
    cog_folder,
    jp2_key,
    roda_folder,
)

COG = "image/tiff; application=geotiff; profile=cloud-optimized"
EXT = "https://stac-extensions.github.io/{}/schema.json"
_V1_EXTENSIONS = [
    EXT.format(e)
    for e in ("processing/v1.1.0", "grid/v1.0.0", "raster/v1.1.0", "view/v1.0.0",
              "projection/v1.1.0", "mgrs/v1.0.0", "eo/v1.1.0")
]  # fmt: skip
_V0_EXTENSIONS = [EXT.format(e) for e in ("eo/v1.0.0", "view/v1.0.0", "projection/v1.0.0")]


def _eo_band(band: _s2.Band) -> dict[str, Any]:
    """A band's ``eo:bands`` entry with Earth Search v1's names."""
    return {
        "name": band.key,
        "common_name": band.common,
        "description": band.description,
        "center_wavelength": band.wavelength,
        "full_width_half_max": band.fwhm,
    }


def _raster_band(
    data_type: str, res: float, *, scale: float | None = None, offset: float = 0.0, unit: str = ""
) -> dict[str, Any]:
    """A ``raster:bands`` entry as sentinel2-to-stac writes it (15 significant bits of uint16)."""
    band: dict[str, Any] = {"nodata": 0, "data_type": data_type}
    if data_type == "uint16":
        band["bits_per_sample"] = 15
    band["spatial_resolution"] = res
    if unit:
        band["unit"] = unit
    if scale is not None:
        band.update(scale=scale, offset=offset)
    return band


def _v1_raster_asset(scene: Scene, raster: Raster, scale: str, href: str) -> dict[str, Any]:
    """One raster asset of v1, as Earth Search's sentinel2-to-stac writes it."""
    p = scene.product
    res = raster.pixel(scale)
    asset: dict[str, Any] = {"href": href, "type": COG}
    grid = {
        "proj:shape": list(raster.shape(scale)),
        "proj:transform": [res, 0, p.x0, 0, -res, p.y0],
    }
    if raster.stem in _s2.BY_NAME:
        band = _s2.BY_NAME[raster.stem]
        asset["title"] = f"{band.description} - {band.res}m"
        asset["eo:bands"] = [_eo_band(band)]
        asset["gsd"] = band.res
        asset.update(grid)
        asset["raster:bands"] = [_raster_band("uint16", res, scale=1e-4, offset=p.boa_offset)]
        asset["roles"] = ["data", "reflectance"]
    elif raster.stem == "TCI":
        asset["title"] = "True color image"
        asset["eo:bands"] = [_eo_band(b) for b in _s2.TCI_BANDS]
        asset.update(grid)
        asset["roles"] = ["visual"]
    else:
        asset["title"] = {
            "AOT": "Aerosol optical thickness (AOT)",
            "SCL": "Scene classification map (SCL)",
            "WVP": "Water vapour (WVP)",
        }[raster.stem]
        asset.update(grid)
        if raster.stem == "SCL":
            asset["raster:bands"] = [_raster_band("uint8", res)]
        else:
            unit = "cm" if raster.stem == "WVP" else ""
            asset["raster:bands"] = [_raster_band("uint16", res, scale=0.001, unit=unit)]
        asset["roles"] = ["data", "reflectance"]
    return asset


def _scene_stats(seed: int, scene: Scene) -> dict[str, float]:
    """``s2:*_percentage`` of a whole-tile scene, measured on the fields its pixels come from."""
    classes, clouds = _s2.scene_fields(
        seed, ("es-land", scene.tile), ("es-cloud", scene.item_id), scene.product.cloud
    )
    return _s2.scl_percentages(_raster.scl(classes, clouds), np.ones(classes.shape, dtype=bool))


def v1_item_json(
    endpoints: Endpoints,
    collection: str,
    item_id: str,
    canonical: str,
    properties: dict[str, Any],
    geometry: dict[str, Any],
    assets: dict[str, Any],
    extensions: list[str],
    extra_links: tuple[dict[str, Any], ...] = (),
) -> dict[str, Any]:
    """An Earth Search v1 item (STAC 1.0.0) in the key order the catalogue serves, its links as
    a STAC API answers them: self, ``canonical`` (the item's JSON on S3), ``extra_links``,
    parent, collection, root (pgstac rebuilds those four) and the API's thumbnail."""
    items = f"{endpoints.stac}/collections/{collection}"
    self_href = f"{items}/items/{item_id}"
    links = [
        {"rel": "self", "type": "application/geo+json", "href": self_href},
        {"rel": "canonical", "href": canonical, "type": "application/json"},
        *extra_links,
        {"rel": "parent", "type": "application/json", "href": items},
        {"rel": "collection", "type": "application/json", "href": items},
        {"rel": "root", "type": "application/json", "href": endpoints.stac},
        {"rel": "thumbnail", "href": f"{self_href}/thumbnail"},
    ]
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": item_id,
        "properties": properties,
        "geometry": geometry,
        "links": links,
        "assets": assets,
        "bbox": _stac.bbox_of(geometry),
        "stac_extensions": list(extensions),
        "collection": collection,
    }


def v1_item(endpoints: Endpoints, seed: int, scene: Scene, scale: str) -> dict[str, Any]:
    """One Earth Search v1 ``sentinel-2-l2a`` item."""
    p = scene.product
    base = f"{endpoints.http}/earthsearch/{cog_folder(scene, v0=False)}"
    cogs, twins = {}, {}
    for raster in V1_RASTERS:
        cogs[raster.key] = _v1_raster_asset(scene, raster, scale, f"{base}/{raster.stem}.tif")
        twin = _v1_raster_asset(
            scene, raster, scale, f"s3://{JP2_BUCKET}/{jp2_key(scene, raster.stem)}"
        )
        twins[f"{raster.key}-jp2"] = {**twin, "type": "image/jp2"}
    cogs["granule_metadata"] = {
        "href": f"{base}/granule_metadata.xml", "type": "application/xml", "roles": ["metadata"]
    }  # fmt: skip
    cogs["thumbnail"] = {
        "href": f"{base}/thumbnail.jpg", "type": "image/jpeg", "title": "Thumbnail image",
        "roles": ["thumbnail"],
    }  # fmt: skip
    cogs["tileinfo_metadata"] = {
        "href": f"{base}/tileinfo_metadata.json", "type": "application/json",
        "roles": ["metadata"],
    }  # fmt: skip
    assets = {k: cogs[k] for k in sorted(cogs)} | {k: twins[k] for k in sorted(twins)}

    lon, lat = p.centre()
    azimuth, elevation = _s2.sun_angles(p.when, lon, lat)
    stats = _scene_stats(seed, scene)
    year, month, _ = scene.date
    s3_path = (
        f"s3://sentinel-cogs/sentinel-s2-l2a-cogs/{scene.tile_path}/{year}/{month}/{scene.item_id}"
    )
    created = _s2.later(p.generation_time, 113.5)
    properties = {
        "created": created,
        "platform": f"sentinel-2{p.mission[2].lower()}",
        "constellation": "sentinel-2",
        "instruments": ["msi"],
        "eo:cloud_cover": p.cloud,
        "proj:epsg": p.epsg,
        "mgrs:utm_zone": p.zone,
        "mgrs:latitude_band": p.latitude_band,
        "mgrs:grid_square": p.grid_square,
        "grid:code": f"MGRS-{p.tile}",
        "view:sun_azimuth": azimuth,
        "view:sun_elevation": elevation,
        "s2:degraded_msi_data_percentage": 0,
        **{f"s2:{k}": v for k, v in stats.items()},
        "s2:product_type": "S2MSI2A",
        "s2:processing_baseline": p.baseline,
        "s2:product_uri": p.product_uri,
        "s2:generation_time": _s2.iso(p.generated),
        "s2:datatake_id": p.datatake_id,
        "s2:datatake_type": "INS-NOBS",
        "s2:datastrip_id": p.datastrip_id,
        "s2:granule_id": p.granule_id,
        "s2:reflectance_conversion_factor": _s2.earth_sun_factor(p.when),
        "datetime": p.datetime,
        "s2:sequence": scene.sequence,
        "earthsearch:s3_path": s3_path,
        "earthsearch:payload_id": "roda-sentinel2/workflow-sentinel2-to-stac/"
        + hashlib.sha256(scene.item_id.encode()).hexdigest()[:32],
        "earthsearch:boa_offset_applied": p.boa_offset != 0,
        "processing:software": {"sentinel2-to-stac": "0.1.1"},
        "updated": created,
    }
    geometry = _stac.utm_footprint(p.epsg, p.x0, p.y0, _s2.TILE_M)
    l1c = scene.item_id[: -len("L2A")] + "L1C"
    license_and_source = (
        _stac.SENTINEL_LICENSE_LINK,
        {"rel": "derived_from", "type": "application/geo+json",
         "href": f"{endpoints.stac}/collections/sentinel-2-l1c/items/{l1c}"},
    )  # fmt: skip
    return v1_item_json(
        endpoints, "sentinel-2-l2a", scene.item_id, f"{s3_path}/{scene.item_id}.json",
        properties, geometry, assets, _V1_EXTENSIONS, license_and_source,
    )  # fmt: skip


def v0_item(endpoints: Endpoints, scene: Scene, scale: str) -> dict[str, Any]:
    """The Earth Search v0 ``sentinel-s2-l2a-cogs`` item (STAC 1.0.0-beta.1, no roles)."""
    p = scene.product
    files = f"{endpoints.http}/earthsearch"
    base = f"{files}/{cog_folder(scene, v0=True)}"
    titles = {
        "overview": "True color image",
        "visual": "True color image",
        "AOT": "Aerosol Optical Thickness (AOT)",
        "WVP": "Water Vapour (WVP)",
        "SCL": "Scene Classification Map (SCL)",
    }
    for band in _s2.L2A_BANDS:
        titles[band.band] = f"Band {band.number}" + (f" ({band.common})" if band.v0_named else "")
    assets: dict[str, Any] = {
        "thumbnail": {
            "title": "Thumbnail", "type": "image/png",  # a JPEG, typed PNG on v0
            "href": f"{files}/{roda_folder(scene, 'l1c')}/preview.jpg",
        },
    }  # fmt: skip
    for raster in V0_RASTERS:
        res = raster.pixel(scale)
        assets[raster.key] = {
            "title": titles[raster.key],
            "type": COG,
            "href": f"{base}/{raster.stem}.tif",
            "proj:shape": list(raster.shape(scale)),
            "proj:transform": [res, 0.0, p.x0, 0.0, -res, p.y0, 0.0, 0.0, 1.0],
        }
        if raster.key == "overview":
            assets["info"] = {
                "title": "Original JSON metadata", "type": "application/json",
                "href": f"{files}/{roda_folder(scene, 'l2a')}/tileInfo.json",
            }  # fmt: skip
            assets["metadata"] = {
                "title": "Original XML metadata", "type": "application/xml",
                "href": f"{files}/{roda_folder(scene, 'l2a')}/metadata.xml",
            }  # fmt: skip
    geometry = _stac.polygon(p.lonlat(p.utm_ring(V0_FOOTPRINT)))
    coverage = Polygon(V0_FOOTPRINT).area * 100
    properties = {
        "datetime": p.datetime,
        "platform": f"sentinel-2{p.mission[2].lower()}",
        "constellation": "sentinel-2",
        "instruments": ["MSI"],
        "gsd": 10,
        "data_coverage": round(coverage, 2),
        "view:off_nadir": 0,
        "eo:cloud_cover": p.cloud,
        "proj:epsg": p.epsg,
        "sentinel:latitude_band": p.latitude_band,
        "sentinel:grid_square": p.grid_square,
        "sentinel:sequence": scene.sequence,
        "sentinel:product_id": p.product_name,
    }
    folder = f"sentinel-s2-l2a-cogs/{scene.date[0]}/{scene.item_id}"
    return {
        "type": "Feature",
        "stac_version": "1.0.0-beta.1",
        "stac_extensions": list(_V0_EXTENSIONS),
        "id": scene.item_id,
        "bbox": _stac.bbox_of(geometry),
        "geometry": geometry,
        "properties": properties,
        "collection": "sentinel-s2-l2a-cogs",
        "assets": assets,
        "links": [
            {"rel": "self", "type": "application/json",
             "href": f"s3://sentinel-cogs/{folder}/{scene.item_id}.json"},
            {"title": "Source STAC Item", "rel": "derived_from", "type": "application/json",
             "href": f"/tmp/stac/s3:/cirrus-v0-data/sentinel-s2-l2a/{scene.date[0]}/"  # noqa: S108
                     f"{scene.item_id}/{scene.item_id}.json"},
        ],
    }  # fmt: skip
