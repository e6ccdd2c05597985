"""EOPF Sentinel Zarr Sample Service replica: three zarr v2 products on the S3 store, and items.

Stores are built from real ``.zmetadata`` (``templates/``) by ``_zarr_template`` with values from
``_eopf_values``: S2 L2A (10 m grid 1098 px at ``ci``), S1 OCN (real size) and S3 OLCI LFR
(409 x 486 at ``ci``). Store names follow the real product names, which is how xarray-eopf
recognises the product type. Buckets use the real ``<yyyymm>-<type>-eu`` names without the
Ceph tenant prefix (``tenant:bucket`` is not a legal S3 bucket name for boto/moto).

Items: the S2 item is the real EOPF item (``product`` + ``SR_10m/20m/60m`` ... with
``xarray:open_*_kwargs``, mixed ``application/vnd+zarr``/``application/vnd.zarr``) rewritten for
this product; a second S2 item keeps the older cpm v2.5.6 layout (``alternate.xarray`` on band
assets). The S1 OCN and S3 LFR items are built the same way from each product's embedded
``stac_discovery`` metadata; the OCN ``product`` asset uses an ``s3://`` href with
``xarray:storage_options``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xstac_access.testing.endpoints import Endpoints
from xstac_access.testing.replica import _eopf_values, _stac, _zarr_template

_S2_ITEM = (
    "eopf_sample_service_sentinel-2-l2a_"
    "S2A_MSIL2A_20251113T102311_N0511_R065_T32TNQ_20251113T142515.json"
)
_S2_ITEM_V256 = (
    "eopf_sample_service_sentinel-2-l2a_"
    "S2A_MSIL2A_20250513T104041_N0511_R008_T32TLT_20250513T143716.json"
)
_DIVISOR = {"ci": 10, "bench": 4}
_OPEN = {"chunks": {}, "engine": "eopf-zarr", "op_mode": "native"}
S2_CLOUD = 12.5


@dataclass(frozen=True)
class Product:
    """One EOPF product: template, store name, S3 location and STAC collection."""

    template: str
    name: str
    bucket: str
    prefix: str
    collection: str

    @property
    def key(self) -> str:
        """Object key of the ``.zarr`` root inside the bucket."""
        return f"{self.prefix}/{self.name}.zarr"


S2 = Product(
    "S02MSIL2A_20250109T100401_0000_A122_T461.zmetadata.json",
    "S2A_MSIL2A_20250109T100401_N0511_R122_T34UCE_20250109T122750",
    "202501-s02msil2a-eu",
    "12/products/cpm_v256",
    "eopf-sentinel-2-l2a",
)
S1_OCN = Product(
    "S01SIWOCN_20250321T063156_0024_a052_T356.zmetadata.json",
    "S1A_IW_OCN__2SDV_20250321T063156_20250321T063221_058399_0738CE_2479",
    "202503-s01siwocn-eu",
    "21/products/cpm_v256",
    "sentinel-1-l2-ocn",
)
S3_LFR = Product(
    "S03OLCLFR_20250416T063751_0180_B248_T378.zmetadata.json",
    "S3B_OL_2_LFR____20250416T063752_20250416T064052_20250416T083835_0179_105_248_3240_ESA_O_NR_003",
    "202504-s03olclfr-eu",
    "16/products/cpm_v256",
    "sentinel-3-olci-l2-lfr",
)
PRODUCTS = (S2, S1_OCN, S3_LFR)
BUCKETS = tuple(p.bucket for p in PRODUCTS)

# Swath corners: first row first/last column, then last row last/first column.
_OCN_CORNERS = [
    (-2.673269, 51.206413),
    (-6.43738, 51.620117),
    (-6.79871, 50.124348),
    (-3.151751, 49.712505),
]
_LFR_CORNERS = [(40.0543, -10.63), (51.794, -13.3523), (49.4591, -23.9554), (37.0764, -21.0586)]


def _resize(product: Product, scale: str) -> _zarr_template.Resize:
    divisor = _DIVISOR[scale]
    if product is S2:
        return lambda dim, n: n // divisor if dim in ("x", "y") and n >= 1830 else n
    if product is S3_LFR:
        return lambda dim, n: (
            max(1, round(n / divisor)) if dim in ("rows", "columns", "tp_rows", "tp_columns") else n
        )
    return lambda dim, n: n


def _values(product: Product, seed: int) -> _eopf_values.Values:
    if product is S2:
        return _eopf_values.s2_values(seed, 300000.0, 6000000.0, S2_CLOUD)
    if product is S1_OCN:
        return _eopf_values.swath_values(
            seed, _OCN_CORNERS, "2025-03-21T06:31:56.675155Z", 25.0, 0.05
        )
    return _eopf_values.swath_values(seed, _LFR_CORNERS, "2025-04-16T06:37:51.892834Z", 180.0, -0.3)


def _metadata(product: Product, scale: str) -> dict[str, Any]:
    meta = _zarr_template.scaled(_zarr_template.load(product.template), _resize(product, scale))
    props = meta[".zattrs"]["stac_discovery"]["properties"]
    if product is S2:
        props["eo:cloud_cover"] = S2_CLOUD
    if "proj:shape" in props:  # S3: the swath grid size
        props["proj:shape"] = meta["measurements/latitude/.zarray"]["shape"]
    return meta


def _write(root: Path, seed: int, scale: str, product: Product) -> None:
    _zarr_template.write_store(
        root / "s3" / product.bucket / product.key,
        _metadata(product, scale),
        _values(product, seed),
    )


def jobs(root: Path, seed: int, scale: str) -> list[Callable[[], None]]:
    """One writer per product store."""
    return [functools.partial(_write, root, seed, scale, p) for p in PRODUCTS]


def _discovery(product: Product) -> dict[str, Any]:
    return _stac.template(product.template)["metadata"][".zattrs"]["stac_discovery"]


def _base_properties(discovery: dict[str, Any]) -> dict[str, Any]:
    props = {
        k: v
        for k, v in discovery["properties"].items()
        if k not in ("bands", "proj:wkt2", "datetime")
    }
    props["datetime"] = props["start_datetime"]
    props.update(
        {
            "mission": props.get("mission", props.get("constellation")),
            "updated": props["created"],
            "published": props["created"],
        }
    )
    return props


def _geometry(discovery: dict[str, Any]) -> dict[str, Any]:
    ring = discovery["geometry"]["coordinates"][0]
    return _stac.polygon([tuple(p) for p in (ring[:-1] if ring[0] == ring[-1] else ring)])


def _s2_item(template_name: str, endpoints: Endpoints, old_layout: bool) -> dict[str, Any]:
    """The real S2 item template rewritten for the replica's S2 product and store."""
    template = _stac.template(template_name)
    old_root = template["assets"]["product"]["href"]
    new_root = f"{endpoints.s3}/{S2.bucket}/{S2.key}"
    item = json.loads(
        json.dumps(template).replace(old_root, new_root).replace(template["id"], S2.name)
    )
    item["assets"] = {k: a for k, a in item["assets"].items() if a["href"].startswith(new_root)}
    discovery = _discovery(S2)
    props = item["properties"]
    props.update(
        {
            k: v
            for k, v in _base_properties(discovery).items()
            if k.startswith(("start", "end", "eo:", "sat:", "eopf:", "created", "platform"))
        }
    )
    props.update(
        {
            "datetime": props["start_datetime"],
            "eo:cloud_cover": S2_CLOUD,
            "proj:code": "EPSG:32634",
            "grid:code": "MGRS-34UCE",
            "mgrs:utm_zone": 34,
            "mgrs:latitude_band": "U",
            "mgrs:grid_square": "CE",
            "proj:bbox": discovery["bbox"],
            "updated": discovery["properties"]["created"],
        }
    )
    item["geometry"] = _geometry(discovery)
    item["bbox"] = _stac.bbox_of(item["geometry"])
    item["collection"] = S2.collection + ("-cpm-v256" if old_layout else "")
    item["links"] = []
    for asset in item["assets"].values():
        if "proj:code" in asset:
            asset["proj:code"] = "EPSG:32634"
    return item


