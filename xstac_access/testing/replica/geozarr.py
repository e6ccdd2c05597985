"""EOPF Sentinel Explorer replica: GeoZarr (Zarr v3, ``multiscales``) S2 L2A products and items.

Each store is the Explorer converter's hierarchy described as code (``_geozarr_hierarchy``:
every group, array, codec, sharding layout, dimension name and attribute of the published
product T32TQM, in the product's own UTM zone), with x/y sizes divided by the scale's divisor
and the sharding and inner chunk pattern kept (inner chunks per shard per side stay the real
ones). Values come from the same generator as the EOPF S2 replica. Metadata is consolidated
into the root ``zarr.json``.

Two items (``_geozarr_items``): T32TQM in the pipeline layout with an ``s3://`` href (and, for
the replica's S3 endpoint, ``xarray:storage_options``), and T31TFL in the staging collection's
layout with https hrefs, band assets pointing at arrays inside the product and no open hints
at all. Both stores live in the replica's S3 bucket; the https href is the S3 endpoint's
path-style URL.
"""

from __future__ import annotations

import functools
import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xstac_access.testing.endpoints import Endpoints
from xstac_access.testing.replica import _eopf_values, _geozarr_aux, _stac
from xstac_access.testing.replica._geozarr_hierarchy import hierarchy
from xstac_access.testing.replica._geozarr_items import Scene, item
from xstac_access.testing.replica._geozarr_nodes import Node, walk
from xstac_access.testing.replica._geozarr_product import TILE_M, Tile

_DIVISOR = {"ci": 10, "bench": 4}
BUCKET = "esa-zarr-sentinel-explorer-fra"
COLLECTION = "eopf-explorer-sentinel-2-l2a"
_CLOUD = 8.0


@dataclass(frozen=True)
class Product:
    """One GeoZarr product: where it lies, what its item says, and where its store is."""

    tile: Tile
    scene: Scene
    prefix: str
    staging: bool  # staging layout, https hrefs; else pipeline layout, s3:// href

    @property
    def key(self) -> str:
        """Object key of the ``.zarr`` root inside the bucket."""
        return f"{self.prefix}/{self.tile.name}.zarr"


PRODUCTS = (
    Product(
        Tile(
            "S2A_MSIL2A_20251008T100041_N0511_R122_T32TQM_20251008T122613",
            32632,
            699960.0,
            4700040.0,
        ),
        Scene(53773, 0.003839, 0.000305, 163.595949, 49.304938),
        "tests-output/sentinel-2-l2a",
        staging=False,
    ),
    Product(
        Tile(
            "S2A_MSIL2A_20250831T103701_N0511_R008_T31TFL_20250831T145420",
            32631,
            600000.0,
            5100000.0,
        ),
        Scene(53230, 2.060995, 0.0, 159.282876, 38.725783),
        "tests-output/sentinel-2-l2a-staging",
        staging=True,
    ),
)


def _dtype(spec: Any) -> np.dtype:
    if isinstance(spec, dict) and spec.get("name") == "fixed_length_utf32":
        return np.dtype(f"<U{spec['configuration']['length_bytes'] // 4}")
    return np.dtype(spec)


def _values(product: Product, seed: int) -> Callable[[str, Node], np.ndarray]:
    tile = product.tile
    s2 = _eopf_values.s2_values(seed, tile.x0, tile.y0, _CLOUD)
    lat, lon = _geozarr_aux.lat_lon(tile)

    def values(path: str, node: Node) -> np.ndarray:
        shape = tuple(node["shape"])
        name = path.rsplit("/", 1)[-1]
        if name in ("x", "y") and len(shape) == 1 and shape[0] > 23:
            offsets = (np.arange(shape[0]) + 0.5) * TILE_M / shape[0]
            return tile.x0 + offsets if name == "x" else tile.y0 - offsets
        if "meteorology" in path and name in ("latitude", "longitude"):
            return lat if name == "latitude" else lon
        zarray = {"shape": list(shape), "dtype": _dtype(node["data_type"]).str}
        attrs = {"_ARRAY_DIMENSIONS": node.get("dimension_names") or [], **node["attributes"]}
        return s2(path, zarray, attrs)

    return values


def write_store(root: Path, spec: Node, values: Callable[[str, Node], np.ndarray]) -> None:
    """Write every node's ``zarr.json``, every array's data, then consolidate at the root."""
    import zarr

    from xstac_access.testing.replica._zarr_template import encode

    for path, node in walk(spec):
        doc = {k: v for k, v in node.items() if k != "members"}
        (root / path).mkdir(parents=True, exist_ok=True)
        (root / path / "zarr.json").write_text(json.dumps(doc, indent=2))
    store = zarr.storage.LocalStore(root)
    with warnings.catch_warnings():  # fixed-length strings and consolidation are not in the spec
        warnings.simplefilter("ignore", zarr.errors.ZarrUserWarning)
        warnings.simplefilter("ignore", zarr.errors.UnstableSpecificationWarning)
        for path, node in walk(spec):
            if node["node_type"] != "array":
                continue
            array = zarr.open_array(store=store, path=path, mode="r+")
            zarray = {"dtype": _dtype(node["data_type"]).str}
            data = encode(values(path, node), zarray, node["attributes"])
            array[...] = np.broadcast_to(data, array.shape)
        zarr.consolidate_metadata(store)


def _write(root: Path, seed: int, scale: str, product: Product) -> None:
    store = root / "s3" / BUCKET / product.key
    write_store(store, hierarchy(product.tile, _DIVISOR[scale]), _values(product, seed))


def jobs(root: Path, seed: int, scale: str) -> list[Callable[[], None]]:
    """One writer per product store."""
    return [functools.partial(_write, root, seed, scale, p) for p in PRODUCTS]


def _item(product: Product, endpoints: Endpoints, scale: str) -> dict[str, Any]:
    """The product's Explorer item, its hrefs at the replica's store."""
    if product.staging:
        root = f"{endpoints.s3}/{BUCKET}/{product.key}"
    else:
        root = f"s3://{BUCKET}/{product.key}"
    doc = item(
        product.tile,
        product.scene,
        root,
        _DIVISOR[scale],
        staging=product.staging,
        collection=COLLECTION,
    )
    if not product.staging:
        options = {"anon": True, "endpoint_url": endpoints.s3}
        doc["assets"]["reflectance"]["xarray:storage_options"] = options
    return doc


def items(endpoints: Endpoints, seed: int, scale: str) -> list[dict[str, Any]]:
    """The two Explorer items (s3:// and https hrefs)."""
    del seed  # hrefs and footprints do not depend on it
    return [_item(p, endpoints, scale) for p in PRODUCTS]


def collections() -> list[dict[str, Any]]:
    """The Explorer's S2 L2A collection (id prefixed: Earth Search owns ``sentinel-2-l2a``)."""
    title = "Sentinel-2 Level-2A (EOPF Explorer GeoZarr)"
    return [
        _stac.collection(
            COLLECTION,
            title,
            f"{title}: Sentinel-2 L2A converted to GeoZarr (Zarr v3) with multiscales.",
            [4.27, 41.4, 12.77, 46.05],
            "2025-08-31T10:37:01Z",
            license="other",
            links=[_stac.SENTINEL_LICENSE_LINK],
        )
    ]
