"""Earth Search (AWS) replica: v1 ``sentinel-2-l2a`` and v0 ``sentinel-s2-l2a-cogs`` items, and a
``sentinel-1-grd`` item whose ``hh`` asset is a real GCP COG on the S3 store.

Items start from real Earth Search item JSON (``templates/``): same keys, titles, roles, media
types, ``raster:bands`` and ``eo:bands``; hrefs, ``proj:shape``/``proj:transform`` and a few
per-scene properties are rewritten. The ``*-jp2`` twins of v1 (requester-pays JP2 on
``s3://sentinel-s2-l2a``) are left out: no reader path needs them. At ``ci`` scale the pixel
grids are 6x coarser than the real ones (10 m bands: 1830 px of 60 m), covering the same tiles.
"""

from __future__ import annotations

import functools
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.features import rasterize
from rasterio.transform import Affine
from rasterio.warp import transform_geom
from shapely.geometry import MultiPoint, mapping

from xstac_access.testing.endpoints import Endpoints
from xstac_access.testing.replica import _raster, _stac

_V1 = "earthsearch_v1_sentinel-2-l2a_S2A_13TDE_20231008_0_L2A.json"
_V0 = "earthsearch_v0_sentinel-s2-l2a-cogs_S2A_28QCH_20200714_0_L2A.json"
_S1 = (
    "earthsearch_v1_sentinel-1-grd_"
    "S1A_IW_GRDH_1SSH_20250731T135702_20250731T135722_060328_077F7E.json"
)
_S1_TIFF = "riotiler_cog_gcps_s1_grd.tif"
S1_BUCKET = "sentinel-s1-l1c"
_DIVISOR = {"ci": 6, "bench": 1}
_TILE_M = 109800
#: band file stem -> ``_raster`` reflectance family (coastal/blue, green, red, red edge, nir, swir)
_FAMILY = {
    "B01": 0,
    "B02": 0,
    "B03": 1,
    "B04": 2,
    "B05": 3,
    "B06": 3,
    "B07": 3,
    "B08": 4,
    "B8A": 4,
    "B09": 4,
    "B11": 5,
    "B12": 5,
}


@dataclass(frozen=True)
class Scene:
    """One Sentinel-2 tile on one day, as Earth Search names it."""

    item_id: str
    zone: int
    band: str
    square: str
    x0: float
    y0: float
    datetime: str
    cloud: float

    @property
    def epsg(self) -> int:
        return 32600 + self.zone

    @property
    def date(self) -> tuple[str, str, str]:
        return self.datetime[0:4], str(int(self.datetime[5:7])), str(int(self.datetime[8:10]))

    @property
    def tile(self) -> str:
        return f"{self.zone}{self.band}{self.square}"


V1_SCENES = (
    Scene(
        "S2A_13TDE_20231008_0_L2A",
        13,
        "T",
        "DE",
        399960,
        4500000,
        "2023-10-08T18:02:55.276000Z",
        0.000299,
    ),
    Scene(
        "S2B_13TDE_20231003_0_L2A",
        13,
        "T",
        "DE",
        399960,
        4500000,
        "2023-10-03T18:02:51.102000Z",
        63.2,
    ),
    Scene(
        "S2A_13TDF_20231008_0_L2A",
        13,
        "T",
        "DF",
        399960,
        4600020,
        "2023-10-08T18:02:41.520000Z",
        8.4,
    ),
)
V0_SCENE = Scene(
    "S2A_28QCH_20200714_0_L2A", 28, "Q", "CH", 300000, 2300040, "2020-07-14T11:55:52Z", 2.36
)


def _local(href: str) -> str:
    """Path below ``/earthsearch/`` for a real public href (bucket host -> first path segment)."""
    rest = href.split("://", 1)[1]
    host, path = rest.split("/", 1)
    return f"{'roda' if host.startswith('roda') else host.split('.')[0]}/{path}"


