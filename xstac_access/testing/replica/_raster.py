"""Pixel helpers shared by the replica systems: seeded fields and the few file writers they need.

Every generator takes a ``numpy.random.Generator`` (or a seed tuple) so that one seed gives the
same bytes on every run. Writers switch GDAL's PAM side-car files off so no ``.aux.xml`` appears
next to the data (it would make the served tree differ from what the items describe).
"""

from __future__ import annotations

import functools
import hashlib
import io
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
from PIL import Image
from rasterio.transform import Affine

#: Reflectance (0..1) of the land-cover classes a landscape is made of, per S2 band family:
#: (coastal/blue, green, red, red edge, nir, swir).
_CLASS_REFLECTANCE = np.array(
    [
        [0.06, 0.05, 0.03, 0.02, 0.01, 0.005],  # water
        [0.04, 0.08, 0.04, 0.20, 0.38, 0.16],  # forest / crops
        [0.07, 0.10, 0.09, 0.18, 0.30, 0.22],  # grassland
        [0.10, 0.13, 0.16, 0.22, 0.26, 0.32],  # bare soil
        [0.14, 0.15, 0.16, 0.17, 0.19, 0.21],  # built-up
    ],
    dtype=np.float32,
)

#: SCL class of each landscape class (water, vegetation x2, not vegetated x2).
_CLASS_SCL = np.array([6, 4, 4, 5, 5], dtype=np.uint8)


def seed_words(seed: int, *key: int | str) -> tuple[int, ...]:
    """Seed words for one named part of the replica, independent of the order parts are built."""

    def word(k: int | str) -> int:
        return (
            k
            if isinstance(k, int)
            else int.from_bytes(hashlib.sha256(k.encode()).digest()[:8], "little")
        )

    return (seed, *(word(k) for k in key))


def rng_for(seed: int, *key: int | str) -> np.random.Generator:
    """A Generator for one named part of the replica (see ``seed_words``)."""
    return np.random.default_rng(seed_words(seed, *key))


def smooth_field(rng: np.random.Generator, shape: tuple[int, int], waves: int = 8) -> np.ndarray:
    """A smooth field in [0, 1] on ``shape``, drawn as a sum of plane waves.

    The waves are defined on normalised coordinates, so two shapes drawn from equal generators
    show the same pattern at two resolutions (the 10 m and 20 m bands of one scene agree).
    """
    ny, nx = shape
    v = (np.arange(ny, dtype=np.float64) + 0.5) / ny
    u = (np.arange(nx, dtype=np.float64) + 0.5) / nx
    out = np.zeros(shape, dtype=np.float64)
    for k in range(waves):
        fx, fy = rng.uniform(0.3, 5.0, 2) * (1 + k / 3)
        phase = rng.uniform(0, 2 * np.pi)
        a = 2 * np.pi * fx * u + phase
        b = 2 * np.pi * fy * v
        # sin(a + b) as a sum of two outer products: cheap at any size.
        out += (np.outer(np.cos(b), np.sin(a)) + np.outer(np.sin(b), np.cos(a))) / (k + 1)
    lo, hi = out.min(), out.max()
    return ((out - lo) / (hi - lo if hi > lo else 1.0)).astype(np.float32)


@functools.lru_cache(maxsize=32)
def landscape(seed: tuple[int, ...], shape: tuple[int, int]) -> np.ndarray:
    """Land-cover class index (0..4) per pixel: parcels with sharp edges, like a real scene.

    Drawn on at most 1024 x 1024 points and upsampled, and cached (read-only): the bands of one
    scene share it, so it is computed once per tile and resolution.
    """
    coarse = (min(shape[0], 1024), min(shape[1], 1024))
    classes = np.digitize(
        smooth_field(np.random.default_rng(seed), coarse), [0.18, 0.45, 0.62, 0.85]
    )
    if coarse != shape:
        classes = classes[
            np.ix_(
                np.arange(shape[0]) * coarse[0] // shape[0],
                np.arange(shape[1]) * coarse[1] // shape[1],
            )
        ]
    classes = classes.astype(np.uint8)
    classes.setflags(write=False)
    return classes


def cloud_mask(seed: tuple[int, ...], shape: tuple[int, int], cover_percent: float) -> np.ndarray:
    """Boolean cloud mask covering ``cover_percent`` of a coarse grid, upsampled to ``shape``."""
    coarse = smooth_field(np.random.default_rng(seed), (64, 64), waves=6)
    threshold = np.quantile(coarse, 1 - cover_percent / 100) if cover_percent > 0 else 2.0
    mask = coarse >= threshold
    rows = np.arange(shape[0]) * 64 // shape[0]
    cols = np.arange(shape[1]) * 64 // shape[1]
    return mask[np.ix_(rows, cols)]


def reflectance(classes: np.ndarray, family: int, clouds: np.ndarray | None) -> np.ndarray:
    """Reflectance (float32) of one band family for a class map, with clouds bright and flat."""
    refl = _CLASS_REFLECTANCE[classes, family]
    if clouds is not None:
        refl = np.where(clouds, np.float32(0.55 + 0.02 * family), refl)
    return refl


