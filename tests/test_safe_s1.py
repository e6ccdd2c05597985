"""Sentinel-1 SAFE products as DataTrees: the CDSE IW GRDH zip (VV+VH) behind its OData
redirect, the same zip on the local disk, and its unzipped folder.

Values are compared with rasterio's reads of the members, GCPs with the TIFF's and the
annotation's, the calibration with the formula |DN|^2 / A^2 ((|DN|^2 - N) / A^2 with the noise
removed) where A and N are interpolated here, independently, from the XML text; bytes and
requests are counted by the file server. About 10 s in all on this machine once the replica is
generated (most of it the first test's imports and rasterio's reads).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest
import rasterio
import xarray as xr
from rasterio.windows import Window

from xstac_access import errors
from xstac_access.testing.replica import cdse_s1

STEM = "s1a-iw-grd-{pol}-20250610t053012-20250610t053037-059571-0765a2-{n}"
VV = STEM.format(pol="vv", n="001")
ROWS, COLS = [5, 47, 100, 200, 383], [0, 13, 250, 341, 511]  # across vectors and sub-swaths


@pytest.fixture
def folder(world):
    return world.replica.files_root / cdse_s1.FOLDER


@pytest.fixture
def local_zip(world):
    return world.replica.files_root / cdse_s1.ZIP


def _floats(element, name):
    return np.array(element.find(name).text.split(), float)


def calibration_gain(folder, table, rows, cols, stem=VV):
    """The calibration table of the measurement ``stem`` at ``rows`` x ``cols``, bilinear in
    (line, pixel), computed from the XML text independently of the reader."""
    root = ET.parse(folder / f"annotation/calibration/calibration-{stem}.xml").getroot()
    vectors = root.iter("calibrationVector")
    lines, values = [], []
    for v in vectors:
        lines.append(int(v.find("line").text))
        values.append(np.interp(cols, _floats(v, "pixel"), _floats(v, table)))
    values = np.array(values)
    return np.array([[np.interp(r, lines, values[:, j]) for j in range(len(cols))] for r in rows])


def _noise_power(folder, rows, cols):
    root = ET.parse(folder / f"annotation/calibration/noise-{VV}.xml").getroot()
    lines, values = [], []
    for v in root.iter("noiseRangeVector"):
        lines.append(int(v.find("line").text))
        values.append(np.interp(cols, _floats(v, "pixel"), _floats(v, "noiseRangeLut")))
    values = np.array(values)
    power = np.array([[np.interp(r, lines, values[:, j]) for j in range(len(cols))] for r in rows])
    for b in root.iter("noiseAzimuthVector"):
        first, last = int(b.find("firstAzimuthLine").text), int(b.find("lastAzimuthLine").text)
        near, far = int(b.find("firstRangeSample").text), int(b.find("lastRangeSample").text)
        for i, r in enumerate(rows):
            for j, c in enumerate(cols):
                if first <= r <= last and near <= c <= far:
                    power[i, j] *= np.interp(r, _floats(b, "line"), _floats(b, "noiseAzimuthLut"))
    return power


def _dn(folder, rows, cols, pol="vv"):
    stem = VV if pol == "vv" else STEM.format(pol="vh", n="002")
    with rasterio.open(folder / f"measurement/{stem}.tiff") as src:
        image = src.read(1).astype(float)
    return image[np.ix_(rows, cols)]


def test_folder_tree_layout_values_and_gcps_equal_the_members(folder):
    tree = xr.open_datatree(str(folder), engine="stacasset", mask_and_scale=False)
    assert {"VV", "VH", "conditions"} <= set(tree.children)
    assert tree.attrs["ipf_version"] == "003.91" and tree.attrs["polarisations"] == "VH VV"
    ds = tree["VV/measurements"].to_dataset()
    with rasterio.open(folder / f"measurement/{VV}.tiff") as src:
        expected = src.read(1, window=Window(300, 100, 150, 60))
        assert ds["grd"].shape == src.shape == (384, 512)
        tiff_gcps = src.gcps[0]
    got = ds["grd"][100:160, 300:450].values
    assert got.dtype == np.uint16
    np.testing.assert_array_equal(got, expected)
    gcps = ds.rio.get_gcps()
    assert len(gcps) == len(tiff_gcps) == 210
    for mine, theirs in zip(gcps, tiff_gcps, strict=True):
        assert (mine.row, mine.col) == (theirs.row, theirs.col)
        assert mine.x == pytest.approx(theirs.x, abs=1e-9)
        assert mine.y == pytest.approx(theirs.y, abs=1e-9)
    lonlat = ds.eo.geocode()
    assert float(lonlat["longitude"][0, 0]) == pytest.approx(tiff_gcps[0].x, abs=1e-4)


def test_geolocation_grid_is_the_annotations(folder):
    tree = xr.open_datatree(str(folder), engine="stacasset")
    gcp = tree["VV/conditions/gcp"].to_dataset()
    points = list(ET.parse(folder / f"annotation/{VV}.xml").getroot().iter("geolocationGridPoint"))
    assert gcp.sizes == {"line": 10, "pixel": 21} and len(points) == 210
    for k in (0, 57, 209):
        p = points[k]
        at = gcp.sel(line=int(p.find("line").text), pixel=int(p.find("pixel").text))
        for tag, name in (("latitude", "latitude"), ("longitude", "longitude"),
                          ("height", "height"), ("incidenceAngle", "incidence_angle"),
                          ("elevationAngle", "elevation_angle")):  # fmt: skip
            assert float(at[name]) == pytest.approx(float(p.find(tag).text), rel=1e-12), tag
        assert at["azimuth_time"].values == np.datetime64(p.find("azimuthTime").text)


@pytest.mark.parametrize(
    ("calibration", "table"),
    [("sigma0", "sigmaNought"), ("beta0", "betaNought"), ("gamma0", "gamma")],
)
def test_calibration_equals_the_lut_formula(folder, calibration, table):
    tree = xr.open_datatree(str(folder), engine="stacasset", calibration=calibration)
    values = tree[f"VV/measurements/{calibration}"].values[np.ix_(ROWS, COLS)]
    gain = calibration_gain(folder, table, ROWS, COLS)
    np.testing.assert_allclose(values, _dn(folder, ROWS, COLS) ** 2 / gain**2, rtol=2e-6)
    assert tree[f"VV/measurements/{calibration}"].attrs["units"] == "1"


def test_noise_removal_and_db(folder):
    tree = xr.open_datatree(str(folder), engine="stacasset", calibration="sigma0", noise=True)
    in_db = xr.open_datatree(
        str(folder), engine="stacasset", calibration="sigma0", noise=True, db=True
    )
    dn, gain = _dn(folder, ROWS, COLS), calibration_gain(folder, "sigmaNought", ROWS, COLS)
    expected = (dn**2 - _noise_power(folder, ROWS, COLS)) / gain**2
    sigma0 = tree["VV/measurements/sigma0"]
    np.testing.assert_allclose(sigma0.values[np.ix_(ROWS, COLS)], expected, rtol=2e-6)
    window = sigma0[40:60, 160:180].values  # a window computes only its own pixels
    np.testing.assert_array_equal(window, sigma0.values[40:60, 160:180])
    db = in_db["VV/measurements/sigma0"]
    assert db.attrs["units"] == "dB" and "noise removed" in db.attrs["long_name"]
    positive = expected > 0
    np.testing.assert_allclose(
        db.values[np.ix_(ROWS, COLS)][positive], 10 * np.log10(expected[positive]), atol=1e-4
    )
    assert np.isnan(db.values[np.ix_(ROWS, COLS)][~positive]).all()


def test_footprint_is_the_kml_quad(folder):
    tree = xr.open_datatree(str(folder), engine="stacasset")
    footprint = tree["conditions/footprint"].to_dataset().eo.footprint()
    kml = ET.parse(folder / "preview/map-overlay.kml").getroot()
    text = next(e for e in kml.iter() if e.tag.endswith("coordinates")).text
    corners = [tuple(map(float, c.split(","))) for c in text.split()]
    assert len(corners) == 4
    assert footprint.equals(type(footprint)([*corners, corners[0]]))


def test_quicklook_of_the_tree_shows_vv_and_vh_side_by_side_in_db(folder):
    tree = xr.open_datatree(str(folder), engine="stacasset", calibration="sigma0")
    look = tree.eo.quicklook(max_size=128, bands=["grd_VV", "grd_VH"])
    assert look.kind == "sar" and list(look.limits) == ["grd_VV", "grd_VH"]
    assert look.shape == (96, 128), look.shape  # strided by 4: a picture's worth
    for pol, n in (("vv", 0), ("vh", 1)):
        raw = _dn(folder, list(range(0, 384, 4)), list(range(0, 512, 4)), pol)
        expected = np.percentile(20 * np.log10(raw), [2, 98])  # amplitude counts: 20 log10
        np.testing.assert_allclose(look.picture.ranges[n], expected, rtol=1e-5)
    every = tree.eo.quicklook(max_size=128)  # all of both groups: DN and sigma0, VV first
    assert list(every.limits) == ["grd_VV", "sigma0_VV", "grd_VH", "sigma0_VH"]
    assert every.picture.units == ["dB"] * 4


def test_bad_options_are_refused_with_what_to_do(folder):
    with pytest.raises(errors.ResolveError, match=r"calibration='sigma1'.*'sigma0'"):
        xr.open_datatree(str(folder), engine="stacasset", calibration="sigma1")
    with pytest.raises(errors.ResolveError, match=r"noise= and db= apply to calibrated"):
        xr.open_datatree(str(folder), engine="stacasset", noise=True)


def test_local_zip_equals_the_folder(local_zip, folder):
    tree = xr.open_datatree(str(local_zip), engine="stacasset", calibration="sigma0")
    same = xr.open_datatree(str(folder), engine="stacasset", calibration="sigma0")
    np.testing.assert_array_equal(
        tree["VH/measurements/sigma0"][::37, ::41].values,
        same["VH/measurements/sigma0"][::37, ::41].values,
    )
    assert tree["VH/measurements"].to_dataset().rio.get_gcps()[5].x == pytest.approx(
        same["VH/measurements"].to_dataset().rio.get_gcps()[5].x
    )


def test_through_the_odata_redirect_reads_the_directory_the_xml_and_a_window(world, local_zip):
    item = next(i for i in world.replica.items if i["collection"] == cdse_s1.COLLECTION)
    creds = {"cdse": world.credentials()["cdse"]}
    key = f"alt:/{cdse_s1.ZIP}"
    tree = xr.open_datatree(
        item, engine="stacasset", asset="PRODUCT", credentials=creds, calibration="sigma0"
    )
    stats = world.files.stats()
    opened_bytes, opened_requests = stats["bytes"].get(key, 0), stats["requests"].get(key, 0)
    with zipfile.ZipFile(local_zip) as zf:
        infos = zf.infolist()
    xml = sum(i.compress_size for i in infos if i.filename.endswith((".xml", ".safe", ".kml")))
    tiffs = sum(i.compress_size for i in infos if i.filename.endswith(".tiff"))  # VV and VH
    assert opened_bytes <= 1024 + 65558 + xml + 16 * 1024, (opened_bytes, xml)
    assert opened_requests <= 12, opened_requests
    window = tree["VV/measurements/sigma0"][100:140, 200:260].values
    read = world.files.stats()["bytes"][key] - opened_bytes
    # the TIFF's trailing IFD, then the strips of 40 lines with GDAL's growing read-ahead: less
    # than the one member, the other polarisation's image not read
    assert read < tiffs / 2, (read, tiffs)
    gets = [e for e in world.files.stats()["log"] if e["path"].endswith(".zip")]
    assert gets and all(e["range"] for e in gets if e["method"] == "GET"), "a whole-zip GET"
    dn = _dn_from_zip(local_zip, slice(100, 140), slice(200, 260))
    assert np.isfinite(window).all() and window.shape == dn.shape
    print(f"S1 via OData: open {opened_bytes} B in {opened_requests} requests, window {read} B")


def _dn_from_zip(path, rows, cols):
    member = next(n for n in zipfile.ZipFile(path).namelist() if n.endswith(f"{VV}.tiff"))
    with rasterio.open(f"/vsizip/{path}/{member}") as src:
        return src.read(1, window=Window.from_slices(rows, cols))