def _plan(
    scene: Scene, template: dict[str, Any], scale: str, v0: bool
) -> dict[str, tuple[str, tuple[int, int] | None]]:
    """Asset key -> (local path, pixel shape or None) for one scene, from the template's assets."""
    old_id = template["id"]
    year, month, _ = scene.date
    plan = {}
    for key, asset in template["assets"].items():
        if key.endswith("-jp2"):
            continue
        path = _local(asset["href"]).replace(old_id, scene.item_id)
        if not v0:
            path = path.replace(
                "13/T/DE/2023/10", f"{scene.zone}/{scene.band}/{scene.square}/{year}/{month}"
            )
        shape = asset.get("proj:shape")
        if shape and shape[0] > 1000:
            shape = [shape[0] // _DIVISOR[scale], shape[1] // _DIVISOR[scale]]
        plan[key] = (path, tuple(shape) if shape else None)
    return plan


def _scene_rasters(
    root: Path,
    seed: int,
    scene: Scene,
    plan: dict[str, tuple[str, tuple[int, int] | None]],
    footprint: dict[str, Any] | None,
) -> None:
    """Write every COG, the thumbnail and the small metadata files of one scene."""
    base = root / "files" / "earthsearch"
    land_seed = _raster.seed_words(seed, "es-land", scene.tile)
    cloud_seed = _raster.seed_words(seed, "es-cloud", scene.item_id)
    tci = None
    for _key, (path, shape) in sorted(plan.items(), key=lambda kv: -(kv[1][1] or (0, 0))[0]):
        stem = Path(path).stem
        if shape is None:
            _write_side_file(base / path, stem, scene, tci)
            continue
        res = _TILE_M / shape[0] if stem != "L2A_PVI" else 320.0
        transform = Affine(res, 0, scene.x0, 0, -res, scene.y0)
        classes = _raster.landscape(land_seed, shape)
        clouds = _raster.cloud_mask(cloud_seed, shape, scene.cloud)
        valid = _valid_mask(footprint, scene.epsg, transform, shape)
        texture = _raster.rng_for(seed, "es-texture", scene.item_id, stem)
        if stem in ("TCI", "L2A_PVI"):
            refl = [
                _raster.textured(_raster.reflectance(classes, f, clouds), texture)
                for f in (2, 1, 0)
            ]
            data = np.where(valid, _raster.true_colour(*refl), np.uint8(0))
            tci = data if stem == "TCI" else tci
        elif stem == "SCL":
            data = np.where(valid, _raster.scl(classes, clouds), np.uint8(0))
        elif stem in ("AOT", "WVP"):
            level = 120 if stem == "AOT" else 1400
            field = _raster.smooth_field(
                _raster.rng_for(seed, "es", scene.item_id, stem), shape, waves=3
            )
            data = np.where(valid, (level * (0.8 + 0.4 * field)).astype(np.uint16), np.uint16(0))
        else:
            refl = _raster.textured(_raster.reflectance(classes, _FAMILY[stem], clouds), texture)
            data = np.where(valid, _raster.to_digital_numbers(refl), np.uint16(0))
        _raster.write_cog(base / path, data, f"EPSG:{scene.epsg}", transform, nodata=0)


def _valid_mask(
    footprint: dict[str, Any] | None, epsg: int, transform: Affine, shape: tuple[int, int]
) -> np.ndarray:
    """Pixels inside the data footprint (v0 scene covers a sliver of its tile), else all True."""
    if footprint is None:
        return np.ones(shape, dtype=bool)
    utm = transform_geom("EPSG:4326", f"EPSG:{epsg}", footprint)
    return (
        rasterize(
            [utm], out_shape=shape, transform=transform, fill=0, default_value=1, dtype="uint8"
        )
        == 1
    )


def _write_side_file(path: Path, stem: str, scene: Scene, tci: np.ndarray | None) -> None:
    """Thumbnail (from the TCI) or a small tile-info JSON / granule XML."""
    if path.suffix in (".jpg", ".png"):
        _raster.write_bytes(path, _raster.image_bytes(tci, "JPEG", size=343))
    elif path.suffix == ".json":
        info = {
            "path": f"tiles/{scene.zone}/{scene.band}/{scene.square}",
            "utmZone": scene.zone,
            "latitudeBand": scene.band,
            "gridSquare": scene.square,
            "timestamp": scene.datetime,
            "tileDataGeometry": {
                "type": "Polygon",
                "crs": {
                    "type": "name",
                    "properties": {"name": f"urn:ogc:def:crs:EPSG:8.8.1:{scene.epsg}"},
                },
            },
        }
        _raster.write_bytes(path, json.dumps(info, indent=2).encode())
    else:
        xml = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<n1:Level-2A_Tile_ID xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-2A_Tile_Metadata.xsd">\n'
            f"  <n1:General_Info><TILE_ID>{scene.item_id}</TILE_ID>"
            f"<SENSING_TIME>{scene.datetime}</SENSING_TIME></n1:General_Info>\n"
            "  <n1:Geometric_Info><Tile_Geocoding>"
            f"<HORIZONTAL_CS_CODE>EPSG:{scene.epsg}</HORIZONTAL_CS_CODE>"
            "</Tile_Geocoding></n1:Geometric_Info>\n"
            "</n1:Level-2A_Tile_ID>\n"
        )
        _raster.write_bytes(path, xml.encode())


