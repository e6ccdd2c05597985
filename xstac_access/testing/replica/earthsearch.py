"""Earth Search (AWS) replica: v1 ``sentinel-2-l2a``, legacy v0 ``sentinel-s2-l2a-cogs`` and v1
``sentinel-1-grd`` items, built by code in Earth Search's schema, with the files they point at.

Sentinel-2 (v1): three scenes (two dates on tile 13TDE, one on 13TDF) with the asset keys,
titles, roles, media types, ``eo:bands`` and ``raster:bands`` of the real catalogue, made from
the MSI band table of ``_s2``; property names (``s2:*``, ``mgrs:*``, ``grid:code``,
``earthsearch:*``, ``processing:software``), extensions and link relations as Earth Search
publishes them. ESA's names (product URI, granule, datatake and datastrip ids) follow the SAFE
naming rules; sun angles and the scene-classification percentages are computed from the scene's
time and from the seeded land cover and clouds its pixels are drawn from. At ``ci`` scale the
grids are 6x coarser than the real ones (10 m bands: 1830 px of 60 m) over the same tiles.

Every asset href is served. The COGs, the thumbnail and the two metadata side files lie under
``/earthsearch/sentinel-cogs/...`` on the file server. The ``*-jp2`` twins keep their real form,
``s3://sentinel-s2-l2a/tiles/<zone>/<band>/<square>/<y>/<m>/<d>/<seq>/<B>.jp2`` (ESA's
requester-pays bucket in eu-central-1), and the replica serves them: bucket ``sentinel-s2-l2a``
of the S3 store holds real JPEG 2000 files of the same pixels (GDAL JP2OpenJPEG, georeferenced,
same grid as the COG twin), and answers for it as AWS does (:data:`BUCKET_RULES`, after the AWS
open-data registry: a request signed for another region is redirected, an anonymous one or one
that does not say its sender pays is refused). The v1 S2 items carry no ``storage:*`` fields, as
Earth Search's do not: readers must know where ``sentinel-s2-l2a`` is. Deliberate difference:
the twins are lossy (quality 5) where ESA's are lossless, so that the ``ci`` replica stays within
its size budget.

Sentinel-2 (v0): one scene whose data cover a sliver at the west edge of tile 28QCH (6.85 % of
the tile, as in the real item), STAC ``1.0.0-beta.1``, keys ``B01`` ... ``B12``, ``AOT``,
``WVP``, ``SCL``, ``visual``, ``overview`` (``L2A_PVI``), ``thumbnail`` (a JPEG typed
``image/png``, as on v0), ``info`` and ``metadata`` (served from ``/earthsearch/roda/...``).

Sentinel-1 GRD: one IW GRDH single-polarisation (HH) ascending scene in the real item's schema
(``sar:*``, ``sat:*``, ``s1:*``, ``storage:*``; ``s1:shape`` and ``proj:shape`` are
``[samples, lines]``, as stactools writes them), its objects in bucket ``sentinel-s1-l1c``
(requester pays, eu-central-1, as the item's ``storage:*`` fields say and the S3 store enforces).
The ``hh`` measurement is generated (``_sar``): uint16 amplitude with speckle, 21 x 10 = 210
GCPs in EPSG:4326 from the first to the last line and sample, no geotransform, one-row strips,
uncompressed, internal overviews 2/4/8, and its IFDs after the image data, like the
processor's TIFFs. The item's footprint is the ring of its border GCPs. The other
objects (manifest, annotation XMLs, quick-look PNG) are small stand-ins with the real names;
``schema-product-hh`` points at ``annotation/rfi/rfi-iw-hh.xml`` as on Earth Search.

This module writes the S2 files and is the system's interface (``jobs``, ``collections``,
``items``, ``BUCKETS``, ``BUCKET_RULES``); it re-exports the tables tests and tools use. The
rest lives by concern:
``_earthsearch_scenes`` (the S2 scenes, their rasters and bucket folders), ``_earthsearch_items``
(the v1 and v0 S2 items) and ``_earthsearch_s1`` (the GRD scene: GCPs, TIFF, SAFE files, item).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from rasterio.features import rasterize
from rasterio.transform import Affine

from xstac_access.testing.endpoints import Endpoints
from xstac_access.testing.replica import _earthsearch_items, _earthsearch_s1, _raster, _s2, _stac
from xstac_access.testing.replica._earthsearch_s1 import (
    BUCKET_RULE,
    S1_BUCKET,
    S1_SCENE,
    GrdScene,
    grd_shape,
)
from xstac_access.testing.replica._earthsearch_scenes import (
    JP2_BUCKET,
    V0_FOOTPRINT,
    V0_RASTERS,
    V0_SCENE,
    V1_RASTERS,
    V1_SCENES,
    Raster,
    Scene,
    cog_folder,
    jp2_key,
    roda_folder,
)
from xstac_access.testing.s3_rules import BucketRule

__all__ = [
    "BUCKETS", "BUCKET_RULES", "JP2_BUCKET", "S1_BUCKET", "S1_SCENE", "V0_FOOTPRINT",
    "V0_RASTERS", "V0_SCENE", "V1_RASTERS", "V1_SCENES", "GrdScene", "Raster", "Scene",
    "collections", "grd_shape", "items", "jobs",
]  # fmt: skip

#: The buckets of the S3 store this module fills.
BUCKETS = (S1_BUCKET, JP2_BUCKET)
#: How the S3 store answers for them: both are requester-pays buckets in eu-central-1.
BUCKET_RULES = (
    BUCKET_RULE,
    BucketRule(JP2_BUCKET, region="eu-central-1", requester_pays=True),
)
_JP2_QUALITY = 5


# -- Sentinel-2 files --------------------------------------------------------------------------


def _valid_mask(
    ring: list[tuple[float, float]] | None, transform: Affine, shape: tuple[int, int]
) -> np.ndarray:
    """Pixels inside a UTM data footprint (all of them without one)."""
    if ring is None:
        return np.ones(shape, dtype=bool)
    polygon = {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}
    burnt = rasterize([polygon], out_shape=shape, transform=transform, fill=0, default_value=1)
    return burnt.astype(bool)


def _pixels(
    seed: int, scene: Scene, stem: str, shape: tuple[int, int], valid: np.ndarray
) -> np.ndarray:
    """The values of one raster of a scene (``_s2.l2a_pixels``), from the tile's land cover and
    the scene's clouds: the scenes of one tile share their land, not their clouds."""
    p = scene.product
    classes, clouds = _s2.scene_fields(
        seed, ("es-land", scene.tile), ("es-cloud", scene.item_id), p.cloud, shape
    )
    texture = _raster.rng_for(seed, "es-texture", scene.item_id, stem)
    field = _raster.rng_for(seed, "es", scene.item_id, stem)
    return _s2.l2a_pixels(stem, classes, clouds, valid, texture, field, p.boa_offset)


