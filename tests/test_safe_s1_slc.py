"""Sentinel-1 IW SLC SAFE products as DataTrees: sub-swath and polarisation groups, bursts with
their valid samples, complex values, calibration, GCPs; and quicklooks that read only the rows
they show.

The product (:mod:`xstac_access.testing.replica._s1slc`: IW1 of 2048 samples and IW2 of 512,
VV+VH, 3 bursts of 60 lines, CInt16 in one-row strips) is written once per module into a
temporary folder, and zipped under the file server for the byte counts. Values are compared
with rasterio's reads of the members and with formulas evaluated here from the XML text. About
6 s in all on this machine (writing the product takes under 1 s; most is the imports).
"""

from __future__ import annotations

import shutil
import uuid
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest
import rasterio
import xarray as xr
from test_safe_s1 import calibration_gain

from xstac_access.readers._gdalfail import clear_vsicurl_cache
from xstac_access.testing.replica import _s1safe, _s1slc

IW1_VV = _s1slc.stem(_s1slc.swaths()[0], "VV")
ROWS, COLS = [5, 37, 70, 110, 150, 170], [0, 40, 500, 1031, 2000, 2047]  # edges: no data


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("s1slc") / f"{_s1slc.PRODUCT.name}.SAFE"
    _s1slc.write_folder(path, seed=19)
    return path


@pytest.fixture
def served_zip(local_world, folder):
    """The product zipped under the file server: (URL, served path, local zip)."""
    name = f"_tests_s1slc/{uuid.uuid4().hex}/{folder.name}.zip"
    local = local_world.replica.files_root / name
    _s1safe.zip_folder(folder, local)
    clear_vsicurl_cache()
    yield f"{local_world.endpoints.http}/{name}", f"/{name}", local
    shutil.rmtree(local.parent)


def _tiff(folder, stem=IW1_VV):
    with rasterio.open(folder / f"measurement/{stem}.tiff") as src:
        return src.read(1), src.gcps[0]


def _floats(element, name):
    return np.array(element.find(name).text.split(), float)


def test_layout_and_complex_values_equal_the_members(folder):
    tree = xr.open_datatree(str(folder), engine="stacasset")
    assert {"IW1_VV", "IW1_VH", "IW2_VV", "IW2_VH"} <= set(tree.children)
    assert tree.attrs["product_type"] == "SLC" and tree.attrs["polarisation_code"] == "1SDV"
    assert tree.attrs["absolute_orbit"] == 59600  # the name's padded "SLC__" field skipped
    assert set(tree["IW1_VV/bursts"].children) == {"0", "1", "2"}
    slc = tree["IW1_VV/measurements/slc"]
    expected, _ = _tiff(folder)
    assert slc.dtype == np.complex64 and slc.shape == expected.shape == (180, 2048)
    np.testing.assert_array_equal(slc[50:70, 1000:1100].values, expected[50:70, 1000:1100])
    # a stride reads rows and columns apart (GDAL's decimated read) and equals numpy's
    np.testing.assert_array_equal(slc[1::7, 3::33].values, expected[1::7, 3::33])
    assert tree["IW2_VH/measurements/slc"].shape == (180, 512)


def test_bursts_are_line_ranges_masked_outside_their_valid_samples(folder):
    tree = xr.open_datatree(str(folder), engine="stacasset")
    raw = xr.open_datatree(str(folder), engine="stacasset", mask_and_scale=False)
    expected, _ = _tiff(folder)
    root = ET.parse(folder / f"annotation/{IW1_VV}.xml").getroot()
    bursts = list(root.iter("burst"))
    assert int(root.find("swathTiming/linesPerBurst").text) == 60 and len(bursts) == 3
    for k, element in enumerate(bursts):
        burst = tree[f"IW1_VV/bursts/{k}"].to_dataset()
        first = np.array(element.find("firstValidSample").text.split(), int)
        last = np.array(element.find("lastValidSample").text.split(), int)
        np.testing.assert_array_equal(burst["line"], np.arange(60 * k, 60 * (k + 1)))
        np.testing.assert_array_equal(burst["first_valid_sample"], first)
        np.testing.assert_array_equal(burst["last_valid_sample"], last)
        cols = np.arange(2048)
        valid = (first[:, None] >= 0) & (cols >= first[:, None]) & (cols <= last[:, None])
        lines = expected[60 * k : 60 * (k + 1)]
        values = burst["slc"].values
        assert 0 < valid.sum() < valid.size and (lines[~valid] == 0).all()
        np.testing.assert_array_equal(values[valid], lines[valid])
        assert np.isnan(values[~valid]).all()
        window = burst["slc"][2:9, 20:40:3].values  # a window is masked by its own lines
        np.testing.assert_array_equal(window, values[2:9, 20:40:3])
        unmasked = raw[f"IW1_VV/bursts/{k}/slc"].values
        np.testing.assert_array_equal(unmasked, lines)