def jobs(root: Path, seed: int, scale: str) -> list[Callable[[], None]]:
    """Independent writers: one per S2 scene (v1 and v0), one for the S1 GRD objects on S3."""
    v1, v0 = _stac.template(_V1), _stac.template(_V0)
    out: list[Callable[[], None]] = [
        functools.partial(
            _scene_rasters, root, seed, scene, _plan(scene, v1, scale, v0=False), None
        )
        for scene in V1_SCENES
    ]
    out.append(
        functools.partial(
            _scene_rasters,
            root,
            seed,
            V0_SCENE,
            _plan(V0_SCENE, v0, scale, v0=True),
            v0["geometry"],
        )
    )
    out.append(functools.partial(_write_s1, root))
    return out


def _write_s1(root: Path) -> None:
    """Put the real GCP COG and small SAFE side files in the ``sentinel-s1-l1c`` bucket."""
    template = _stac.template(_S1)
    bucket = root / "s3" / S1_BUCKET
    prefix = template["assets"]["hh"]["href"].split(f"s3://{S1_BUCKET}/", 1)[1]
    prefix = prefix.rsplit("/measurement/", 1)[0]
    for key, asset in template["assets"].items():
        target = bucket / asset["href"].split(f"s3://{S1_BUCKET}/", 1)[1]
        target.parent.mkdir(parents=True, exist_ok=True)
        if key == "hh":
            shutil.copyfile(_stac.TEMPLATES / _S1_TIFF, target)
        elif key == "thumbnail":
            with rasterio.open(_stac.TEMPLATES / _S1_TIFF) as src:
                grey = src.read(1, out_shape=(src.height // 4, src.width // 4)).astype(np.float32)
            grey = np.clip(grey / max(np.percentile(grey, 98), 1) * 255, 0, 255).astype(np.uint8)
            _raster.write_bytes(target, _raster.image_bytes(np.stack([grey] * 3), "PNG"))
        else:
            _raster.write_bytes(
                target,
                f'<?xml version="1.0" encoding="UTF-8"?>\n<!-- {key} of {prefix} -->\n'
                "<product/>\n".encode(),
            )


def _s1_item(endpoints: Endpoints) -> dict[str, Any]:
    """The real S1 GRD item with its footprint taken from the GCPs of the real COG it points at."""
    item = _stac.template(_S1)
    with rasterio.open(_stac.TEMPLATES / _S1_TIFF) as src:
        gcps, _ = src.gcps
        shape = [src.height, src.width]
    hull = MultiPoint([(g.x, g.y) for g in gcps]).convex_hull
    item["geometry"] = _stac.polygon(list(mapping(hull)["coordinates"][0][:-1]))
    item["bbox"] = _stac.bbox_of(item["geometry"])
    west, south, east, north = item["bbox"]
    props = item["properties"]
    props.update(
        {
            "proj:bbox": item["bbox"],
            "proj:shape": shape,
            "s1:shape": shape,
            "proj:centroid": {"lat": round(hull.centroid.y, 5), "lon": round(hull.centroid.x, 5)},
            "proj:transform": [
                (east - west) / shape[1],
                0,
                west,
                0,
                -(north - south) / shape[0],
                north,
            ],
        }
    )
    hh = item["assets"]["hh"]
    path = hh["href"].split("s3://", 1)[1]
    hh["alternate"] = {
        "https": {
            "href": f"{endpoints.s3}/{path}",
            "title": "HH Data over HTTPS (path-style)",
        }
    }
    item["stac_extensions"].append(
        "https://stac-extensions.github.io/alternate-assets/v1.2.0/schema.json"
    )
    item["links"] = []
    return item


def _s2_item(
    template: dict[str, Any], scene: Scene, scale: str, endpoints: Endpoints, v0: bool
) -> dict[str, Any]:
    """Rewrite a real S2 item for ``scene``: hrefs, proj shapes/transforms, ids and dates."""
    item = json.loads(json.dumps(template).replace(template["id"], scene.item_id))
    plan = _plan(scene, template, scale, v0)
    item["assets"] = {k: a for k, a in item["assets"].items() if k in plan}
    for key, asset in item["assets"].items():
        path, shape = plan[key]
        asset["href"] = f"{endpoints.http}/earthsearch/{path}"
        if shape:
            res = _TILE_M / shape[0] if "L2A_PVI" not in path else 320.0
            asset["proj:shape"] = list(shape)
            asset["proj:transform"] = [res, 0.0, scene.x0, 0.0, -res, scene.y0] + (
                [0.0, 0.0, 1.0] if v0 else []
            )
            for band in asset.get("raster:bands", []):
                band["spatial_resolution"] = res
    props = item["properties"]
    props.update(
        {
            "datetime": scene.datetime,
            "eo:cloud_cover": scene.cloud,
            "proj:epsg": scene.epsg,
            "proj:code": f"EPSG:{scene.epsg}",
            "platform": f"sentinel-2{scene.item_id[2].lower()}",
        }
    )
    if not v0:
        item["geometry"] = _stac.utm_footprint(scene.epsg, scene.x0, scene.y0, _TILE_M)
        item["bbox"] = _stac.bbox_of(item["geometry"])
        year, month, _ = scene.date
        props.update(
            {
                "mgrs:grid_square": scene.square,
                "grid:code": f"MGRS-{scene.tile}",
                "created": scene.datetime,
                "updated": scene.datetime,
                "earthsearch:s3_path": f"s3://sentinel-cogs/sentinel-s2-l2a-cogs/{scene.zone}/{scene.band}/{scene.square}/{year}/{month}/{scene.item_id}",
            }
        )
        for k in ("s2:product_uri", "s2:granule_id", "s2:datatake_id", "s2:datastrip_id"):
            props[k] = (
                props[k]
                .replace("T13TDE", f"T{scene.tile}")
                .replace("S2A", scene.item_id[:3])
                .replace("20231008", scene.datetime[:10].replace("-", ""))
            )
    item["links"] = [link for link in item["links"] if link["rel"] == "license"]
    item["stac_version"] = item["stac_version"].split("-")[0]  # v0 says 1.0.0-beta.1
    return item


def collections() -> list[dict[str, Any]]:
    """The three Earth Search collections (v1 S2 L2A, v1 S1 GRD, legacy v0 S2 L2A COGs)."""
    lic = {"license": "proprietary", "links": [_stac.SENTINEL_LICENSE_LINK]}
    return [
        _stac.collection(
            "sentinel-2-l2a",
            "Sentinel-2 Level-2A",
            "Global Sentinel-2 data from the MSI onboard Sentinel-2 (Earth Search v1).",
            [-180, -90, 180, 90],
            "2015-06-27T10:25:31.456000Z",
            **lic,
        ),
        _stac.collection(
            "sentinel-1-grd",
            "Sentinel-1 Level-1C Ground Range Detected (GRD)",
            "Sentinel-1 GRD products (Earth Search v1).",
            [-180, -90, 180, 90],
            "2014-10-10T00:28:21Z",
            **lic,
        ),
        _stac.collection(
            "sentinel-s2-l2a-cogs",
            "Sentinel 2 L2A COGs",
            "Sentinel-2 imagery processed to Level 2A and converted to COGs (Earth Search v0).",
            [-180, -90, 180, 90],
            "2015-06-27T10:25:31.456000Z",
            **lic,
        ),
    ]


def items(endpoints: Endpoints, seed: int, scale: str) -> list[dict[str, Any]]:
    """Three v1 S2 items (2 dates, 3 cloud covers), one v0 item and the S1 GRD item."""
    v1, v0 = _stac.template(_V1), _stac.template(_V0)
    out = [_s2_item(v1, scene, scale, endpoints, v0=False) for scene in V1_SCENES]
    out.append(_s2_item(v0, V0_SCENE, scale, endpoints, v0=True))
    out.append(_s1_item(endpoints))
    return out
