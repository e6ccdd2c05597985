"""CDSE's current STAC catalogue (``https://stac.dataspace.copernicus.eu/v1``): the product of
:mod:`cdse` as a per-band item whose files lie on the ``eodata`` S3 bucket.

No real CDSE v1 item is among the shared real data, so the item is written from CDSE's
documentation (its "STAC" page for the new catalogue, "OData", "S3", "Access token") and from
the Sentinel-2 Products Specification (the SAFE tree and its file names), not compared with one.

The item (id without ``.SAFE``) has one asset per image file of the SAFE's ``IMG_DATA``
(``B02_10m``, ``TCI_10m``, ``SCL_20m``, ``AOT_60m``...), the metadata files
(``product_metadata``, ``granule_metadata``, ``inspire_metadata``, ``safe_manifest``), a
``thumbnail`` and ``Product``, the OData zip of the whole product. File assets point at
``s3://eodata/Sentinel-2/MSI/L2A/<yyyy>/<mm>/<dd>/<NAME>.SAFE/...`` (``"alternate:name": "S3"``,
``auth:refs: ["s3"]``, ``storage:refs: ["cdse-s3", "creodias-s3"]``) and carry an
``alternate.https`` on the zipper host: ``.../odata/v1/Products(<uuid>)/Nodes(<NAME>.SAFE)/
Nodes(GRANULE)/.../Nodes(<file>)/$value`` (``auth:refs: ["oidc"]``). The item's properties
describe both schemes (``auth:schemes``: ``s3`` and ``oidc``, an openIdConnect scheme naming
the realm's discovery document) and both S3 platforms (``storage:schemes``). ``Product`` is the
OData ``Products(<uuid>)/$value`` download the legacy item's ``PRODUCT`` points at too.

Where the replica's hosts stand for CDSE's: the zipper and download hosts are the file server's
main host (``/cdse/odata/v1/...``, whose ``$value`` redirects to the alt host as for the legacy
item), the OIDC realm is ``cdse`` of the local token server, ``cdse-s3`` is the local S3 store
(bucket ``eodata``). The file server answers ``Nodes(...)/$value`` paths (with a ``cdse``
bearer) from the bucket's own files (``server_rules``), so both ways read the same bytes. The
pgstac collection is ``cdse-v1-sentinel-2-l2a`` (Earth Search owns ``sentinel-2-l2a`` there); the
STAC proxy's ``/cdse/v1/`` personality serves it under its real id.

The SAFE folder in the bucket and the OData zip hold the same files (:mod:`._s2safe` writes
them; its docstring says how they differ from ESA's).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from xstac_access.testing.endpoints import Endpoints
from xstac_access.testing.replica import _s2, _s2safe, _stac, cdse
from xstac_access.testing.replica._earthsearch_scenes import Raster

#: The pgstac collection; the ``/cdse/v1/`` proxy personality strips the prefix.
ID_PREFIX = "cdse-v1-"
COLLECTION = f"{ID_PREFIX}sentinel-2-l2a"
BUCKET = cdse.BUCKET
PRODUCT = cdse.PRODUCT
NAME = cdse.NAME
#: The SAFE folder's key in the bucket: ``Sentinel-2/MSI/L2A/<yyyy>/<mm>/<dd>/<NAME>.SAFE``.
SAFE_KEY = cdse.SAFE_KEY
#: The image files of an L2A SAFE's ``IMG_DATA``, per resolution (S2 Products Specification).
IMAGES = _s2safe.IMAGES
_EXT = "https://stac-extensions.github.io/{}/schema.json"
_EXTENSIONS = [
    _EXT.format(e)
    for e in ("authentication/v1.1.0", "storage/v2.0.0", "alternate-assets/v1.2.0", "eo/v2.0.0",
              "raster/v2.0.0", "projection/v2.0.0", "sat/v1.0.0", "processing/v1.2.0",
              "grid/v1.1.0", "mgrs/v1.0.0", "view/v1.0.0", "file/v2.1.0")
]  # fmt: skip
_OIDC_DISCOVERY = "/realms/cdse/.well-known/openid-configuration"
#: Scale and offset of the L2A counts (``BOA_QUANTIFICATION_VALUE``, ``AOT_`` and ``WVP_``).
_SCALES = {"AOT": (0.001, 0.0), "WVP": (0.001, 0.0)}


def image_path(stem: str, res: int) -> str:
    """An image's path inside the SAFE: ``GRANULE/<granule>/IMG_DATA/R10m/<tile>_<time>_B02_10m
    .jp2``."""
    return _s2safe.image_path(PRODUCT, stem, res)


def nodes_path(seed: int, path: str) -> str:
    """The zipper's OData path of a file inside the SAFE (one ``Nodes(...)`` per segment)."""
    nodes = "/".join(f"Nodes({part})" for part in [f"{NAME}.SAFE", *path.split("/")])
    return f"/cdse/odata/v1/Products({cdse.product_uuid(seed)})/{nodes}/$value"


