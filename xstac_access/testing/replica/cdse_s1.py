"""Copernicus Data Space Ecosystem replica, Sentinel-1: an IW GRDH SAFE zip behind the OData
redirect.

Like :mod:`cdse`'s Sentinel-2 product: the item's ``PRODUCT`` asset is
``{http}/cdse/odata/v1/Products(<uuid>)/$value``, which the file server redirects to
``{http_alt}/cdse/download/s1/<name>.SAFE.zip`` (a bearer token of realm ``cdse``, the rules and
connection limits of :func:`cdse.server_rules` cover the prefix). The zip holds the product as
:mod:`._s1safe` writes it; the unzipped folder lies beside it, under ``files/cdse/s1/``, for
readers of local folders.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xstac_access.testing.endpoints import Endpoints
from xstac_access.testing.replica import _raster, _s1safe, _stac

COLLECTION = "cdse-sentinel-1-grd"
PRODUCT = _s1safe.S1Product(
    "S1A_IW_GRDH_1SDV_20250610T053012_20250610T053037_059571_0765A2_3F1B",
    corner=(5.402, 52.118), heading=-12.5,
)  # fmt: skip
NAME = PRODUCT.name
#: Where the unzipped folder lies under the replica's ``files`` root.
FOLDER = f"cdse/s1/{NAME}.SAFE"
ZIP = f"cdse/download/s1/{NAME}.SAFE.zip"  # beside, not among, the S2 zip


def product_uuid(seed: int) -> str:
    """The OData id of the product (deterministic for a seed)."""
    return str(uuid.UUID(bytes=_raster.rng_for(seed, "cdse-s1-uuid").bytes(16), version=4))


def _write(root: Path, seed: int) -> None:
    folder = root / "files" / FOLDER
    _s1safe.write_folder(folder, PRODUCT, seed)
    _s1safe.zip_folder(folder, root / "files" / ZIP)


def jobs(root: Path, seed: int, scale: str) -> list[Callable[[], None]]:
    """One writer (the product does not depend on the scale): the folder and its zip."""
    del scale
    return [functools.partial(_write, root, seed)]


def collections() -> list[dict[str, Any]]:
    return [
        _stac.collection(
            COLLECTION, "Sentinel-1 GRD (CDSE)",
            "Sentinel-1 Level-1 GRD SAFE products of the Copernicus Data Space Ecosystem.",
            [-180, -90, 180, 90], "2014-10-03T00:00:00Z", license="other",
            links=[_stac.SENTINEL_LICENSE_LINK],
        )
    ]  # fmt: skip


def items(endpoints: Endpoints, seed: int, scale: str) -> list[dict[str, Any]]:
    """One item whose ``PRODUCT`` asset is the OData ``$value`` URL."""
    del scale
    ring = _s1safe.corners(PRODUCT)
    coordinates = [[list(p) for p in [*ring, ring[0]]]]
    props = {
        "datetime": f"{PRODUCT.start:%Y-%m-%dT%H:%M:%S}Z", "platform": "sentinel-1a",
        "constellation": "sentinel-1", "instruments": ["c-sar"], "sar:instrument_mode": "IW",
        "sar:polarizations": list(PRODUCT.polarisations), "product:type": "IW_GRDH_1S",
        "sat:orbit_state": "ascending", "sat:absolute_orbit": int(PRODUCT.parts[6]),
    }  # fmt: skip
    assets = {
        "PRODUCT": {
            "href": f"{endpoints.http}/cdse/odata/v1/Products({product_uuid(seed)})/$value",
            "type": "application/octet-stream", "title": "Zipped product",
            "roles": ["data", "archive"],
        }
    }  # fmt: skip
    geometry = {"type": "Polygon", "coordinates": coordinates}
    return [_stac.item(f"{NAME}.SAFE", COLLECTION, geometry, props, assets)]


def server_rules(seed: int) -> dict[str, list[dict[str, Any]]]:
    """The OData ``$value`` redirect to the download host (whose bearer rule, Content-
    Disposition and connection limits :func:`cdse.server_rules` sets for ``/cdse/``)."""
    return {
        "redirects": [
            {
                "host": "main",
                "path": f"/cdse/odata/v1/Products({product_uuid(seed)})/$value",
                "to_host": "alt",
                "to_path": f"/{ZIP}",
                "status": 302,
            }
        ]
    }