def _write_scene(root: Path, seed: int, scene: Scene, scale: str, v0: bool) -> None:
    """Every COG of one scene (and, on v1, its JP2 twin), the thumbnail and the side files."""
    files = root / "files" / "earthsearch"
    folder = files / cog_folder(scene, v0)
    ring = scene.product.utm_ring(V0_FOOTPRINT) if v0 else None
    p = scene.product
    tci = None
    for raster in V0_RASTERS if v0 else V1_RASTERS:
        shape, res = raster.shape(scale), raster.pixel(scale)
        transform = Affine(res, 0, p.x0, 0, -res, p.y0)
        data = _pixels(seed, scene, raster.stem, shape, _valid_mask(ring, transform, shape))
        crs = f"EPSG:{p.epsg}"
        _raster.write_cog(folder / f"{raster.stem}.tif", data, crs, transform, nodata=0)
        if not v0:
            target = root / "s3" / JP2_BUCKET / jp2_key(scene, raster.stem)
            _raster.write_jp2(target, data, crs, transform, nodata=0, quality=_JP2_QUALITY)
        if raster.stem == "TCI":
            tci = data
    assert tci is not None  # every raster list has the TCI
    thumb = _raster.image_bytes(tci, "JPEG", size=343)
    info, xml = _tile_info(scene), _granule_xml(scene)
    if v0:
        _raster.write_bytes(files / roda_folder(scene, "l1c") / "preview.jpg", thumb)
        _raster.write_bytes(files / roda_folder(scene, "l2a") / "tileInfo.json", info)
        _raster.write_bytes(files / roda_folder(scene, "l2a") / "metadata.xml", xml)
    else:
        _raster.write_bytes(folder / "thumbnail.jpg", thumb)
        _raster.write_bytes(folder / "tileinfo_metadata.json", info)
        _raster.write_bytes(folder / "granule_metadata.xml", xml)