def jobs(root: Path, seed: int, scale: str) -> list[Callable[[], None]]:
    """None: the bucket's SAFE folder is written by :mod:`cdse`, which zips it."""
    del root, seed, scale
    return []


def collections() -> list[dict[str, Any]]:
    """The v1 ``sentinel-2-l2a`` collection (prefixed id: see the module docstring)."""
    return [
        _stac.collection(
            COLLECTION,
            "Sentinel-2 Level-2A",
            "Sentinel-2 Level-2A products of the Copernicus Data Space Ecosystem: one asset "
            "per image file of the SAFE, on the eodata S3 bucket and through OData.",
            [-180, -90, 180, 90],
            "2015-07-04T00:00:00Z",
            license="other",
            links=[_stac.SENTINEL_LICENSE_LINK],
        )
    ]


def _file_asset(endpoints: Endpoints, seed: int, path: str, **fields: Any) -> dict[str, Any]:
    """A file of the SAFE: on S3, with its zipper twin as ``alternate.https``."""
    return {
        "href": f"s3://{BUCKET}/{SAFE_KEY}/{path}",
        **fields,
        "alternate:name": "S3",
        "auth:refs": ["s3"],
        "storage:refs": ["cdse-s3", "creodias-s3"],
        "alternate": {
            "https": {
                "alternate:name": "HTTPS",
                "auth:refs": ["oidc"],
                "href": endpoints.http + nodes_path(seed, path),
            }
        },
    }


def _band(stem: str, res: int) -> dict[str, Any]:
    """The asset's ``bands`` entry (STAC 1.1 with eo and raster v2 fields)."""
    if stem == "SCL":
        return {"name": "SCL", "data_type": "uint8", "nodata": 0, "raster:spatial_resolution": res}
    scale, offset = _SCALES.get(stem, (1e-4, PRODUCT.boa_offset))
    band: dict[str, Any] = {"name": stem}
    if stem in _s2.BY_NAME:
        b = _s2.BY_NAME[stem]
        band |= {"eo:common_name": b.common, "eo:center_wavelength": b.wavelength,
                 "eo:full_width_half_max": b.fwhm}  # fmt: skip
    return band | {"data_type": "uint16", "nodata": 0, "raster:spatial_resolution": res,
                   "raster:scale": scale, "raster:offset": offset}  # fmt: skip


def _tci_band(band: _s2.Band) -> dict[str, Any]:
    """One of the TCI's three 8-bit bands (red, green, blue)."""
    return {"name": band.common, "eo:common_name": band.common, "data_type": "uint8", "nodata": 0}


def _title(stem: str, res: int) -> str:
    names = {"AOT": "Aerosol optical thickness", "WVP": "Water vapour", "TCI": "True colour image",
             "SCL": "Scene classification map"}  # fmt: skip
    name = names.get(stem) or f"{_s2.BY_NAME[stem].label} ({stem})"
    return f"{name} - {res}m"


def _image_asset(endpoints: Endpoints, seed: int, scale: str, stem: str, res: int) -> dict:
    raster = Raster("", "", res)
    shape, pixel = raster.shape(scale), raster.pixel(scale)
    bands = [_tci_band(b) for b in _s2.TCI_BANDS] if stem == "TCI" else [_band(stem, res)]
    roles = ["visual"] if stem == "TCI" else ["data"] + (["reflectance"] if stem[0] == "B" else [])
    return _file_asset(
        endpoints, seed, image_path(stem, res), type="image/jp2", title=_title(stem, res),
        roles=roles, gsd=res, bands=bands, **{"proj:code": f"EPSG:{PRODUCT.epsg}",
        "proj:shape": list(shape), "proj:transform": [pixel, 0, PRODUCT.x0, 0, -pixel, PRODUCT.y0]},
    )  # fmt: skip


