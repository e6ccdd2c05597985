"""A Sentinel-2 SAFE product as files: its folder, its ``manifest.safe``, and its zip.

The folder is laid out as the Sentinel-2 Products Specification says: ``manifest.safe``,
``MTD_MSIL2A.xml`` (``MTD_MSIL1C.xml``), ``INSPIRE.xml``, ``GRANULE/<granule>/MTD_TL.xml`` and
the images, all JPEG 2000. An L2A product's ``IMG_DATA/R10m|R20m|R60m`` hold the bands at their
native resolution and resampled to coarser ones, AOT, WVP, SCL and TCI, and its ``QI_DATA`` the
cloud and snow probabilities; an L1C product's ``IMG_DATA`` holds the 13 bands (B10 too) at
their native resolution and the TCI at 10 m, with no resolution in the names.
The images are lossy (quality 5) where ESA's are lossless, on grids 6x coarser at ``ci`` scale,
so that the replica stays small; their tiles are 256 px, so a window reads a part of a file.
The zip holds the folder's files, ``manifest.safe`` first, images stored (JPEG 2000 is never
deflated in a SAFE zip) and XML deflated, under ``<NAME>.SAFE/``.
"""

from __future__ import annotations

import hashlib
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from rasterio.transform import Affine

from xstac_access.testing.replica import _raster, _s2, _s2mtd
from xstac_access.testing.replica._earthsearch_scenes import Raster

#: The image files of an L2A SAFE's ``IMG_DATA``, per resolution (S2 Products Specification).
IMAGES: dict[int, tuple[str, ...]] = {
    10: ("AOT", "B02", "B03", "B04", "B08", "TCI", "WVP"),
    20: ("AOT", "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B11", "B12", "SCL",
         "TCI", "WVP"),
    60: ("AOT", "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B09", "B11", "B12",
         "SCL", "TCI", "WVP"),
}  # fmt: skip
#: The probability masks of ``QI_DATA`` (percent, uint8), at 20 m.
PROBABILITIES = ("CLDPRB", "SNWPRB")
_QUALITY = 5
_BLOCK = 256


def pixels(scale: str) -> dict[int, int]:
    """Pixels per side of the tile at 10, 20 and 60 m on this scale's grids."""
    return {res: Raster("", "", res).shape(scale)[0] for res in IMAGES}


def stems(product: _s2.Product, res: int) -> tuple[str, ...]:
    """The image files of one resolution: :data:`IMAGES` in L2A; in L1C the bands native at
    ``res`` and, at 10 m, the TCI."""
    if product.level == "L2A":
        return IMAGES[res]
    return tuple(b.band for b in _s2.BANDS if b.res == res) + (("TCI",) if res == 10 else ())


def image_path(product: _s2.Product, stem: str, res: int) -> str:
    """An image's path inside the SAFE: ``GRANULE/<granule>/IMG_DATA/R10m/<tile>_<time>_B02_10m
    .jp2`` in L2A, ``GRANULE/<granule>/IMG_DATA/<tile>_<time>_B02.jp2`` in L1C."""
    folder = f"GRANULE/{product.granule_folder}/IMG_DATA"
    name = f"T{product.tile}_{product.sensing}_{stem}"
    if product.level == "L1C":
        return f"{folder}/{name}.jp2"
    return f"{folder}/R{res}m/{name}_{res}m.jp2"


def mask_path(product: _s2.Product, stem: str) -> str:
    """A ``QI_DATA`` mask's path: ``GRANULE/<granule>/QI_DATA/MSK_CLDPRB_20m.jp2``."""
    return f"GRANULE/{product.granule_folder}/QI_DATA/MSK_{stem}_20m.jp2"


def tile_metadata_path(product: _s2.Product) -> str:
    return f"GRANULE/{product.granule_folder}/MTD_TL.xml"


def _transform(product: _s2.Product, n: int) -> Affine:
    pixel = _s2.TILE_M / n
    return Affine(pixel, 0, product.x0, 0, -pixel, product.y0)


