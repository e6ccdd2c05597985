"""Copernicus Data Space Ecosystem replica, legacy catalogue: a Sentinel-2 L2A SAFE zip behind an
OData redirect.

CDSE deprecated this catalogue (``https://catalogue.dataspace.copernicus.eu/stac``, collection
``SENTINEL-2``, ids ending ``.SAFE``) on 17 Nov 2025; :mod:`cdse_v1` is its successor, for the
same product. The item's ``PRODUCT`` asset is ``{http}/cdse/odata/v1/Products(<uuid>)/$value``;
the file server redirects it (``server_rules``) to ``{http_alt}/cdse/download/<name>.SAFE.zip``,
which needs a bearer token of realm ``cdse`` and is sent with a ``Content-Disposition`` naming
the zip (what users of CDSE's download host get).

The zip holds the whole L2A SAFE as :mod:`._s2safe` writes it (every image of ``IMG_DATA`` at
10, 20 and 60 m, the ``QI_DATA`` probabilities, the product and tile metadata with the angle
grids, a ``manifest.safe`` listing every member); the same files lie unzipped in the ``eodata``
bucket, where :mod:`cdse_v1`'s item points.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from xstac_access.testing.endpoints import Endpoints
from xstac_access.testing.replica import _raster, _s2, _s2safe, _stac

COLLECTION = "cdse-sentinel-2-l2a"
_CLOUD = 18.7
_DATETIME = "2025-06-05T10:36:29.024000Z"
#: The one product of both CDSE catalogues (this legacy one and ``cdse_v1``).
PRODUCT = _s2.Product(
    mission="S2B", tile="32UNC", sensing="20250605T103629", datetime=_DATETIME,
    generated="20250605T130410", datastrip_start="20250605T103629", absolute_orbit=43062,
    relative_orbit=8, baseline="05.11", station="2BPS", cloud=_CLOUD, x0=499980.0, y0=5800020.0,
)  # fmt: skip
NAME = PRODUCT.product_name  # S2B_MSIL2A_20250605T103629_N0511_R008_T32UNC_20250605T130410
GRANULE = PRODUCT.granule_folder  # L2A_T32UNC_A043062_20250605T103629
#: The stem of the granule's image files: ``T32UNC_20250605T103629_B02_10m.jp2``.
IMAGE_PREFIX = f"T{PRODUCT.tile}_{PRODUCT.sensing}"
_EPSG, _X0, _Y0, _TILE_M = PRODUCT.epsg, PRODUCT.x0, PRODUCT.y0, float(_s2.TILE_M)
_TCI_SIZE = {"ci": 305, "bench": 1830}
#: The S3 bucket of CDSE's files, and the SAFE folder's key in it (``cdse_v1`` serves it).
BUCKET = "eodata"
SAFE_KEY = f"Sentinel-2/MSI/L2A/{PRODUCT.when:%Y/%m/%d}/{NAME}.SAFE"


def product_uuid(seed: int) -> str:
    """The OData id of the product (deterministic for a seed)."""
    return str(uuid.UUID(bytes=_raster.rng_for(seed, "cdse-uuid").bytes(16), version=4))


def _tci_rgb(seed: int, scale: str) -> np.ndarray:
    """The (3, y, x) uint8 true-colour picture of the tile."""
    size = _TCI_SIZE[scale]
    classes = _raster.landscape(_raster.seed_words(seed, "cdse-land"), (size, size))
    clouds = _raster.cloud_mask(_raster.seed_words(seed, "cdse-cloud"), (size, size), _CLOUD)
    return _raster.true_colour(*(_raster.reflectance(classes, f, clouds) for f in (2, 1, 0)))


def _write(root: Path, seed: int, scale: str) -> None:
    """The SAFE folder in the ``eodata`` bucket (:mod:`cdse_v1` serves it), its zip behind the
    download host, and the product's quicklook."""
    folder = root / "s3" / BUCKET / SAFE_KEY
    _s2safe.write_folder(folder, PRODUCT, seed, _s2safe.pixels(scale))
    target = root / "files" / "cdse" / "download" / f"{NAME}.SAFE.zip"
    _s2safe.zip_members(target, NAME, _s2safe.folder_members(folder))
    quicklook = _raster.image_bytes(_tci_rgb(seed, scale), "JPEG", size=256)
    _raster.write_bytes(root / "files" / "cdse" / "quicklook" / f"{NAME}-ql.jpg", quicklook)


def jobs(root: Path, seed: int, scale: str) -> list[Callable[[], None]]:
    """One writer: the SAFE folder, its zip and the quicklook."""
    return [functools.partial(_write, root, seed, scale)]


def collections() -> list[dict[str, Any]]:
    """The CDSE Sentinel-2 L2A collection (id prefixed: one STAC API hosts all systems)."""
    return [
        _stac.collection(
            COLLECTION,
            "Sentinel-2 Level-2A (CDSE)",
            "Sentinel-2 L2A SAFE products of the Copernicus Data Space Ecosystem.",
            [-180, -90, 180, 90],
            "2015-07-04T00:00:00Z",
            license="other",
            links=[_stac.SENTINEL_LICENSE_LINK],
        )
    ]


def items(endpoints: Endpoints, seed: int, scale: str) -> list[dict[str, Any]]:
    """One item whose ``PRODUCT`` asset is the OData ``$value`` URL."""
    del scale  # names do not depend on it
    geometry = _stac.utm_footprint(_EPSG, _X0, _Y0, _TILE_M)
    assets = {
        "PRODUCT": {
            "href": f"{endpoints.http}/cdse/odata/v1/Products({product_uuid(seed)})/$value",
            "type": "application/octet-stream",
            "title": "Zipped product",
            "roles": ["data", "archive"],
        },
        "QUICKLOOK": {
            "href": f"{endpoints.http}/cdse/quicklook/{NAME}-ql.jpg",
            "type": "image/jpeg",
            "title": "Quicklook",
            "roles": ["thumbnail"],
        },
    }
    props = {
        "datetime": _DATETIME,
        "platform": "sentinel-2b",
        "constellation": "sentinel-2",
        "instruments": ["msi"],
        "eo:cloud_cover": _CLOUD,
        "product:type": "S2MSI2A",
        "processing:level": "L2A",
        "grid:code": "MGRS-32UNC",
        "sat:relative_orbit": 8,
        "s2:processing_baseline": "05.11",
    }
    return [
        _stac.item(
            f"{NAME}.SAFE",
            COLLECTION,
            geometry,
            props,
            assets,
            extensions=["https://stac-extensions.github.io/eo/v1.1.0/schema.json"],
        )
    ]


def server_rules(seed: int) -> dict[str, list[dict[str, Any]]]:
    """OData ``$value`` on the main host redirects to the protected download host, which names
    the zip in a ``Content-Disposition`` header (``attachment; filename="<NAME>.SAFE.zip"``). On
    both hosts, a user may have 4 requests under ``/cdse/`` in flight (CDSE's "Quotas and
    limitations": 4 concurrent connections for a general user); the 5th gets 429."""
    return {
        "connection_limits": [{"prefix": "/cdse/", "max_connections": 4, "retry_after": 1}],
        "protected": [
            {"prefix": "/cdse/download/", "host": "alt", "scheme": "bearer", "realm": "cdse"}
        ],
        "disposition": [{"prefix": "/cdse/download/", "host": "alt"}],
        "redirects": [
            {
                "host": "main",
                "path": f"/cdse/odata/v1/Products({product_uuid(seed)})/$value",
                "to_host": "alt",
                "to_path": f"/cdse/download/{NAME}.SAFE.zip",
                "status": 302,
            }
        ],
    }
