"""Peer-corpus rasters served over HTTP by the local file server: sidecars read only when the
item lists them or the caller asks (request counts at the server), a COG, a corrupt TIFF.

The files are copied below the file server's root for the module (its tmp folder, never the
repository) and removed after.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import rasterio
import xarray as xr

from xstac_access import errors
from xstac_access.readers._gdal import forget_datasets

from ._realdata import peer_corpus

SERVED = [
    "raster/rasterio/green.tif",
    "raster/rasterio/green.tif.ovr",
    "raster/rasterio/RGB2.byte.tif",
    "raster/rasterio/RGB2.byte.tif.msk",
    "raster/rioxarray/test_rpcs_ext_file.tif",
    "raster/rioxarray/test_rpcs_ext_file.rpb",
    "raster/rasterio/cogeo.tif",
    "bad/corrupt.tif",
    "zip/rasterio/N10W110.hgt.zip",
]
FOLDER = "_peer17"


@pytest.fixture(scope="module")
def served(local_world):
    """The base URL of the peer files above, as the file server serves them."""
    root = local_world.replica.files_root / FOLDER
    root.mkdir(exist_ok=True)
    for path in SERVED:
        shutil.copy(peer_corpus() / path, root)
    yield f"{local_world.endpoints.http}/{FOLDER}/"
    shutil.rmtree(root)


@pytest.fixture
def log(files):
    """The file server's request log of this test, starting cold (no dataset or block cached)."""
    forget_datasets()
    files.reset()
    return lambda: [(e["method"], e["path"].rsplit("/", 1)[-1], e["status"])
                    for e in files.stats()["log"]]  # fmt: skip


def item(href: str, sidecar: str) -> dict:
    """An item whose asset ``data`` is ``href``, listing the sidecar ``sidecar`` as an asset."""
    return {
        "type": "Feature", "stac_version": "1.0.0", "id": "with-sidecar", "geometry": None,
        "properties": {"datetime": "2020-01-01T00:00:00Z"}, "links": [],
        "assets": {"data": {"href": href, "type": "image/tiff", "roles": ["data"]},
                   "overviews": {"href": sidecar, "roles": ["metadata"]}},
    }  # fmt: skip


def test_bare_href_reads_no_sidecar_and_says_so_for_a_missing_overview(served, log):
    ds = xr.open_dataset(served + "green.tif", engine="stacasset")
    assert log() == [("HEAD", "green.tif", 200), ("GET", "green.tif", 206)]
    assert ds["band_1"].encoding["overviews"] == []
    with pytest.raises(errors.FormatError, match=r"no overview level 0.*sidecars=True") as info:
        xr.open_dataset(served + "green.tif", engine="stacasset", overview_level=0)
    assert "green.tif.ovr" not in [name for _, name, _ in log()]
    assert "127.0.0.1" in str(info.value)


def test_overview_sidecar_listed_in_the_item_is_read(served, log):
    href = served + "green.tif"
    ds = xr.open_dataset(item(href, href + ".ovr"), engine="stacasset", overview_level=0)
    assert log() == [
        ("HEAD", "green.tif", 200), ("GET", "green.tif", 206),
        ("HEAD", "green.tif.ovr", 200), ("GET", "green.tif.ovr", 206),
    ]  # fmt: skip
    with rasterio.open(peer_corpus() / "raster/rasterio/green.tif", overview_level=0) as src:
        np.testing.assert_array_equal(ds["band_2"].values, src.read(2))


def test_mask_and_rpc_sidecars_listed_in_the_item(served, log):
    href = served + "RGB2.byte.tif"
    ds = xr.open_dataset(item(href, href + ".msk"), engine="stacasset", chunks={})
    with rasterio.open(peer_corpus() / "raster/rasterio/RGB2.byte.tif") as src:
        np.testing.assert_array_equal(ds["mask"].values, src.read_masks(1) != 0)
    assert [n for _, n, _ in log()].count("RGB2.byte.tif.msk") >= 2  # HEAD, then its bytes
    log_rpc = served + "test_rpcs_ext_file.tif"
    ds = xr.open_dataset(
        item(log_rpc, served + "test_rpcs_ext_file.rpb"), engine="stacasset", asset="data"
    )
    assert "rpcs" in ds["spatial_ref"].attrs
    # GDAL matches the allowed names without case: it asks for .RPB (404) before .rpb
    assert ("HEAD", "test_rpcs_ext_file.RPB", 404) in log()


