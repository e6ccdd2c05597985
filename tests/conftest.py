"""Shared fixtures: the local world of real servers, the replica's items without a server, and
small files written by code (a GCP GeoTIFF, a Sentinel-1 style overlay KML).

Nothing here reads real public data: tests about it live in ``tests/realdata`` and read it in
place from the shared folder.
"""

from __future__ import annotations

import copy
import functools
import json
import shutil
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import rasterio
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning

from xstac_access.testing.endpoints import OFFLINE

pytest_plugins = ["xstac_access.testing.pytest_plugin"]


def replica_item(world, collection: str, index: int = 0) -> dict:
    """A copy of one of the replica's items of ``collection`` (by id order): tests may change it
    without touching the session's world."""
    items = sorted((i for i in world.replica.items if i["collection"] == collection),
                   key=lambda i: i["id"])  # fmt: skip
    return copy.deepcopy(items[index])


@functools.cache
def _offline_items(system: ModuleType) -> tuple[dict, ...]:
    return tuple(system.items(OFFLINE, 0, "ci"))


def offline_item(system: ModuleType, collection: str, index: int = 0) -> dict:
    """A copy of one of the replica's items of ``collection`` (by id order) as ``system`` (a
    module of :mod:`xstac_access.testing.replica`) builds it for :data:`OFFLINE`: no server and
    no replica file is needed, so tests of resolving and of item metadata stay fast."""
    items = sorted((i for i in _offline_items(system) if i["collection"] == collection),
                   key=lambda i: i["id"])  # fmt: skip
    return copy.deepcopy(items[index])