def test_sigma0_is_the_power_of_the_complex_values_over_the_gain_squared(folder):
    tree = xr.open_datatree(str(folder), engine="stacasset", calibration="sigma0")
    gain = calibration_gain(folder, "sigmaNought", ROWS, COLS, stem=IW1_VV)
    z = _tiff(folder)[0][np.ix_(ROWS, COLS)]
    power = z.real.astype(float) ** 2 + z.imag.astype(float) ** 2
    expected = np.where(power > 0, power / gain**2, np.nan)  # 0: outside the valid samples
    got = tree["IW1_VV/measurements/sigma0"].values[np.ix_(ROWS, COLS)]
    assert np.isfinite(expected).sum() >= 20 and np.isnan(expected[:, [0, -1]]).all()
    np.testing.assert_allclose(got, expected, rtol=2e-6)
    burst = tree["IW1_VV/bursts/1/sigma0"].values  # masked in the bursts too
    assert np.isnan(burst[:4]).all() and np.isfinite(burst[10, 100:1900]).all()


def test_gcps_are_the_tiffs_and_the_geolocation_grid(folder):
    tree = xr.open_datatree(str(folder), engine="stacasset")
    ds = tree["IW1_VH/measurements"].to_dataset()
    _, tiff_gcps = _tiff(folder, _s1slc.stem(_s1slc.swaths()[0], "VH"))
    gcps = ds.rio.get_gcps()
    assert len(gcps) == len(tiff_gcps) == 44  # 4 burst-edge lines x 11 pixels
    for mine, theirs in zip(gcps, tiff_gcps, strict=True):
        assert (mine.row, mine.col) == (theirs.row, theirs.col)
        assert (mine.x, mine.y) == pytest.approx((theirs.x, theirs.y), abs=1e-9)
    grid = tree["IW1_VH/conditions/gcp"].to_dataset()
    assert grid.sizes == {"line": 4, "pixel": 11}
    assert list(grid["line"].values) == [0, 60, 120, 180]
    lonlat = ds.eo.geocode()  # at pixel centres: half a pixel from the grid's corner points
    assert float(lonlat["longitude"][60, 0]) == pytest.approx(
        float(grid["longitude"].sel(line=60, pixel=0)), abs=1e-4
    )


def test_quicklook_over_http_shows_vv_and_vh_reading_a_fraction_of_the_images(
    served_zip, files, folder
):
    url, path, local = served_zip
    tree = xr.open_datatree(url, engine="stacasset")
    opened = files.bytes_for(path)
    look = tree.eo.quicklook(max_size=64)
    read = files.bytes_for(path) - opened
    assert look.kind == "sar" and list(look.limits) == ["slc_VV", "slc_VH"]  # IW1, VV first
    assert look.shape == (6, 64), look.shape  # every 32nd line and sample of 180 x 2048
    with zipfile.ZipFile(local) as zf:
        images = sum(i.file_size for i in zf.infolist() if "-iw1-slc-" in i.filename
                     and i.filename.endswith(".tiff"))  # fmt: skip
    # 6 rows of 8 KB in each image, each read as one or two of GDAL's 32 KB cache blocks (about
    # 620 KB), and the IFDs; reading the window and striding it read both images whole
    assert read < images / 4, (read, images)
    amplitude = np.abs(_tiff(folder)[0][::32, ::32])
    shown = 20 * np.log10(amplitude[amplitude > 0])  # complex: |z| in dB, 0 is no data
    np.testing.assert_allclose(look.limits["slc_VV"], np.percentile(shown, [2, 98]), rtol=1e-5)
    print(f"SLC quicklook over HTTP: {read} B of {images} B of IW1 images")