def _swath_item(
    product: Product, endpoints: Endpoints, measurements: str, title: str
) -> dict[str, Any]:
    """An item like the real EOPF S3 OLCI one: ``product`` tree asset plus one dataset asset."""
    discovery = _discovery(product)
    http_root = f"{endpoints.s3}/{product.bucket}/{product.key}"
    product_asset: dict[str, Any] = {
        "href": http_root,
        "type": "application/vnd+zarr",
        "roles": ["data", "metadata"],
        "title": "EOPF Product",
        "xarray:open_datatree_kwargs": dict(_OPEN),
    }
    if product is S1_OCN:
        product_asset["href"] = f"s3://{product.bucket}/{product.key}"
        product_asset["xarray:storage_options"] = {"anon": True, "endpoint_url": endpoints.s3}
    assets = {
        "product": product_asset,
        measurements: {
            "href": f"{http_root}/{measurements if product is S3_LFR else _ocn_group()}",
            "type": "application/vnd+zarr",
            "roles": ["data", "dataset"],
            "title": title,
            "xarray:open_dataset_kwargs": dict(_OPEN),
        },
        "product_metadata": {
            "href": f"{http_root}/.zmetadata",
            "type": "application/json",
            "roles": ["metadata"],
            "title": "Consolidated Metadata",
        },
    }
    return _stac.item(
        product.name,
        product.collection,
        _geometry(discovery),
        _base_properties(discovery),
        assets,
        extensions=[
            "https://stac-extensions.github.io/product/v0.1.0/schema.json",
            "https://stac-extensions.github.io/sat/v1.0.0/schema.json",
            "https://stac-extensions.github.io/processing/v1.2.0/schema.json",
        ],
    )


