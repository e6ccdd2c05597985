"""Servers without Range support: every ranged GET is answered 200 with the whole file.

A small file (up to ``XSTAC_NO_RANGE_MAX_BYTES``, 64 MiB by default) is transferred once per
open and read from memory (zip members, netCDF chunks, GDAL tiles); a larger one is a typed
:class:`~xstac_access.errors.RangeNotSupportedError` naming the host and size and saying to
download it. The file server's ``no_range`` fault makes a path behave so; its counters say how
many requests and bytes it took.
"""

from __future__ import annotations

import shutil
import uuid
import zipfile

import numpy as np
import pytest
import rasterio
import xarray as xr
from conftest import replica_item
from test_netcdf import write_grouped

from xstac_access import credentials, errors
from xstac_access.http import ranged as _ranged
from xstac_access.readers._gdal import clear_vsicurl_cache, forget_datasets
from xstac_access.readers._zipfile import forget_archives

XML_MEMBERS = ("manifest.safe", "MTD_MSIL2A.xml", "MTD_TL.xml")


@pytest.fixture
def world(local_world, files):
    clear_vsicurl_cache()
    forget_datasets()
    forget_archives()
    _ranged.forget_kept()
    credentials.reset()
    yield local_world
    forget_archives()
    _ranged.forget_kept()


@pytest.fixture
def small_limit(monkeypatch):
    """A limit of 1 MB, below the test files' sizes."""
    monkeypatch.setenv(_ranged.NO_RANGE_ENV, str(1024 * 1024))


def served(world, path: str) -> tuple[int, int]:
    """(requests, bytes) the file server answered for ``path`` on either host."""
    log = [e for e in world.files.stats()["log"] if e["path"] == path]
    return len(log), sum(e["bytes"] for e in log)


def assert_says_download(error: errors.RangeNotSupportedError, host: str, size: int) -> None:
    message = str(error)
    assert f"host {host} does not support HTTP Range" in message
    assert f"{size} bytes" in message and "Download it" in message


# -- zip ---------------------------------------------------------------------------------------


@pytest.fixture
def safe(world):
    """The CDSE item and credentials, the zip's local copy and its path on the download host,
    which ignores Range."""
    item = replica_item(world, "cdse-sentinel-2-l2a")
    (local,) = (world.replica.files_root / "cdse" / "download").glob("*.SAFE.zip")
    path = f"/cdse/download/{local.name}"
    world.files.set_faults([{"path": path, "no_range": True}])
    return item, {"cdse": world.credentials()["cdse"]}, local, path


def test_a_zip_listing_and_its_members_cost_one_transfer(world, safe):
    item, creds, local, path = safe
    listing = xr.open_dataset(item, engine="stacasset", asset="PRODUCT", credentials=creds)
    xml = {
        name: xr.open_dataset(
            item, engine="stacasset", asset="PRODUCT", member=name, credentials=creds
        )["xml"].item()
        for name in XML_MEMBERS
    }
    tci = xr.open_dataset(
        item, engine="stacasset", asset="PRODUCT", member="manifest:TCI_60m", credentials=creds
    )
    with zipfile.ZipFile(local) as zf:
        assert list(listing["member"].values) == [i.filename for i in zf.infolist()]
        for name, text in xml.items():
            (info,) = [i for i in zf.infolist() if i.filename.endswith("/" + name)
                       or i.filename == name]  # fmt: skip
            assert text == zf.read(info).decode()
        (jp2,) = [i for i in zf.infolist() if i.filename.endswith("_TCI_60m.jp2")]
        with rasterio.io.MemoryFile(zf.read(jp2)) as mem, mem.open() as src:
            np.testing.assert_array_equal(tci.to_array().values, src.read())
    print(
        [
            (e["method"], e["status"], e["range"], e["bytes"])
            for e in world.files.stats()["log"]
            if e["path"] == path
        ]
    )
    assert served(world, path) == (1, local.stat().st_size)  # one transfer, the whole file


