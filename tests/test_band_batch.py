"""The bands of a window that one ``Dataset.load()`` loads are read at once, and only those.

A 4-band, band-interleaved, uncompressed GeoTIFF (one 1 MB run of tiles per band) under the
local file server, which holds each band's response mid-body: the bands of one load must all be
in flight together (xarray alone loads them one after another), a band the Dataset no longer
holds must not be read, and a band loaded on its own reads nothing but itself.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import rasterio
import xarray as xr
from rasterio.transform import from_origin

from xstac_access.readers._gdal import forget_datasets

SIZE, BLOCK = 512, 256
NAMES = ("HH", "HV", "VH", "VV")
BAND_BYTES = SIZE * SIZE * 4  # float32, uncompressed
#: /vsicurl/ reads in 16 KB chunks: reads running side by side may share a chunk at each end
SLACK = 2 * 16384


@pytest.fixture
def served_bands(local_world, files):
    """The served URL and path of the 4-band GeoTIFF, and its values."""
    folder = local_world.replica.files_root / f"_band_batch_{os.getpid()}"
    folder.mkdir()
    values = np.arange(4 * SIZE * SIZE, dtype="float32").reshape(4, SIZE, SIZE)
    profile = {"driver": "GTiff", "width": SIZE, "height": SIZE, "count": 4, "dtype": "float32",
               "tiled": True, "blockxsize": BLOCK, "blockysize": BLOCK, "interleave": "band",
               "crs": "EPSG:32633", "transform": from_origin(500000, 4000000, 10, 10)}  # fmt: skip
    with rasterio.open(folder / "bands.tif", "w", **profile) as dst:
        dst.write(values)
        dst.descriptions = NAMES
    served = f"/{folder.name}/bands.tif"
    forget_datasets()
    yield f"{local_world.endpoints.http}{served}", served, values
    forget_datasets()
    shutil.rmtree(folder, ignore_errors=True)


def test_the_bands_one_load_asks_for_are_read_at_once_and_no_other(served_bands, files):
    url, served, values = served_bands
    ds = xr.open_dataset(url, engine="stacasset").drop_vars("VV")
    assert list(ds.data_vars) == ["HH", "HV", "VH"]
    at_open = files.bytes_for(served)
    window = ds.isel(y=slice(0, SIZE), x=slice(0, SIZE))
    files.set_faults([{"path": served, "hold_after_bytes": 100_000}])
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(window.load)
        try:
            files.wait_held(3, timeout=20)  # all three bands in flight together
        finally:
            files.clear_faults()
        loaded = running.result(timeout=60)
    files.wait_idle()
    for index, name in enumerate(NAMES[:3]):
        np.testing.assert_array_equal(loaded[name].values, values[index])
    read = files.bytes_for(served) - at_open
    assert 3 * BAND_BYTES <= read <= 3 * BAND_BYTES + 3 * SLACK  # VV's 1 MB is not read


def test_a_band_loaded_alone_reads_only_itself(served_bands, files):
    url, served, values = served_bands
    ds = xr.open_dataset(url, engine="stacasset")
    at_open = files.bytes_for(served)
    window = ds["HV"].isel(y=slice(10, 300), x=slice(0, SIZE)).load()
    np.testing.assert_array_equal(window.values, values[1, 10:300])
    files.wait_idle()
    assert files.bytes_for(served) - at_open <= 2 * BLOCK * SIZE * 4 + SLACK  # 2 tile rows
    both = ds[["HH", "VH"]].isel(y=5).compute()
    np.testing.assert_array_equal(both["HH"].values, values[0, 5])
    np.testing.assert_array_equal(both["VH"].values, values[2, 5])


def test_a_pixel_interleaved_rasters_bands_are_read_in_one_call(local_world, files, monkeypatch):
    """An RGB COG keeps its three bands in the same tiles: one load reads them in one GDAL call,
    every tile fetched (and decoded) once, not once per band in three threads."""
    from xstac_access.readers import _gdal

    folder = local_world.replica.files_root / f"_band_batch_rgb_{os.getpid()}"
    folder.mkdir()
    values = np.random.default_rng(7).integers(0, 255, (3, SIZE, SIZE), dtype="uint8")
    profile = {"driver": "GTiff", "width": SIZE, "height": SIZE, "count": 3, "dtype": "uint8",
               "tiled": True, "blockxsize": BLOCK, "blockysize": BLOCK, "interleave": "pixel",
               "compress": "deflate", "photometric": "RGB", "crs": "EPSG:32633",
               "transform": from_origin(500000, 4000000, 10, 10)}  # fmt: skip
    with rasterio.open(folder / "rgb.tif", "w", **profile) as dst:
        dst.write(values)
    served = f"/{folder.name}/rgb.tif"
    forget_datasets()
    try:
        ds = xr.open_dataset(f"{local_world.endpoints.http}{served}", engine="stacasset")
        assert len(ds.data_vars) == 3
        calls = []
        run = _gdal.RasterSource.run
        monkeypatch.setattr(_gdal.RasterSource, "run", lambda s, op: calls.append(1) or run(s, op))
        at_open = files.bytes_for(served)
        loaded = ds.load()
        files.wait_idle()
        for index, name in enumerate(ds.data_vars):
            np.testing.assert_array_equal(loaded[name].values, values[index])
        assert len(calls) == 1
        assert files.bytes_for(served) - at_open <= (folder / "rgb.tif").stat().st_size + SLACK
    finally:
        forget_datasets()
        shutil.rmtree(folder, ignore_errors=True)