def _ocn_group() -> str:
    group = next(
        k
        for k in _zarr_template.load(S1_OCN.template)
        if k.startswith("owi/") and k.endswith("/measurements/.zgroup")
    )
    return group[: -len("/.zgroup")]


def items(endpoints: Endpoints, seed: int, scale: str) -> list[dict[str, Any]]:
    """S2 (current and cpm v2.5.6 layouts), S1 OCN and S3 OLCI LFR items."""
    del seed, scale  # hrefs and footprints do not depend on them
    return [
        _s2_item(_S2_ITEM, endpoints, old_layout=False),
        _s2_item(_S2_ITEM_V256, endpoints, old_layout=True),
        _swath_item(S1_OCN, endpoints, "owi_measurements", "Ocean wind (OWI) measurements"),
        _swath_item(S3_LFR, endpoints, "measurements", "Land full-resolution measurements"),
    ]


def collections() -> list[dict[str, Any]]:
    """EOPF sample service collections (S2 id prefixed: Earth Search owns ``sentinel-2-l2a``)."""
    common = {"license": "other", "links": [_stac.SENTINEL_LICENSE_LINK]}
    specs = (
        (
            S2.collection,
            "Sentinel-2 Level-2A (EOPF Zarr)",
            [17.94, 53.12, 19.66, 54.15],
            "2025-01-09T10:04:01Z",
        ),
        (
            S2.collection + "-cpm-v256",
            "Sentinel-2 Level-2A (EOPF Zarr, cpm v2.5.6 item layout)",
            [17.94, 53.12, 19.66, 54.15],
            "2025-01-09T10:04:01Z",
        ),
        (
            S1_OCN.collection,
            "Sentinel-1 Level-2 OCN (EOPF Zarr)",
            [-6.8, 49.7, -2.67, 51.63],
            "2025-03-21T06:31:56Z",
        ),
        (
            S3_LFR.collection,
            "Sentinel-3 OLCI Level-2 LFR (EOPF Zarr)",
            [37.07, -23.96, 51.8, -10.63],
            "2025-04-16T06:37:51Z",
        ),
    )
    return [
        _stac.collection(
            cid,
            title,
            f"{title}: Copernicus Sentinel products converted to EOPF Zarr.",
            bbox,
            start,
            **common,
        )
        for cid, title, bbox, start in specs
    ]