def test_a_zip_over_the_limit_is_a_typed_error_saying_download_it(world, safe, small_limit):
    item, creds, local, path = safe
    with pytest.raises(errors.RangeNotSupportedError) as caught:
        xr.open_dataset(item, engine="stacasset", asset="PRODUCT", credentials=creds)
    assert_says_download(caught.value, world.endpoints.http_alt.split("//")[1],
                         local.stat().st_size)  # fmt: skip
    assert served(world, path)[0] <= 2  # the sniff (its first KB), the tail: no retry


# -- netCDF ------------------------------------------------------------------------------------


@pytest.fixture
def netcdf(world):
    """An 8 MB netCDF4 file on a path that ignores Range: (href, path, counts, size)."""
    folder = world.replica.files_root / f"_tests_no_range_{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    counts = write_grouped(folder / "grouped.nc")
    path = f"/{folder.name}/grouped.nc"
    world.files.set_faults([{"path": path, "no_range": True}])
    yield world.endpoints.http + path, path, counts, (folder / "grouped.nc").stat().st_size
    shutil.rmtree(folder)


def test_a_small_netcdf_is_read_once_and_loads(world, netcdf):
    href, path, counts, size = netcdf
    ds = xr.open_dataset(href, engine="stacasset")
    window = ds["refl"][1000:1300, 100:400].load()
    np.testing.assert_allclose(window.values, counts[1000:1300, 100:400] * 0.0001 - 0.1,
                               rtol=1e-6)  # fmt: skip
    tree = ds.load()
    assert tree["refl"].shape == counts.shape
    assert served(world, path) == (1, size)


def test_a_large_netcdf_is_a_typed_error_saying_download_it(world, netcdf, small_limit):
    href, _, _, size = netcdf
    with pytest.raises(errors.RangeNotSupportedError) as caught:
        xr.open_dataset(href, engine="stacasset")
    assert_says_download(caught.value, world.endpoints.http.split("//")[1], size)


# -- GDAL --------------------------------------------------------------------------------------


@pytest.fixture
def cog(world, tmp_path):
    """A 4.5 MB tiled GeoTIFF (more than GDAL downloads by itself from such a server) on a path
    that ignores Range: (item, path, pixels, size)."""
    folder = world.replica.files_root / f"_tests_no_range_{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    pixels = np.random.default_rng(7).integers(0, 4000, (1500, 1500)).astype("uint16")
    item = replica_item(world, "sentinel-2-l2a")
    source = world.replica.files_root / item["assets"]["red"]["href"].removeprefix(
        world.endpoints.http + "/")  # fmt: skip
    with rasterio.open(source) as src:
        profile = {**src.profile, "height": 1500, "width": 1500, "compress": None,
                   "tiled": True, "blockxsize": 256, "blockysize": 256}  # fmt: skip
    with rasterio.open(folder / "big.tif", "w", **profile) as dst:
        dst.write(pixels, 1)
    path = f"/{folder.name}/big.tif"
    item["assets"]["red"]["href"] = world.endpoints.http + path
    world.files.set_faults([{"path": path, "no_range": True}])
    yield item, path, pixels, (folder / "big.tif").stat().st_size
    shutil.rmtree(folder)


def test_gdal_reads_a_small_file_of_such_a_server_from_memory(world, cog):
    item, path, pixels, size = cog
    ds = xr.open_dataset(item, engine="stacasset", asset="red", mask_and_scale=False)
    np.testing.assert_array_equal(ds["red"][700:900, 100:400].values, pixels[700:900, 100:400])
    np.testing.assert_array_equal(ds["red"][:256, -256:].values, pixels[:256, -256:])
    requests, sent = served(world, path)
    assert requests <= 4 and sent == size  # GDAL's own tries, cut short; then ours, whole


def test_gdal_over_the_limit_is_a_typed_error_saying_download_it(world, cog, small_limit):
    item, _, _, size = cog
    with pytest.raises(errors.RangeNotSupportedError) as caught:
        xr.open_dataset(item, engine="stacasset", asset="red")
    assert_says_download(caught.value, world.endpoints.http.split("//")[1], size)
