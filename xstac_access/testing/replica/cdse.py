"""Copernicus Data Space Ecosystem replica, legacy catalogue: a Sentinel-2 L2A SAFE zip behind an
OData redirect.

CDSE deprecated this catalogue (``https://catalogue.dataspace.copernicus.eu/stac``, collection
``SENTINEL-2``, ids ending ``.SAFE``) on 17 Nov 2025; :mod:`cdse_v1` is its successor, for the
same product. The item's ``PRODUCT`` asset is ``{http}/cdse/odata/v1/Products(<uuid>)/$value``;
the file server redirects it (``server_rules``) to ``{http_alt}/cdse/download/<name>.SAFE.zip``,
which needs a bearer token of realm ``cdse`` and is sent with a ``Content-Disposition`` naming
the zip (what users of CDSE's download host get).

The zip holds a SAFE tree whose ``manifest.safe`` lists every member (``dataObject``/
``fileLocation``/``checksum``), the product and tile metadata XMLs, a real JPEG 2000 ``TCI_60m``
(GDAL JP2OpenJPEG, lossless, georeferenced) and incompressible filler members standing in for the
other band images (named like them, random bytes: only sizes matter).
"""

from __future__ import annotations

import functools
import hashlib
import tempfile
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.io import MemoryFile
from rasterio.transform import Affine

from xstac_access.testing.endpoints import Endpoints
from xstac_access.testing.replica import _raster, _s2, _stac

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
_FILLER_BYTES = {"ci": 512 * 1024, "bench": 36 * 1024 * 1024}
_FILLERS = [f"R10m/{IMAGE_PREFIX}_{b}_10m.jp2" for b in ("B02", "B03", "B04", "B08", "TCI")] + [
    f"R20m/{IMAGE_PREFIX}_{b}_20m.jp2" for b in ("B05", "B8A", "SCL")
]


def product_uuid(seed: int) -> str:
    """The OData id of the product (deterministic for a seed)."""
    return str(uuid.UUID(bytes=_raster.rng_for(seed, "cdse-uuid").bytes(16), version=4))


def _tci_rgb(seed: int, scale: str) -> np.ndarray:
    """The (3, y, x) uint8 true-colour picture of the tile."""
    size = _TCI_SIZE[scale]
    classes = _raster.landscape(_raster.seed_words(seed, "cdse-land"), (size, size))
    clouds = _raster.cloud_mask(_raster.seed_words(seed, "cdse-cloud"), (size, size), _CLOUD)
    return _raster.true_colour(*(_raster.reflectance(classes, f, clouds) for f in (2, 1, 0)))


def _tci_jp2(rgb: np.ndarray) -> bytes:
    """A lossless, georeferenced 3-band JPEG 2000 true-colour image at 60 m (6x coarser at ci).

    JP2OpenJPEG only supports CreateCopy: the picture goes through an in-memory GTiff and is
    copied to a temporary file (a /vsimem/ JP2 target loses the georeferencing boxes).
    """
    size = rgb.shape[1]
    res = _TILE_M / size
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": 3,
        "dtype": "uint8",
        "crs": f"EPSG:{_EPSG}",
        "transform": Affine(res, 0, _X0, 0, -res, _Y0),
    }
    with (
        rasterio.Env(GDAL_PAM_ENABLED="NO"),
        MemoryFile() as mem,
        tempfile.TemporaryDirectory() as tmp,
    ):
        with mem.open(**profile) as dst:
            dst.write(rgb)
        target = Path(tmp) / "tci.jp2"
        with mem.open() as src:
            rasterio.shutil.copy(src, target, driver="JP2OpenJPEG", QUALITY=100, REVERSIBLE="YES")
        return target.read_bytes()


def _xml(root_tag: str, body: str) -> bytes:
    closing = root_tag.split()[0]
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root_tag}>\n{body}</{closing}>\n'.encode()