def _write_images(
    folder: Path, product: _s2.Product, seed: int, sizes: dict[int, int], res: int
) -> None:
    """The JPEG 2000 files of one resolution (and at 20 m L2A's ``QI_DATA`` probabilities), of
    ``sizes[res]`` pixels a side."""
    n = sizes[res]
    transform, crs = _transform(product, n), f"EPSG:{product.epsg}"
    classes, clouds = _s2.scene_fields(seed, ("cdse-land",), ("cdse-cloud",), product.cloud, (n, n))
    valid = np.ones((n, n), dtype=bool)
    valid[:, : n // 12] = False  # the tile's west edge lies outside the swath: no data
    for stem in stems(product, res):
        texture = _raster.rng_for(seed, "cdse-texture", stem, res)
        field = _raster.rng_for(seed, "cdse-field", stem, res)
        data = _s2.l2a_pixels(stem, classes, clouds, valid, texture, field, product.boa_offset)
        _write_jp2(folder / image_path(product, stem, res), data, crs, transform)
    if res == 20 and product.level == "L2A":
        for stem in PROBABILITIES:
            smooth = _raster.smooth_field(_raster.rng_for(seed, "cdse-prob", stem), (n, n))
            weight = clouds if stem == "CLDPRB" else np.zeros_like(clouds)
            data = np.where(valid, np.clip(100 * weight * smooth, 0, 100), 0).astype(np.uint8)
            _write_jp2(folder / mask_path(product, stem), data, crs, transform)


def _write_jp2(path: Path, data: np.ndarray, crs: str, transform: Affine) -> None:
    _raster.write_jp2(path, data, crs, transform, 0, quality=_QUALITY, block=_BLOCK)


def manifest(members: dict[str, bytes], level: str = "L2A") -> bytes:
    """An XFDU ``manifest.safe`` of a product of ``level`` with one dataObject (size, SHA3-256,
    fileLocation) per member."""
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
        f'version="esa/safe/sentinel/1.1/sentinel-2/msi/archive_{level.lower()}_user_product">\n'
        "  <informationPackageMap>\n"
        f'    <xfdu:contentUnit unitType="Product_Level-{level[1:]}" '
        f'textInfo="SENTINEL-2 MSI Level-{level[1:]} User Product"/>\n'
        "  </informationPackageMap>\n  <metadataSection/>\n  <dataObjectSection>\n"
        + "".join(objects)
        + "  </dataObjectSection>\n</xfdu:XFDU>\n"
    ).encode()


def write_folder(folder: Path, product: _s2.Product, seed: int, sizes: dict[int, int]) -> None:
    """The whole SAFE folder (``<NAME>.SAFE``): images (one thread per resolution) of
    ``sizes`` pixels a side per resolution (a scale's :func:`pixels`, or smaller for a test),
    metadata, and last the manifest listing every file."""
    with ThreadPoolExecutor(max_workers=len(IMAGES)) as pool:
        for future in [pool.submit(_write_images, folder, product, seed, sizes, r) for r in IMAGES]:
            future.result()
    images = [image_path(product, stem, res) for res in IMAGES for stem in stems(product, res)]
    metadata = {
        f"MTD_MSI{product.level}.xml": _s2mtd.product_metadata(product, images),
        tile_metadata_path(product): _s2mtd.tile_metadata(product, sizes),
        "INSPIRE.xml": _s2mtd.inspire(product),
    }
    for path, blob in metadata.items():
        _raster.write_bytes(folder / path, blob)
    (folder / "manifest.safe").write_bytes(manifest(folder_members(folder), product.level))


def folder_members(folder: Path) -> dict[str, bytes]:
    """The files of a SAFE folder but its manifest (path inside the folder -> bytes)."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "manifest.safe")
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in files}


def zip_members(target: Path, name: str, members: dict[str, bytes], level: str = "L2A") -> None:
    """Zip ``members`` of a product of ``level`` under ``<name>.SAFE/``: manifest first, then in
    path order, images stored and the rest deflated, at a fixed time stamp."""
    ordered = {"manifest.safe": manifest(members, level), **dict(sorted(members.items()))}
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", allowZip64=True) as zf:
        for path, blob in ordered.items():
            info = zipfile.ZipInfo(f"{name}.SAFE/{path}", date_time=(2025, 6, 5, 13, 4, 10))
            stored = path.endswith(".jp2")
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            zf.writestr(info, blob)
