"""EOPF Sentinel Zarr Sample Service replica: three zarr v2 products on the S3 store, and items.

Each product is described as code (``_eopf_s2``, ``_eopf_s1``, ``_eopf_s3``: group tree, arrays,
dtypes, chunking, CF attributes, embedded ``stac_discovery``) and written by ``_zarr_template``
with values from ``_eopf_values``: S2 L2A (10 m grid 1098 px at ``ci``), S1 OCN (real size) and
S3 OLCI LFR (409 x 486 at ``ci``). Store names follow the real product names, which is how
xarray-eopf recognises the product type. Buckets have the real names, Ceph RGW tenant buckets
``<tenant>:<yyyymm>-<type>-eu`` (tenant :data:`TENANT`), which the S3 store serves path-style
and anonymously as ``objects.eodc.eu`` does; items point at them with ``https://<endpoint>/
<tenant>:<bucket>/...`` hrefs, as the service's do, and with ``s3://<tenant>:<bucket>/...``
ones (which botocore refuses unless its bucket-name check is off). The S2 product is also
zipped, as the service's download endpoint offers it.

Items (``_eopf_items``): S2 in the current layout (``product`` + ``SR_10m/20m/60m`` ... with
``xarray:open_*_kwargs``, mixed ``application/vnd+zarr``/``application/vnd.zarr``) and in the
older cpm v2.5.6 layout (``alternate.xarray`` on band assets); S1 OCN and S3 LFR from each
product's embedded ``stac_discovery`` metadata, the OCN ``product`` asset with an ``s3://`` href
and ``xarray:storage_options``.
"""

from __future__ import annotations

import functools
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from xstac_access.testing.endpoints import Endpoints
from xstac_access.testing.replica import (
    _eopf_items,
    _eopf_s1,
    _eopf_s2,
    _eopf_s3,
    _eopf_values,
    _stac,
    _zarr_template,
)

_DIVISOR = {"ci": 10, "bench": 4}
S2_CLOUD = _eopf_s2.CLOUD
#: Where the HTTP file server offers the zipped S2 product (the service's download endpoint).
ZIP_PREFIX = "eopf-download/zip/collections"


@dataclass(frozen=True)
class Product:
    """One EOPF product: its description, store name, S3 location and STAC collection."""

    spec: ModuleType
    bucket: str
    prefix: str
    collection: str

    @property
    def name(self) -> str:
        """The product (and store) name."""
        return str(self.spec.NAME)

    @property
    def key(self) -> str:
        """Object key of the ``.zarr`` root inside the bucket."""
        return f"{self.prefix}/{self.name}.zarr"


#: The Ceph RGW tenant of the EOPF Sample Service's buckets on ``objects.eodc.eu``.
TENANT = "e05ab01a9d56408d82ac32d69a5aae2a"
S2 = Product(
    _eopf_s2, f"{TENANT}:202501-s02msil2a-eu", "12/products/cpm_v256", "eopf-sentinel-2-l2a"
)
S1_OCN = Product(
    _eopf_s1, f"{TENANT}:202503-s01siwocn-eu", "21/products/cpm_v256", "sentinel-1-l2-ocn"
)
S3_LFR = Product(
    _eopf_s3, f"{TENANT}:202504-s03olclfr-eu", "16/products/cpm_v256", "sentinel-3-olci-l2-lfr"
)
PRODUCTS = (S2, S1_OCN, S3_LFR)
BUCKETS = tuple(p.bucket for p in PRODUCTS)


def _resize(product: Product, scale: str) -> _zarr_template.Resize:
    divisor = _DIVISOR[scale]
    if product is S2:
        return lambda dim, n: n // divisor if dim in ("x", "y") and n >= 1830 else n
    if product is S3_LFR:
        return lambda dim, n: (
            max(1, round(n / divisor)) if dim in ("rows", "columns", "tp_rows", "tp_columns") else n
        )
    return _zarr_template.real_size


def metadata(product: Product, scale: str) -> dict[str, Any]:
    """The consolidated metadata (``.zmetadata``'s ``metadata``) the replica writes."""
    return product.spec.hierarchy(_resize(product, scale)).meta