def metadata_members() -> dict[str, bytes]:
    """The SAFE's metadata files (path inside ``<NAME>.SAFE/`` -> bytes): product and tile
    metadata and the INSPIRE record."""
    granule = f"GRANULE/{GRANULE}"
    return {
        "MTD_MSIL2A.xml": _xml(
            'n1:Level-2A_User_Product xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd"',
            f"  <n1:General_Info><Product_Info><PRODUCT_URI>{NAME}.SAFE</PRODUCT_URI>"
            f"<PRODUCT_START_TIME>{_DATETIME}</PRODUCT_START_TIME><PROCESSING_BASELINE>05.11</PROCESSING_BASELINE>"
            "<BOA_QUANTIFICATION_VALUE>10000</BOA_QUANTIFICATION_VALUE><BOA_ADD_OFFSET>-1000</BOA_ADD_OFFSET>"
            "</Product_Info></n1:General_Info>\n  <n1:Quality_Indicators_Info>"
            f"<Cloud_Coverage_Assessment>{_CLOUD}"
            "</Cloud_Coverage_Assessment></n1:Quality_Indicators_Info>\n",
        ),
        f"{granule}/MTD_TL.xml": _xml(
            'n1:Level-2A_Tile_ID xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-2A_Tile_Metadata.xsd"',
            "  <n1:General_Info>"
            "<TILE_ID>S2B_OPER_MSI_L2A_TL_2BPS_20250605T130410_A043062_T32UNC_N05.11</TILE_ID>"
            f"<SENSING_TIME>{_DATETIME}</SENSING_TIME></n1:General_Info>\n"
            "  <n1:Geometric_Info><Tile_Geocoding>"
            f"<HORIZONTAL_CS_CODE>EPSG:{_EPSG}</HORIZONTAL_CS_CODE>"
            f'<Geoposition resolution="60"><ULX>{_X0:.0f}</ULX>'
            f"<ULY>{_Y0:.0f}</ULY></Geoposition></Tile_Geocoding></n1:Geometric_Info>\n",
        ),
        "INSPIRE.xml": _xml(
            'gmd:MD_Metadata xmlns:gmd="http://www.isotc211.org/2005/gmd"',
            f"  <gmd:fileIdentifier>{NAME}</gmd:fileIdentifier>\n",
        ),
    }


def _members(seed: int, scale: str) -> dict[str, bytes]:
    """SAFE member path (inside ``<NAME>.SAFE/``) -> bytes, manifest excluded."""
    granule = f"GRANULE/{GRANULE}"
    rng = _raster.rng_for(seed, "cdse-filler")
    members = {
        **metadata_members(),
        f"{granule}/IMG_DATA/R60m/{IMAGE_PREFIX}_TCI_60m.jp2": _tci_jp2(_tci_rgb(seed, scale)),
    }
    for filler in _FILLERS:
        members[f"{granule}/IMG_DATA/{filler}"] = rng.bytes(_FILLER_BYTES[scale])
    return members


def manifest(members: dict[str, bytes]) -> bytes:
    """An XFDU ``manifest.safe`` with one dataObject (size, SHA3-256, fileLocation) per member."""
    objects = []
    for i, (path, blob) in enumerate(sorted(members.items())):
        mime = "text/xml" if path.endswith(".xml") else "application/octet-stream"
        objects.append(
            f'    <dataObject ID="dataObject_{i:03d}">\n'
            f'      <byteStream mimeType="{mime}" size="{len(blob)}">\n'
            f'        <fileLocation locatorType="URL" href="./{path}"/>\n'
            '        <checksum checksumName="SHA3-256">'
            f"{hashlib.sha3_256(blob).hexdigest()}</checksum>\n"
            "      </byteStream>\n    </dataObject>\n"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<xfdu:XFDU xmlns:xfdu="urn:ccsds:schema:xfdu:1" '
        'xmlns:safe="http://www.esa.int/safe/sentinel/1.1" '
        'version="esa/safe/sentinel/1.1/sentinel-2/msi/archive_l2a_user_product">\n'
        "  <informationPackageMap>\n"
        '    <xfdu:contentUnit unitType="Product_Level-2A" '
        'textInfo="SENTINEL-2 MSI Level-2A User Product"/>\n'
        "  </informationPackageMap>\n  <metadataSection/>\n  <dataObjectSection>\n"
        + "".join(objects)
        + "  </dataObjectSection>\n</xfdu:XFDU>\n"
    ).encode()


def _write(root: Path, seed: int, scale: str) -> None:
    """The SAFE zip (manifest first, then members in path order, fixed timestamps)."""
    members = _members(seed, scale)
    target = root / "files" / "cdse" / "download" / f"{NAME}.SAFE.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    ordered = {"manifest.safe": manifest(members), **dict(sorted(members.items()))}
    with zipfile.ZipFile(target, "w") as zf:
        for path, blob in ordered.items():
            info = zipfile.ZipInfo(f"{NAME}.SAFE/{path}", date_time=(2025, 6, 5, 13, 4, 10))
            info.compress_type = (
                zipfile.ZIP_STORED if path.endswith(".jp2") else zipfile.ZIP_DEFLATED
            )
            zf.writestr(info, blob)
    quicklook = _raster.image_bytes(_tci_rgb(seed, scale), "JPEG", size=256)
    _raster.write_bytes(root / "files" / "cdse" / "quicklook" / f"{NAME}-ql.jpg", quicklook)


def jobs(root: Path, seed: int, scale: str) -> list[Callable[[], None]]:
    """One writer: the zip and its quicklook."""
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
