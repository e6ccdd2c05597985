"""A time series of small Cloud-Optimized GeoTIFF items: the many-item loads' test bed.

``write_stack`` writes ``n_items`` items x ``bands`` COGs (uint16, nodata 0, internal
overviews) on one UTM grid under a directory the file server serves, and returns item dicts
whose hrefs point there. Values are known (:func:`value`), so a test can check any read
exactly; their low bits are a pixel hash, so files do not compress to nothing and byte counts
of overview reads mean something. Used by the load tests and benchmark B9; nothing here is
part of the replica (it is written on demand).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from rasterio.transform import from_origin

from xstac_access.testing.replica import _raster, _stac

BANDS = ("red", "green", "blue", "nir")
EPSG = 32633
ORIGIN = (500000.0, 5100000.0)
_EXTENSIONS = [
    "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
    "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
]


def value(band: int, item: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The stored value of ``band`` of item ``item`` at the given pixel indices.

    ``1000 + 1000 * band + 20 * item`` plus a 4-bit hash of the pixel (0..15).
    """
    h = np.asarray(rows, np.uint32) * np.uint32(65536) + np.asarray(cols, np.uint32)
    with np.errstate(over="ignore"):  # wrapping multiplication is the point of the mixer
        for _ in range(2):  # an integer mixer: no pattern a compressor could find
            h = (h ^ (h >> np.uint32(16))) * np.uint32(0x45D9F3B)
    h = h ^ (h >> np.uint32(16))
    return (1000 + 1000 * band + 20 * item + h % 16).astype(np.uint16)


def write_stack(
    root: Path,
    base_url: str,
    *,
    n_items: int = 20,
    bands: tuple[str, ...] = BANDS,
    size: int = 256,
    resolution: float = 10.0,
    blocksize: int = 256,
    collection: str = "stack-test",
) -> list[dict[str, Any]]:
    """Write the COGs under ``root`` (served at ``base_url``) and return the item dicts."""
    transform = from_origin(*ORIGIN, resolution, resolution)
    rows, cols = np.indices((size, size))
    geometry = _stac.utm_footprint(EPSG, *ORIGIN, size * resolution)
    start = datetime(2024, 6, 1, 10, 30, tzinfo=UTC)
    items = []
    for i in range(n_items):
        item_id = f"{collection}-{i:03d}"
        assets = {}
        for b, name in enumerate(bands):
            path = root / item_id / f"{name}.tif"
            _raster.write_cog(
                path, value(b, i, rows, cols), f"EPSG:{EPSG}", transform, 0, blocksize=blocksize
            )
            assets[name] = {
                "href": f"{base_url}/{item_id}/{name}.tif",
                "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                "roles": ["data"],
                "eo:bands": [{"name": name}],
                "raster:bands": [{"nodata": 0, "data_type": "uint16"}],
            }
        properties = {
            "datetime": (start + timedelta(days=5 * i)).isoformat().replace("+00:00", "Z"),
            "proj:code": f"EPSG:{EPSG}",
            "proj:shape": [size, size],
            "proj:transform": list(transform)[:6],
        }
        items.append(
            _stac.item(item_id, collection, geometry, properties, assets, extensions=_EXTENSIONS)
        )
    return items
