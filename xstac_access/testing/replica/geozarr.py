"""EOPF Sentinel Explorer replica: GeoZarr (Zarr v3, ``multiscales``) S2 L2A products and items.

The store is built from the real GeoZarr hierarchy of product T32TQM (``templates/optimized_
geozarr_examples__*.json``: every group, array, codec, sharding layout, dimension name and
attribute as published), with x/y sizes divided by the scale's divisor and the sharding and
inner chunk pattern kept (chunks per shard per side stay the real ones). Values come from the
same generator as the EOPF S2 replica. Metadata is consolidated into the root ``zarr.json``.

Two items from the real Explorer items: T32TQM with an ``s3://`` href (and, for the replica's
S3 endpoint, ``xarray:storage_options``), and T31TFL (staging collection layout) with https
hrefs, band assets pointing at arrays inside the product and no open hints at all. Both stores
live in the replica's S3 bucket; the https href is the S3 endpoint's path-style URL.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xstac_access.testing.endpoints import Endpoints
from xstac_access.testing.replica import _eopf_values, _stac

_TEMPLATE = (
    "optimized_geozarr_examples__S2A_MSIL2A_20251008T100041_N0511_R122_T32TQM_20251008T122613.json"
)
_DIVISOR = {"ci": 10, "bench": 4}
BUCKET = "esa-zarr-sentinel-explorer-fra"
COLLECTION = "eopf-explorer-sentinel-2-l2a"
_CLOUD = 8.0


@dataclass(frozen=True)
class Product:
    """One GeoZarr product: its real item, store key, UTM zone and 10 m grid origin."""

    item: str
    name: str
    prefix: str
    epsg: int
    x0: float
    y0: float
    s3_href: bool

    @property
    def key(self) -> str:
        """Object key of the ``.zarr`` root inside the bucket."""
        return f"{self.prefix}/{self.name}.zarr"


PRODUCTS = (
    Product(
        "eopf_explorer_geozarr_sentinel-2-l2a_"
        "S2A_MSIL2A_20251008T100041_N0511_R122_T32TQM_20251008T122613.json",
        "S2A_MSIL2A_20251008T100041_N0511_R122_T32TQM_20251008T122613",
        "tests-output/sentinel-2-l2a",
        32632,
        699960.0,
        4700040.0,
        s3_href=True,
    ),
    Product(
        "eopf_explorer_geozarr_sentinel-2-l2a-staging_"
        "S2A_MSIL2A_20250831T103701_N0511_R008_T31TFL_20250831T145420.json",
        "S2A_MSIL2A_20250831T103701_N0511_R008_T31TFL_20250831T145420",
        "tests-output/sentinel-2-l2a-staging",
        32631,
        600000.0,
        5100000.0,
        s3_href=False,
    ),
)


def _spec(product: Product) -> dict[str, Any]:
    """The real hierarchy, moved to the product's UTM zone when it is not T32TQM's."""
    text = json.dumps(_stac.template(_TEMPLATE))
    if product.epsg != 32632:
        zone = product.epsg - 32600
        text = (
            text.replace("32632", str(product.epsg))
            .replace("UTM zone 32N", f"UTM zone {zone}N")
            .replace('\\"central_meridian\\",9]', f'\\"central_meridian\\",{6 * zone - 183}]')
        )
    return json.loads(text)


def _nodes(spec: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, spec
    for name, member in (spec.get("members") or {}).items():
        yield from _nodes(member, f"{path}/{name}".lstrip("/"))


def _scaled_size(n: int, divisor: int) -> int:
    return max(1, round(n / divisor)) if n > 100 else n


def _scale_array(node: dict[str, Any], divisor: int) -> None:
    """Shrink y/x sizes; keep chunks (or shards and inner chunks) per side as they are."""
    dims = node.get("dimension_names") or []
    old = node["shape"]
    new = [
        _scaled_size(n, divisor) if d in ("x", "y") else n for d, n in zip(dims, old, strict=False)
    ]
    if len(new) != len(old):
        return
    node["shape"] = new
    grid = node["chunk_grid"]["configuration"]
    sharding = next((c for c in node["codecs"] if c["name"] == "sharding_indexed"), None)
    if sharding is None:
        grid["chunk_shape"] = [
            max(1, min(n, math.ceil(c * n / o)))
            for c, n, o in zip(grid["chunk_shape"], new, old, strict=True)
        ]
        return
    inner = sharding["configuration"]["chunk_shape"]
    new_inner = [max(1, math.ceil(c * n / o)) for c, n, o in zip(inner, new, old, strict=True)]
    grid["chunk_shape"] = [
        math.ceil(s / c) * nc
        for s, c, nc in zip(grid["chunk_shape"], inner, new_inner, strict=True)
    ]
    sharding["configuration"]["chunk_shape"] = new_inner
    attrs = node.get("attributes", {})
    if "proj:shape" in attrs and "proj:transform" in attrs:
        factor = old[-1] / new[-1]
        t = attrs["proj:transform"]
        attrs["proj:transform"] = [t[0] * factor, t[1], t[2], t[3], t[4] * factor, *t[5:]]
        attrs["proj:shape"] = new[-2:]


def scaled(spec: dict[str, Any], divisor: int) -> dict[str, Any]:
    """A copy of the hierarchy at replica size, with level shapes in the group attributes."""
    out = copy.deepcopy(spec)
    for _, node in _nodes(out):
        if "shape" in node:
            _scale_array(node, divisor)
    for _, node in _nodes(out):
        attrs = node.get("attributes", {})
        members = node.get("members") or {}
        if "spatial:shape" in attrs:
            first = next((m for m in members.values() if len(m.get("shape", [])) == 2), None)
            if first is not None:
                attrs["spatial:shape"] = first["shape"]
        for level in attrs.get("multiscales", {}).get("layout", []):
            shape = members.get(level["asset"], {}).get("attributes", {}).get("spatial:shape")
            if shape:
                level["spatial:shape"] = shape
    return out


def _dtype(spec: Any) -> np.dtype:
    if isinstance(spec, dict) and spec.get("name") == "fixed_length_utf32":
        return np.dtype(f"<U{spec['configuration']['length_bytes'] // 4}")
    return np.dtype(spec)


def _values(product: Product, seed: int) -> Callable[[str, dict[str, Any]], np.ndarray]:
    s2 = _eopf_values.s2_values(seed, product.x0, product.y0, _CLOUD)

    def values(path: str, node: dict[str, Any]) -> np.ndarray:
        shape = tuple(node["shape"])
        name = path.rsplit("/", 1)[-1]
        if name in ("x", "y") and len(shape) == 1 and shape[0] > 23:
            step = 109800 / shape[0]
            offsets = (np.arange(shape[0]) + 0.5) * step
            return product.x0 + offsets if name == "x" else product.y0 - offsets
        zarray = {"shape": list(shape), "dtype": _dtype(node["data_type"]).str}
        attrs = {"_ARRAY_DIMENSIONS": node.get("dimension_names") or [], **node["attributes"]}
        return s2(path, zarray, attrs)

    return values


def write_store(root: Path, spec: dict[str, Any], values: Callable[..., np.ndarray]) -> None:
    """Write every node's ``zarr.json``, every array's data, then consolidate at the root."""
    import zarr

    from xstac_access.testing.replica._zarr_template import encode

    for path, node in _nodes(spec):
        doc = {k: v for k, v in node.items() if k != "members"}
        doc.setdefault("node_type", "array" if "shape" in node else "group")
        (root / path).mkdir(parents=True, exist_ok=True)
        (root / path / "zarr.json").write_text(json.dumps(doc, indent=2))
    store = zarr.storage.LocalStore(root)
    with warnings.catch_warnings():  # the real store's fixed-length strings and consolidation
        warnings.simplefilter("ignore", zarr.errors.ZarrUserWarning)
        warnings.simplefilter("ignore", zarr.errors.UnstableSpecificationWarning)
        for path, node in _nodes(spec):
            if "shape" not in node:
                continue
            array = zarr.open_array(store=store, path=path, mode="r+")
            zarray = {"dtype": _dtype(node["data_type"]).str}
            data = encode(values(path, node), zarray, node.get("attributes", {}))
            array[...] = np.broadcast_to(data, array.shape)
        zarr.consolidate_metadata(store)


def _write(root: Path, seed: int, scale: str, product: Product) -> None:
    store = root / "s3" / BUCKET / product.key
    write_store(store, scaled(_spec(product), _DIVISOR[scale]), _values(product, seed))


def jobs(root: Path, seed: int, scale: str) -> list[Callable[[], None]]:
    """One writer per product store."""
    return [functools.partial(_write, root, seed, scale, p) for p in PRODUCTS]


def _item(product: Product, endpoints: Endpoints) -> dict[str, Any]:
    """The real Explorer item with hrefs at the replica's store (and no unreachable assets)."""
    template = _stac.template(product.item)
    old_root = template["assets"]["reflectance"]["href"].partition(".zarr")[0] + ".zarr"
    new_root = (
        f"s3://{BUCKET}/{product.key}"
        if product.s3_href
        else f"{endpoints.s3}/{BUCKET}/{product.key}"
    )
    item = json.loads(json.dumps(template).replace(old_root, new_root))
    item["assets"] = {k: a for k, a in item["assets"].items() if a["href"].startswith(new_root)}
    if product.s3_href:
        item["assets"]["reflectance"]["xarray:storage_options"] = {
            "anon": True,
            "endpoint_url": endpoints.s3,
        }
    item["collection"] = COLLECTION
    item["links"] = []
    return item


def items(endpoints: Endpoints, seed: int, scale: str) -> list[dict[str, Any]]:
    """The two Explorer items (s3:// and https hrefs)."""
    del seed, scale  # hrefs and footprints do not depend on them
    return [_item(p, endpoints) for p in PRODUCTS]


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