def _properties(endpoints: Endpoints) -> dict[str, Any]:
    p = PRODUCT
    azimuth, elevation = _s2.sun_angles(p.when, *p.centre())
    return {
        "datetime": p.datetime, "start_datetime": p.datetime, "end_datetime": p.datetime,
        "created": _s2.iso(p.generated), "platform": "sentinel-2b", "constellation": "sentinel-2",
        "instruments": ["msi"], "eo:cloud_cover": p.cloud, "product:type": "S2MSI2A",
        "processing:level": "L2A", "processing:version": p.baseline,
        "sat:absolute_orbit": p.absolute_orbit, "sat:relative_orbit": p.relative_orbit,
        "sat:orbit_state": "descending", "grid:code": f"MGRS-{p.tile}",
        "mgrs:utm_zone": p.zone, "mgrs:latitude_band": p.latitude_band,
        "mgrs:grid_square": p.grid_square, "proj:code": f"EPSG:{p.epsg}",
        "view:sun_azimuth": round(azimuth, 6), "view:sun_elevation": round(elevation, 6),
        "auth:schemes": {
            "s3": {"type": "s3"},
            "oidc": {"type": "openIdConnect", "openIdConnectUrl": endpoints.oidc + _OIDC_DISCOVERY},
        },
        "storage:schemes": {
            "cdse-s3": {"type": "custom-s3", "title": "Copernicus Data Space Ecosystem S3",
                        "platform": endpoints.s3, "requester_pays": False},
            "creodias-s3": {"type": "custom-s3", "title": "CREODIAS S3",
                            "platform": "https://eodata.cloudferro.com", "requester_pays": True},
        },
    }  # fmt: skip


def items(endpoints: Endpoints, seed: int, scale: str) -> list[dict[str, Any]]:
    """The product's v1 item."""
    assets: dict[str, Any] = {}
    for res, stems in IMAGES.items():
        for stem in stems:
            assets[f"{stem}_{res}m"] = _image_asset(endpoints, seed, scale, stem, res)
    xml = {"type": "application/xml", "roles": ["metadata"]}
    for key, path, title in (
        ("product_metadata", "MTD_MSIL2A.xml", "Product metadata"),
        ("granule_metadata", f"GRANULE/{cdse.GRANULE}/MTD_TL.xml", "Granule metadata"),
        ("inspire_metadata", "INSPIRE.xml", "INSPIRE metadata"),
        ("safe_manifest", "manifest.safe", "SAFE manifest"),
    ):
        assets[key] = _file_asset(endpoints, seed, path, title=title, **xml)
    assets["thumbnail"] = {
        "href": f"{endpoints.http}/cdse/quicklook/{NAME}-ql.jpg", "type": "image/jpeg",
        "title": "Quicklook", "roles": ["thumbnail"],
    }  # fmt: skip
    assets["Product"] = {
        "href": f"{endpoints.http}/cdse/odata/v1/Products({cdse.product_uuid(seed)})/$value",
        "type": "application/zip", "title": "Zipped product",
        "roles": ["data", "metadata", "archive"], "auth:refs": ["oidc"],
    }  # fmt: skip
    geometry = _stac.utm_footprint(PRODUCT.epsg, PRODUCT.x0, PRODUCT.y0, float(_s2.TILE_M))
    return [_stac.item(NAME, COLLECTION, geometry, _properties(endpoints), assets, _EXTENSIONS)]


def server_rules(seed: int, root: Path) -> dict[str, list[dict[str, Any]]]:
    """The zipper's ``Nodes(...)/$value`` paths: answered from the bucket's SAFE folder (under
    the generated tree ``root``), with a ``cdse`` bearer."""
    prefix = f"/cdse/odata/v1/Products({cdse.product_uuid(seed)})/"
    return {
        "protected": [
            {"prefix": prefix + "Nodes(", "host": "main", "scheme": "bearer", "realm": "cdse"}
        ],
        "odata_nodes": [
            {
                "prefix": prefix,
                "host": "main",
                "dir": str(root / "s3" / BUCKET / Path(SAFE_KEY).parent),
            }
        ],
    }