def test_sidecars_true_looks_for_every_sidecar_and_without_it_none(served, log):
    ds = xr.open_dataset(served + "RGB2.byte.tif", engine="stacasset", sidecars=True)
    assert "mask" in ds
    misses = [name for method, name, status in log() if status == 404]
    assert all(method == "HEAD" for method, _, status in log() if status == 404)
    assert sorted(misses) == sorted([
        "RGB2.byte.tif.aux.xml", "RGB2.byte.RPB", "RGB2.byte.rpb", "RGB2.byte_rpc.txt",
        "RGB2.byte_RPC.TXT", "RGB2.byte.tif.ovr", "RGB2.byte.tif.OVR",
    ])  # fmt: skip
    before = len(log())  # the same file, this thread's datasets kept: not the one with sidecars
    ds = xr.open_dataset(served + "RGB2.byte.tif", engine="stacasset")
    assert "mask" not in ds
    assert {name for _, name, _ in log()[before:]} <= {"RGB2.byte.tif"}


def test_cog_window_over_http_equals_rasterio(served, log):
    ds = xr.open_dataset(served + "cogeo.tif", engine="stacasset")
    with rasterio.open(peer_corpus() / "raster/rasterio/cogeo.tif") as src:
        window = src.read(window=((100, 612), (200, 712)))
        assert ds.rio.transform() == src.transform and ds.rio.crs == src.crs
    got = np.stack([ds[v][100:612, 200:712].values for v in ("band_1", "band_2", "band_3")])
    np.testing.assert_array_equal(got, window)
    np.testing.assert_array_equal(
        ds["mask"][100:612, 200:712].values, src_mask("raster/rasterio/cogeo.tif")
    )


def src_mask(path: str) -> np.ndarray:
    with rasterio.open(peer_corpus() / path) as src:
        return src.read_masks(1, window=((100, 612), (200, 712))) != 0


def test_corrupt_tiles_over_http_are_a_typed_error_naming_asset_and_host(served, log, local_world):
    ds = xr.open_dataset(served + "corrupt.tif", engine="stacasset", chunks={})
    host = local_world.endpoints.http.split("://")[1]
    with pytest.raises(errors.FormatError) as info:
        ds["band_1"].values  # noqa: B018
    message = str(info.value)
    assert host in message and "corrupt.tif" in message
    assert message.count(served + "corrupt.tif") == 1
    assert "TIFFReadEncodedTile" in message  # GDAL's own reason, not "Read failed"


def test_srtm_member_of_a_zip_over_http_equals_rasterio_vsizip(served, log, files):
    href = served + "N10W110.hgt.zip"
    ds = xr.open_dataset(href, engine="stacasset", member="N10W110.hgt", mask_and_scale=False)
    local = peer_corpus() / "zip/rasterio/N10W110.hgt.zip"
    with rasterio.open(f"/vsizip/{local}/N10W110.hgt") as src:
        expected = src.read(1)
        assert ds.rio.transform() == src.transform and ds.rio.crs == src.crs
        assert ds["band_data"].attrs["nodata"] == src.nodata
    np.testing.assert_array_equal(ds["band_data"].values, expected)
    path = f"/{FOLDER}/N10W110.hgt.zip"
    size = local.stat().st_size  # 3544 bytes: the tail read (listing) holds it all
    # the listing's tail read, then GDAL's /vsizip/: its size (HEAD) and one read
    assert [m for m, _, _ in log()] == ["GET", "HEAD", "GET"]
    assert files.bytes_for(path) == 2 * size