def swath_lonlat(line, pixel, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A smooth, slightly curved and skewed (lon, lat) over image positions, as a SAR swath's
    ground is: what the generated GCPs say."""
    t, r = np.asarray(line, float) / shape[0], np.asarray(pixel, float) / shape[1]
    return 76.0 + 2.4 * r + 0.3 * t + 0.15 * r**2, 11.0 - 1.8 * t + 0.2 * r - 0.05 * t * r


def lattice_gcps(
    shape: tuple[int, int],
    count: tuple[int, int] = (7, 11),
    extent: tuple[float, float, float, float] | None = None,
) -> list[GroundControlPoint]:
    """GCPs on a ``count`` (lines x pixels) lattice over ``extent`` (first line, last line, first
    pixel, last pixel; the image's corners by default, GDAL's corner origin), placed by
    :func:`swath_lonlat`."""
    first_line, last_line, first_pixel, last_pixel = extent or (0, shape[0], 0, shape[1])
    lines, pixels = np.meshgrid(
        np.linspace(first_line, last_line, count[0]),
        np.linspace(first_pixel, last_pixel, count[1]),
        indexing="ij",
    )
    lon, lat = swath_lonlat(lines, pixels, shape)
    return [
        GroundControlPoint(row=row, col=col, x=x, y=y, id=str(i))
        for i, (row, col, x, y) in enumerate(
            zip(lines.ravel(), pixels.ravel(), lon.ravel(), lat.ravel(), strict=True)
        )
    ]


def write_gcp_geotiff(
    path: Path,
    data: np.ndarray | None = None,
    *,
    shape: tuple[int, int] | None = None,
    dtype: str | None = None,
    gcps: Sequence[GroundControlPoint] | None = None,
    nodata: float | None = 0,
    block: int = 256,
    overviews: Sequence[int] = (),
) -> Path:
    """A one-band GeoTIFF located only by GCPs in EPSG:4326 (no geotransform, as Sentinel-1
    measurements are): tiled, deflated, with ``nodata`` and internal ``overviews``.

    Without ``data`` (then ``shape`` and ``dtype`` say what it is) no tile is written: GDAL's
    sparse file of a few KB stands for a full-size raster and reads as zeros. ``gcps`` default to
    :func:`lattice_gcps` over the image.
    """
    if data is not None:
        shape, dtype = data.shape, str(data.dtype)
    assert shape is not None and dtype is not None
    profile = dict(
        driver="GTiff", height=shape[0], width=shape[1], count=1, dtype=dtype, nodata=nodata,
        tiled=True, blockxsize=block, blockysize=block, compress="deflate", sparse_ok=True,
    )  # fmt: skip
    with warnings.catch_warnings():  # GDAL: "no geotransform" until the GCPs are set
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        dst = rasterio.open(path, "w", **profile)
    with dst:
        dst.gcps = (list(gcps or lattice_gcps(shape)), CRS.from_epsg(4326))
        if data is not None:
            dst.write(data, 1)
        if overviews:
            dst.build_overviews(list(overviews), Resampling.nearest)
    return path


#: What :func:`gcp_geotiff` holds.
GCP_TIFF_SHAPE, GCP_TIFF_BLOCK, GCP_TIFF_OVERVIEWS = (601, 1001), 256, (2, 4)


def gcp_counts(shape: tuple[int, int]) -> np.ndarray:
    """uint16 counts, 0 (nodata) on a slanted strip along the left edge as on a swath's border."""
    rows, cols = np.indices(shape)
    counts = ((rows * 7 + cols * 3) % 4000 + 1).astype("uint16")
    counts[cols < 40 + rows // 10] = 0
    return counts


@pytest.fixture(scope="session")
def gcp_geotiff(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Sentinel-1 GRD-like GeoTIFF written once (read-only): ``GCP_TIFF_SHAPE`` uint16 counts
    of :func:`gcp_counts` with nodata 0, ``GCP_TIFF_BLOCK`` px tiles, ``GCP_TIFF_OVERVIEWS``,
    and a 7 x 11 GCP lattice reaching the image's edges."""
    path = tmp_path_factory.mktemp("gcp_geotiff") / "grd.tif"
    return write_gcp_geotiff(
        path,
        gcp_counts(GCP_TIFF_SHAPE),
        block=GCP_TIFF_BLOCK,
        overviews=GCP_TIFF_OVERVIEWS,
    )


#: Sentinel-1 style quads (lon, lat), clockwise as the SAFE previews list them: the first and
#: last image lines' ends. ``polar`` is far from a rectangle in lon/lat, ``west`` has negative
#: longitudes, ``north_west_first`` starts at its north-western corner.
OVERLAY_QUADS: dict[str, list[tuple[float, float]]] = {
    "polar": [(61.25, 70.5), (47.75, 71.75), (52.5, 75.25), (70.0, 73.5)],
    "west": [(-38.5, 60.25), (-43.75, 60.75), (-43.0, 62.5), (-37.25, 62.0)],
    "north_west_first": [(5.25, 47.5), (6.75, 47.25), (6.5, 46.0), (5.0, 46.25)],
}


def overlay_kml(
    corners: Sequence[tuple[float, float]], picture: str = "quick-look.png", name: str = "overlay"
) -> str:
    """A preview KML shaped like a Sentinel-1 SAFE's ``preview/map-overlay.kml``: a bare
    ``<kml>`` root without the KML default namespace (only ``gx:`` and a product prefix
    declared), one GroundOverlay naming ``picture``, and a ``gx:LatLonQuad`` listing ``corners``
    in the order given."""
    coordinates = " ".join(f"{lon:.6f},{lat:.6f}" for lon, lat in corners)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns:gx="http://www.google.com/kml/ext/2.2" xmlns:s1="urn:example:s1">
  <Document>
    <name>{name} document</name>
    <Folder>
      <name>{name} folder</name>
      <GroundOverlay>
        <name>{name}</name>
        <Icon><href>{picture}</href></Icon>
        <gx:LatLonQuad><coordinates>{coordinates}</coordinates></gx:LatLonQuad>
      </GroundOverlay>
    </Folder>
  </Document>
</kml>
"""


def write_preview(
    folder: Path, corners: Sequence[tuple[float, float]], shape: tuple[int, int] = (60, 80)
) -> tuple[Path, Path]:
    """A SAFE-like ``preview/``: an RGB ``quick-look.png`` of ``shape`` (a gradient, brighter
    down and right) and the ``map-overlay.kml`` placing it at ``corners``: (png, kml)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rows, cols = np.indices(shape)
    rgb = np.stack([rows * 255 // shape[0], cols * 255 // shape[1], (rows + cols) % 256], axis=-1)
    png = folder / "quick-look.png"
    Image.fromarray(rgb.astype("uint8")).save(png)
    kml = folder / "map-overlay.kml"
    kml.write_text(overlay_kml(corners, png.name))
    return png, kml


@pytest.fixture
def files(local_world):
    """The file server's admin client, with counters reset and no faults (cleared after too)."""
    local_world.files.reset()
    local_world.files.clear_faults()
    yield local_world.files
    local_world.files.clear_faults()


@pytest.fixture
def world(local_world):
    """The session's world as if new to this test: GDAL's /vsicurl/ cache cleared, fresh
    credential providers (no token or cookie of an earlier test), the file server's counters and
    the identity provider reset. A test module needing more defines its own ``world``."""
    from xstac_access import credentials
    from xstac_access.readers._gdalfail import clear_vsicurl_cache

    clear_vsicurl_cache()
    credentials.reset()
    local_world.files.reset()
    local_world.oidc.reset()
    return local_world


@contextmanager
def eopf_product_over_http(world, folder: str) -> Iterator[tuple[dict, str]]:
    """The replica's S2 EOPF product copied under the file server (whose counters and faults
    then see every request), with its item pointing there: ``(item, served path)``."""
    item = replica_item(world, "eopf-sentinel-2-l2a")
    s3 = world.endpoints.s3
    bucket, _, key = item["assets"]["product"]["href"][len(s3) + 1 :].partition("/")
    source = world.replica.s3_buckets[bucket] / key
    target = world.replica.files_root / folder / source.name
    shutil.copytree(source, target)
    try:
        base = f"{world.endpoints.http}/{folder}/{source.name}"
        yield (
            json.loads(json.dumps(item).replace(item["assets"]["product"]["href"], base)),
            (f"/{folder}/{source.name}"),
        )
    finally:
        shutil.rmtree(target.parent)
