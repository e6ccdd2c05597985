"""NASA CMR-STAC HLS replica: ``HLSS30_2.0`` items, Earthdata-protected COGs, public browse JPEG.

No full CMR-STAC HLS item is public (see the real-data MANIFEST), so items follow the LP DAAC
tutorials: ids ``HLS.S30.T13TDE.2023281T174239.v2.0``, assets named by band (``B04``, ``B8A``,
``Fmask``), ``browse`` and ``metadata``; data assets carry no media type (as on CMR-STAC), so
readers must go by extension. Files live under ``/hls/protected/`` (Earthdata login) and
``/hls/browse/`` (public), mirroring ``lp-prod-protected`` / ``lp-prod-public``. As on
``data.lpdaac.earthdatacloud.nasa.gov``, an authorised request for a protected file is answered
with a 303 to a presigned S3 URL valid one hour
(:mod:`~xstac_access.testing.fileserver_presign`).

The same COGs are in bucket ``lp-prod-protected`` of the S3 store (``HLSS30.020/<id>/<id>.<band>
.tif``, as at LP DAAC), which accepts only unexpired keys from the file server's
``/s3credentials`` (behind Earthdata login; :func:`s3_bucket_rule`, :func:`s3credentials_config`)
and requests signed for ``us-west-2``. Items list them as CMR-STAC does for a granule's direct
S3 links (nasa/cmr-stac, storage extension v2.0.0): assets ``s3_<band>`` (``s3://`` href,
``storage:refs: ["aws"]``) and the item property ``storage:schemes`` with scheme ``aws``
(``aws-s3``, bucket, region ``us-west-2``).
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rasterio.transform import Affine

from xstac_access.testing import s3credentials
from xstac_access.testing.endpoints import Endpoints
from xstac_access.testing.replica import _raster, _stac
from xstac_access.testing.s3_rules import BucketRule

COLLECTION = "HLSS30_2.0"
_PRODUCT_DIR = "HLSS30.020"
#: LP DAAC's protected bucket, in us-west-2.
S3_BUCKET = "lp-prod-protected"
_S3_REGION = "us-west-2"
_STORAGE_EXTENSION = "https://stac-extensions.github.io/storage/v2.0.0/schema.json"
_SIZE = {"ci": 1220, "bench": 3660}  # 90 m / 30 m pixels over the 109.8 km MGRS tile
_EPSG, _X0, _Y0, _TILE_M = 32613, 399960.0, 4500000.0, 109800.0
#: band -> (reflectance family of ``_raster``, title)
_BANDS = {"B04": (2, "Red"), "B8A": (4, "NIR Narrow")}


@dataclass(frozen=True)
class Granule:
    """One HLS S30 granule of tile T13TDE."""

    item_id: str
    datetime: str
    cloud: int


GRANULES = (
    Granule("HLS.S30.T13TDE.2023281T174239.v2.0", "2023-10-08T18:02:55.276Z", 3),
    Granule("HLS.S30.T13TDE.2023276T174141.v2.0", "2023-10-03T18:02:51.102Z", 57),
)


def _write_granule(root: Path, seed: int, scale: str, granule: Granule) -> None:
    """B04/B8A (int16, nodata -9999, scale 1e-4) and Fmask (uint8 bits) COGs, browse JPEG."""
    size = _SIZE[scale]
    transform = Affine(_TILE_M / size, 0, _X0, 0, -_TILE_M / size, _Y0)
    classes = _raster.landscape(_raster.seed_words(seed, "hls-land"), (size, size))
    clouds = _raster.cloud_mask(
        _raster.seed_words(seed, "hls-cloud", granule.item_id), (size, size), granule.cloud
    )
    folder = root / "files" / "hls" / "protected" / _PRODUCT_DIR / granule.item_id
    tags = {"scale_factor": "0.0001", "add_offset": "0", "_FillValue": "-9999"}
    refl = {}
    for band, (family, _) in _BANDS.items():
        refl[band] = _raster.reflectance(classes, family, clouds)
        data = np.round(refl[band] / 1e-4).astype(np.int16)
        _raster.write_cog(
            folder / f"{granule.item_id}.{band}.tif",
            data,
            f"EPSG:{_EPSG}",
            transform,
            -9999,
            tags,
            blocksize=256,
        )
    # Fmask bits: 1 cloud, 3 snow, 5 water (HLS v2 user guide); water is landscape class 0.
    fmask = (clouds.astype(np.uint8) << 1) | ((classes == 0).astype(np.uint8) << 5)
    _raster.write_cog(
        folder / f"{granule.item_id}.Fmask.tif",
        fmask,
        f"EPSG:{_EPSG}",
        transform,
        255,
        blocksize=256,
    )
    _raster.write_bytes(folder / f"{granule.item_id}.cmr.xml", _cmr_xml(granule))
    grey = np.clip(refl["B04"] / 0.3 * 255, 0, 255).astype(np.uint8)
    rgb = np.stack([grey, np.clip(refl["B8A"] / 0.5 * 255, 0, 255).astype(np.uint8), grey])
    browse = (
        root
        / "files"
        / "hls"
        / "browse"
        / _PRODUCT_DIR
        / granule.item_id
        / f"{granule.item_id}.jpg"
    )
    _raster.write_bytes(browse, _raster.image_bytes(rgb, "JPEG", size=512))
    _copy_to_bucket(root, folder, granule)


def _copy_to_bucket(root: Path, folder: Path, granule: Granule) -> None:
    """The granule's COGs in bucket ``lp-prod-protected`` too (hard links where possible)."""
    target = root / "s3" / S3_BUCKET / _PRODUCT_DIR / granule.item_id
    target.mkdir(parents=True, exist_ok=True)
    for band in (*_BANDS, "Fmask"):
        name = f"{granule.item_id}.{band}.tif"
        try:
            os.link(folder / name, target / name)
        except OSError:
            shutil.copyfile(folder / name, target / name)