def textured(refl: np.ndarray, rng: np.random.Generator, sigma: float = 0.003) -> np.ndarray:
    """Reflectance with texture: Gaussian noise (``sigma`` in reflectance) on 2 x 2 pixel cells.

    Real scenes are not flat per land-cover class; without texture a COG compresses to a few
    tiles and byte-count tests and benchmarks would measure nothing. Cells of 2 x 2 pixels keep
    the files a realistic few bits per pixel instead of pure noise.
    """
    rows, cols = refl.shape
    cells = rng.normal(0.0, sigma, ((rows + 1) // 2, (cols + 1) // 2)).astype(np.float32)
    noise = np.repeat(np.repeat(cells, 2, axis=0), 2, axis=1)[:rows, :cols]
    return np.clip(refl + noise, 0.0, None)


def scl(classes: np.ndarray, clouds: np.ndarray | None) -> np.ndarray:
    """Sentinel-2 scene classification (SCL) for a class map; clouds are class 9 (high proba)."""
    out = _CLASS_SCL[classes]
    return np.where(clouds, np.uint8(9), out) if clouds is not None else out


def to_digital_numbers(refl: np.ndarray, scale: float = 1e-4, offset: float = -0.1) -> np.ndarray:
    """Encode reflectance as uint16 counts with the L2A scale/offset; 0 stays free for nodata."""
    return np.clip(np.round((refl - offset) / scale), 1, 65535).astype(np.uint16)


def true_colour(red: np.ndarray, green: np.ndarray, blue: np.ndarray) -> np.ndarray:
    """A (3, y, x) uint8 true-colour picture from reflectances, stretched like S2 TCI (0..0.3)."""
    rgb = np.stack([red, green, blue])
    return np.clip(rgb / 0.3 * 254 + 1, 1, 255).astype(np.uint8)


def _bands_first(data: np.ndarray) -> np.ndarray:
    """A (y, x) picture as one band, (bands, y, x); band stacks unchanged."""
    return data[np.newaxis] if data.ndim == 2 else data


def _profile(
    driver: str, data: np.ndarray, crs: str, transform: Affine, nodata: float | None
) -> dict[str, Any]:
    """The rasterio profile of a georeferenced (bands, y, x) array: what every writer sets."""
    return {
        "driver": driver,
        "width": data.shape[2],
        "height": data.shape[1],
        "count": data.shape[0],
        "dtype": data.dtype.name,
        "crs": crs,
        "transform": transform,
        "nodata": nodata,
    }


def write_cog(
    path: Path,
    data: np.ndarray,
    crs: str,
    transform: Affine,
    nodata: float | None,
    tags: dict[str, str] | None = None,
    blocksize: int = 512,
) -> None:
    """Write a Cloud-Optimized GeoTIFF (GDAL COG driver: tiles, internal overviews, deflate)."""
    data = _bands_first(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        **_profile("COG", data, crs, transform, nodata),
        "compress": "DEFLATE",
        "predictor": 2,
        "blocksize": blocksize,
        "overview_resampling": "nearest",
    }
    with rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        if tags:
            dst.update_tags(**tags)


def image_bytes(rgb: np.ndarray, fmt: str, size: int | None = None) -> bytes:
    """Encode a (3, y, x) uint8 array as PNG or JPEG, optionally shrunk to ``size`` px wide."""
    img = Image.fromarray(np.moveaxis(rgb, 0, -1) if rgb.ndim == 3 else rgb)
    if size is not None and img.width > size:
        img = img.resize(
            (size, max(1, round(img.height * size / img.width))), Image.Resampling.BILINEAR
        )
    buf = io.BytesIO()
    img.save(buf, format=fmt, **({"quality": 85} if fmt == "JPEG" else {"optimize": False}))
    return buf.getvalue()


def write_bytes(path: Path, data: bytes) -> None:
    """Write bytes, creating parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write_jp2(
    path: Path,
    data: np.ndarray,
    crs: str,
    transform: Affine,
    nodata: float | None,
    quality: int = 100,
    block: int | None = None,
) -> None:
    """Write a georeferenced JPEG 2000 (GDAL JP2OpenJPEG: GeoJP2 and GMLJP2 boxes).

    The driver only supports CreateCopy: the picture goes through an in-memory GTiff. The target
    is a real file (a /vsimem/ JP2 target loses the georeferencing boxes). ``quality`` 100 is
    lossless (reversible wavelet), anything less is lossy. ``block``: the side of its
    tiles (GDAL's default: 1024).
    """
    data = _bands_first(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = _profile("GTiff", data, crs, transform, nodata)
    options = {"QUALITY": quality, "REVERSIBLE": "YES" if quality >= 100 else "NO"}
    if block is not None:
        options |= {"BLOCKXSIZE": block, "BLOCKYSIZE": block}
    with rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.MemoryFile() as mem:
        with mem.open(**profile) as tmp:
            tmp.write(data)
        with mem.open() as src:
            rasterio.shutil.copy(src, path, driver="JP2OpenJPEG", **options)