def _tile_info(scene: Scene) -> bytes:
    """A small ``tileInfo.json`` of the Sinergise layout."""
    p = scene.product
    info = {
        "path": f"tiles/{scene.tile_path}/{'/'.join(map(str, scene.date))}/{scene.sequence}",
        "timestamp": p.datetime,
        "utmZone": p.zone,
        "latitudeBand": p.latitude_band,
        "gridSquare": p.grid_square,
        "datastrip": {"id": p.datastrip_id},
        "tileGeometry": {
            "type": "Polygon",
            "crs": {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG:8.8.1:{p.epsg}"}},
            "coordinates": [
                [list(c) for c in p.utm_ring(((0, 0), (1, 0), (1, 1), (0, 1), (0, 0)))]
            ],
        },
        "productName": p.product_name,
    }
    return json.dumps(info, indent=2).encode()


def _granule_xml(scene: Scene) -> bytes:
    """A small L2A tile metadata XML (``MTD_TL.xml``): id, time, CRS, tile corner."""
    p = scene.product
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<n1:Level-2A_Tile_ID xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/'
        'S2_PDI_Level-2A_Tile_Metadata.xsd">\n'
        f"  <n1:General_Info><TILE_ID>{p.granule_id}</TILE_ID>"
        f"<SENSING_TIME>{p.datetime}</SENSING_TIME></n1:General_Info>\n"
        "  <n1:Geometric_Info><Tile_Geocoding>"
        f"<HORIZONTAL_CS_CODE>EPSG:{p.epsg}</HORIZONTAL_CS_CODE>"
        f'<Geoposition resolution="10"><ULX>{p.x0:.0f}</ULX><ULY>{p.y0:.0f}</ULY></Geoposition>'
        "</Tile_Geocoding></n1:Geometric_Info>\n"
        "</n1:Level-2A_Tile_ID>\n"
    ).encode()


# -- the module's interface --------------------------------------------------------------------


def jobs(root: Path, seed: int, scale: str) -> list[Callable[[], None]]:
    """Independent writers: one per S2 scene (v1 and v0), one for the S1 GRD objects on S3."""
    out: list[Callable[[], None]] = [
        functools.partial(_write_scene, root, seed, scene, scale, False) for scene in V1_SCENES
    ]
    out.append(functools.partial(_write_scene, root, seed, V0_SCENE, scale, True))
    out.append(functools.partial(_earthsearch_s1.write_files, root, seed, scale))
    return out


def collections() -> list[dict[str, Any]]:
    """The three Earth Search collections (v1 S2 L2A, v1 S1 GRD, legacy v0 S2 L2A COGs)."""
    lic: dict[str, Any] = {"license": "proprietary", "links": [_stac.SENTINEL_LICENSE_LINK]}
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
    out = [_earthsearch_items.v1_item(endpoints, seed, scene, scale) for scene in V1_SCENES]
    out.append(_earthsearch_items.v0_item(endpoints, V0_SCENE, scale))
    out.append(_earthsearch_s1.item(endpoints, scale))
    return out