def _cmr_xml(granule: Granule) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Granule><GranuleUR>{granule.item_id}</GranuleUR>'
        f"<Temporal><SingleDateTime>{granule.datetime}</SingleDateTime></Temporal>"
        f"<CloudCover>{granule.cloud}</CloudCover></Granule>\n"
    ).encode()


def jobs(root: Path, seed: int, scale: str) -> list[Callable[[], None]]:
    """One writer per granule."""
    return [functools.partial(_write_granule, root, seed, scale, g) for g in GRANULES]


def collections() -> list[dict[str, Any]]:
    """The HLS Sentinel-2 collection as CMR-STAC lists it."""
    return [
        _stac.collection(
            COLLECTION,
            "HLS Sentinel-2 Multi-spectral Instrument Surface Reflectance Daily Global 30m v2.0",
            "Harmonized Landsat Sentinel-2 (HLS) surface reflectance from Sentinel-2 MSI.",
            [-180, -90, 180, 90],
            "2015-11-28T00:00:00Z",
            license="not-provided",
        )
    ]


def items(endpoints: Endpoints, seed: int, scale: str) -> list[dict[str, Any]]:
    """One item per granule; geometry is the MGRS tile footprint."""
    del seed, scale  # names and footprint do not depend on them
    geometry = _stac.utm_footprint(_EPSG, _X0, _Y0, _TILE_M)
    out = []
    for g in GRANULES:
        data = f"{endpoints.http}/hls/protected/{_PRODUCT_DIR}/{g.item_id}/{g.item_id}"
        assets: dict[str, Any] = {
            band: {
                "href": f"{data}.{band}.tif",
                "title": f"Download {g.item_id}.{band}.tif",
                "roles": ["data"],
                "eo:bands": [{"name": band, "common_name": "red" if band == "B04" else "nir08"}],
            }
            for band in _BANDS
        }
        assets["Fmask"] = {
            "href": f"{data}.Fmask.tif",
            "title": f"Download {g.item_id}.Fmask.tif",
            "roles": ["data"],
        }
        assets["browse"] = {
            "href": f"{endpoints.http}/hls/browse/{_PRODUCT_DIR}/{g.item_id}/{g.item_id}.jpg",
            "title": f"Download {g.item_id}.jpg",
            "type": "image/jpeg",
            "roles": ["browse"],
        }
        assets["metadata"] = {
            "href": f"{data}.cmr.xml",
            "type": "application/xml",
            "roles": ["metadata"],
        }
        assets.update(_s3_assets(g))
        props = {
            "datetime": g.datetime,
            "start_datetime": g.datetime,
            "end_datetime": g.datetime,
            "eo:cloud_cover": g.cloud,
            "platform": "sentinel-2a" if "281" in g.item_id else "sentinel-2b",
            "storage:schemes": {
                "aws": {
                    "bucket": S3_BUCKET,
                    "platform": "https://{bucket}.s3.{region}.amazonaws.com",
                    "region": _S3_REGION,
                    "type": "aws-s3",
                }
            },
        }
        item = _stac.item(
            g.item_id,
            COLLECTION,
            geometry,
            props,
            assets,
            extensions=[
                "https://stac-extensions.github.io/eo/v1.0.0/schema.json",
                _STORAGE_EXTENSION,
            ],
        )
        item["stac_version"] = "1.0.0"
        out.append(item)
    return out


def _s3_assets(granule: Granule) -> dict[str, Any]:
    """The granule's direct S3 links as CMR-STAC lists them (``s3_<band>``)."""
    key = f"s3://{S3_BUCKET}/{_PRODUCT_DIR}/{granule.item_id}/{granule.item_id}"
    return {
        f"s3_{band}": {
            "href": f"{key}.{band}.tif",
            "title": f"S3 Direct Download [{index}]",
            "description": "This link provides direct download access via S3 to the granule",
            "roles": ["data"],
            "storage:refs": ["aws"],
        }
        for index, band in enumerate((*_BANDS, "Fmask"))
    }


def _s3_secret(seed: int) -> str:
    """The secret the file server's ``/s3credentials`` and the bucket rule share (hex)."""
    return hashlib.sha256(f"xstac-replica-earthdata-s3-{seed}".encode()).hexdigest()


def s3credentials_config(seed: int) -> dict[str, Any]:
    """The file server's ``s3credentials`` config: keys valid one hour, as LP DAAC's."""
    return {"secret": _s3_secret(seed), "lifetime": 3600}


def s3_bucket_rule(seed: int) -> BucketRule:
    """Bucket ``lp-prod-protected``: in us-west-2, read only with unexpired issued keys."""
    return BucketRule(S3_BUCKET, region=_S3_REGION, temporary_secret=_s3_secret(seed))


def server_rules() -> dict[str, list[dict[str, Any]]]:
    """HLS data and the S3 keys need Earthdata login, and an authorised request for data gets a
    303 to a presigned S3 URL valid one hour (the cloud data host's TEA), checked on the other
    host; browse images are public."""
    return {
        "protected": [
            {
                "prefix": "/hls/protected/",
                "host": "main",
                "scheme": "earthdata",
                "presign": {"lifetime": 3600},
            },
            {"prefix": "/hls/protected/", "host": "alt", "scheme": "presigned"},
            {"prefix": s3credentials.PATH, "host": "main", "scheme": "earthdata"},
        ]
    }
