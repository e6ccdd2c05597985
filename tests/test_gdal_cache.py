"""GDAL's /vsicurl/ cache is cleared through GDAL's own C API, found the same way on every OS.

GDAL caches a remote file's size and blocks per URL for the whole process, whatever credential
read them: the library clears it when the credential changes. The C library is found through
rasterio (no ``/proc``, which only Linux has); without it, GDAL is told to cache nothing past a
file handle. The file server counts the requests: a cleared cache makes GDAL ask again.
"""

from __future__ import annotations

import builtins
import logging
import os
import shutil

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from xstac_access.readers import _gdalfail
from xstac_access.readers._gdalfail import cache_config, clear_vsicurl_cache


@pytest.fixture
def lookup():
    """A fresh lookup of GDAL's library for the test, and a fresh one again after it."""
    _gdalfail._gdal_library.cache_clear()
    yield _gdalfail._gdal_library
    _gdalfail._gdal_library.cache_clear()


@pytest.fixture
def served_tiff(local_world, files):
    """A small GeoTIFF under the file server: its ``/vsicurl/`` path and its served path."""
    folder = local_world.replica.files_root / f"_gdal_cache_{os.getpid()}"
    folder.mkdir()
    profile = {"driver": "GTiff", "width": 32, "height": 32, "count": 1, "dtype": "uint8",
               "crs": "EPSG:32633", "transform": from_origin(500000, 4000000, 10, 10)}  # fmt: skip
    with rasterio.open(folder / "small.tif", "w", **profile) as dst:
        dst.write(np.arange(32 * 32, dtype=np.uint8).reshape(1, 32, 32))
    served = f"/{folder.name}/small.tif"
    path = f"/vsicurl/{local_world.endpoints.http}{served}"
    clear_vsicurl_cache(path)
    yield path, served
    clear_vsicurl_cache(path)
    shutil.rmtree(folder, ignore_errors=True)


def read_all(path: str, **options: str) -> np.ndarray:
    with (
        rasterio.Env(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR", **options),
        rasterio.open(path) as src,
    ):
        return src.read(1)


def test_gdal_is_found_through_rasterio_without_proc(lookup, monkeypatch):
    """As on macOS and Windows: no ``/proc`` to read (opening anything under it fails)."""
    real_open = builtins.open

    def no_proc(file, *args, **kwargs):
        if str(file).startswith("/proc"):
            raise FileNotFoundError(file)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", no_proc)
    lib = lookup()
    assert lib is not None
    assert all(hasattr(lib, name) for name in ("VSICurlClearCache", "CPLErrorReset"))
    assert cache_config() == {}  # found: GDAL keeps its cache


def test_clearing_the_cache_makes_gdal_ask_the_server_again(lookup, served_tiff, files):
    path, served = served_tiff
    first = read_all(path)
    asked = files.requests_for(served)
    assert asked > 0
    np.testing.assert_array_equal(read_all(path), first)
    assert files.requests_for(served) == asked  # answered from GDAL's cache
    clear_vsicurl_cache(path)
    np.testing.assert_array_equal(read_all(path), first)
    assert files.requests_for(served) > asked


def test_without_gdal_s_library_a_warning_says_so_once_and_nothing_stays_cached(
    lookup, monkeypatch, caplog, served_tiff, files
):
    monkeypatch.setattr(_gdalfail, "_candidates", lambda: iter(["/nowhere/libgdal.so"]))
    lookup.cache_clear()  # served_tiff's setup found the real one
    with caplog.at_level(logging.WARNING, logger=_gdalfail.log.name):
        clear_vsicurl_cache()  # does nothing, and does not fail
        options = cache_config()
    (warning,) = [r for r in caplog.records if r.name == _gdalfail.log.name]
    assert "read uncached" in warning.getMessage()
    path, served = served_tiff
    read_all(path, **options)
    asked = files.requests_for(served)
    read_all(path, **options)
    assert files.requests_for(served) == 2 * asked  # the second open asked as the first did
    monkeypatch.undo()
    lookup.cache_clear()  # for served_tiff's teardown, which clears what the reads cached
