"""Planetary Computer replica: a ``sentinel-2-l2a`` item whose blobs need SAS-signed URLs.

The real item (template) keeps its structure; two of its assets (``B04``, ``visual``) are
written as small COGs and served under ``/pc/<account>/<container>/...``, a prefix the file
server protects with SAS signatures from its ``/sas/token/<account>/<container>`` endpoint, as
``planetarycomputer.microsoft.com/api/sas/v1/token`` does for Azure blobs. The other assets are
dropped: nothing in the replica serves them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from rasterio.transform import Affine

from xstac_access.testing.endpoints import Endpoints
from xstac_access.testing.replica import _raster, _stac

TEMPLATE = (
    "planetarycomputer_sentinel-2-l2a_S2A_MSIL2A_20190101T000001_R116_T60VUK_20201007T214652.json"
)
COLLECTION = "pc-sentinel-2-l2a"
ACCOUNT, CONTAINER = "sentinel2l2a01", "sentinel2-l2"
PREFIX = f"/pc/{ACCOUNT}/{CONTAINER}"
KEYS = ("B04", "visual")
_SIZE = {"ci": 915, "bench": 10980}


def _local_path(href: str) -> str:
    """``/pc/<account>/<container>/<blob path>`` for an Azure blob href of the template."""
    path = urlsplit(href).path  # /<container>/<blob>
    return PREFIX + path[len(CONTAINER) + 1 :]


def _write(root: Path, seed: int, scale: str) -> None:
    item = _stac.template(TEMPLATE)
    size = _SIZE[scale]
    x0, y0 = item["assets"]["B04"]["proj:transform"][2], item["assets"]["B04"]["proj:transform"][5]
    transform = Affine(109800.0 / size, 0, x0, 0, -109800.0 / size, y0)
    classes = _raster.landscape(_raster.seed_words(seed, "pc-land"), (size, size))
    texture = _raster.rng_for(seed, "pc-texture")
    refl = [_raster.textured(_raster.reflectance(classes, f, None), texture) for f in (2, 1, 0)]
    files = root / "files"
    _raster.write_cog(
        files / _local_path(item["assets"]["B04"]["href"]).lstrip("/"),
        _raster.to_digital_numbers(refl[0], 1.0e-4, 0.0),
        "EPSG:32660",
        transform,
        nodata=0,
    )
    _raster.write_cog(
        files / _local_path(item["assets"]["visual"]["href"]).lstrip("/"),
        _raster.true_colour(*refl).astype(np.uint8),
        "EPSG:32660",
        transform,
        nodata=0,
    )


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


def items(endpoints: Endpoints, seed: int, scale: str) -> list[dict[str, Any]]:
    item = _stac.template(TEMPLATE)
    item["collection"] = COLLECTION
    item["links"] = []
    item["assets"] = {k: {**item["assets"][k],
                          "href": endpoints.http + _local_path(item["assets"][k]["href"])}
                      for k in KEYS}  # fmt: skip
    return [item]