def _values(product: Product, seed: int) -> _eopf_values.Values:
    if product is S2:
        return _eopf_values.s2_values(seed, _eopf_s2.X0, _eopf_s2.Y0, S2_CLOUD)
    if product is S1_OCN:
        return _eopf_values.swath_values(seed, _eopf_s1.CORNERS, _eopf_s1.START, 25.0, 0.05)
    return _eopf_values.swath_values(seed, _eopf_s3.CORNERS, _eopf_s3.START, 180.0, -0.3)


def zip_path(product: Product) -> str:
    """Path of the zipped product below the HTTP file server's root."""
    return f"{ZIP_PREFIX}/{product.collection}/items/{product.name}.zip"


def _zip(store: Path, target: Path) -> None:
    """The store as a zip archive of ``<name>.zarr/...`` members (stored: chunks are already
    compressed), with fixed member times so that the bytes depend on the content only."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:
        for path in sorted(p for p in store.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(f"{store.name}/{path.relative_to(store)}", (1980, 1, 1, 0, 0, 0))
            archive.writestr(info, path.read_bytes())


def _write(root: Path, seed: int, scale: str, product: Product) -> None:
    store = root / "s3" / product.bucket / product.key
    _zarr_template.write_store(store, metadata(product, scale), _values(product, seed))
    if product is S2:
        _zip(store, root / "files" / zip_path(product))


def jobs(root: Path, seed: int, scale: str) -> list[Callable[[], None]]:
    """One writer per product store."""
    return [functools.partial(_write, root, seed, scale, p) for p in PRODUCTS]


def items(endpoints: Endpoints, seed: int, scale: str) -> list[dict[str, Any]]:
    """S2 (current and cpm v2.5.6 layouts), S1 OCN and S3 OLCI LFR items."""
    del seed  # hrefs and footprints do not depend on it
    s2_root = f"{endpoints.s3}/{S2.bucket}/{S2.key}"
    s2_meta = metadata(S2, scale)
    zipped = f"{endpoints.http}/{zip_path(S2)}"
    ocn, lfr = (f"{endpoints.s3}/{p.bucket}/{p.key}" for p in (S1_OCN, S3_LFR))
    return [
        _eopf_items.s2_item(s2_root, S2.collection, s2_meta, zipped=zipped),
        _eopf_items.s2_item(s2_root, S2.collection + "-cpm-v256", s2_meta, zipped=None),
        _eopf_items.swath_item(
            S1_OCN.name,
            S1_OCN.collection,
            metadata(S1_OCN, scale),
            ocn,
            {
                "owi_measurements": (
                    f"owi/{_eopf_s1.SUB}/measurements",
                    "Ocean wind (OWI) measurements",
                )
            },
            s3=(f"s3://{S1_OCN.bucket}/{S1_OCN.key}", endpoints.s3),
        ),
        _eopf_items.swath_item(
            S3_LFR.name,
            S3_LFR.collection,
            metadata(S3_LFR, scale),
            lfr,
            {"measurements": ("measurements", "Land full-resolution measurements")},
        ),
    ]


def collections() -> list[dict[str, Any]]:
    """EOPF sample service collections (S2 id prefixed: Earth Search owns ``sentinel-2-l2a``)."""
    common: dict[str, Any] = {"license": "other", "links": [_stac.SENTINEL_LICENSE_LINK]}
    s2_box = _stac.bbox_of(_eopf_s2.footprint())
    specs = (
        (S2.collection, "Sentinel-2 Level-2A (EOPF Zarr)", s2_box, _eopf_s2.START),
        (
            S2.collection + "-cpm-v256",
            "Sentinel-2 Level-2A (EOPF Zarr, cpm v2.5.6 item layout)",
            s2_box,
            _eopf_s2.START,
        ),
        (
            S1_OCN.collection,
            "Sentinel-1 Level-2 OCN (EOPF Zarr)",
            _stac.bbox_of(_stac.polygon(_eopf_s1.CORNERS)),
            _eopf_s1.START,
        ),
        (
            S3_LFR.collection,
            "Sentinel-3 OLCI Level-2 LFR (EOPF Zarr)",
            _stac.bbox_of(_eopf_s3.footprint()),
            _eopf_s3.START,
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
