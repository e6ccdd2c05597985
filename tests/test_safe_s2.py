"""Sentinel-2 SAFE products as DataTrees: the CDSE L2A zip behind its OData redirect, the same
zip on the local disk, and its unzipped folder (the ``eodata`` bucket's), all read by range.

Values are compared with rasterio's reads of the same members, the scaling with the formula of
the product metadata, the angles with the tile metadata's text; bytes and requests are counted
by the file server. The L1C product is written by the test, on grids 30x coarser than the
product's. About 14 s in all on this machine (most of it the first test's imports
and its rasterio reads through /vsizip/).
"""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest
import rasterio
import xarray as xr
from rasterio.windows import Window

from xstac_access import errors
from xstac_access.testing.replica import _s2safe, cdse

GROUPS = {
    "measurements/reflectance/r10m": {"b02", "b03", "b04", "b08"},
    "measurements/reflectance/r20m": {"b05", "b06", "b07", "b8a", "b11", "b12"},
    "measurements/reflectance/r60m": {"b01", "b09"},
    "quality/atmosphere/r10m": {"aot", "wvp"},
    "quality/probability/r20m": {"cld", "snw"},
    "conditions/mask/l2a_classification/r20m": {"scl"},
}


@pytest.fixture
def local_zip(world):
    (path,) = (world.replica.files_root / "cdse" / "download").glob("*.SAFE.zip")
    return path


@pytest.fixture
def folder(world):
    return world.replica.s3_buckets[cdse.BUCKET] / cdse.SAFE_KEY


def _member(path, suffix: str) -> zipfile.ZipInfo:
    with zipfile.ZipFile(path) as zf:
        (info,) = [i for i in zf.infolist() if i.filename.endswith(suffix)]
    return info


def _image(suffix: str) -> str:
    return f"T32UNC_20250605T103629_{suffix}.jp2"


def test_local_zip_tree_has_the_eopf_layout_and_the_members_grids(local_zip):
    tree = xr.open_datatree(str(local_zip), engine="stacasset")
    for group, names in GROUPS.items():
        assert set(tree[group].data_vars) == names, group
    assert tree.attrs["General_Info/Product_Info/PROCESSING_BASELINE"] == "05.11"
    assert tree.attrs["product"] == f"{cdse.NAME}.SAFE"
    for group, band, res in (("r10m", "b02", 10), ("r20m", "b8a", 20), ("r60m", "b09", 60)):
        ds = tree[f"measurements/reflectance/{group}"].to_dataset()
        member = _member(local_zip, _image(f"{band.upper()}_{res}m")).filename
        with rasterio.open(f"/vsizip/{local_zip}/{member}") as src:
            assert ds[band].shape == src.shape
            assert ds.rio.crs == src.crs and ds.rio.transform() == src.transform
            assert ds["x"].values[0] == pytest.approx(src.xy(0, 0)[0])
    for res, n in ((10, 1830), (20, 915)):  # a TCI per resolution, as EOPF's l2a_quicklook
        assert tree[f"quality/l2a_quicklook/r{res}m/tci"].shape == (3, n, n)
    tci = tree["quality/l2a_quicklook/r60m/tci"]
    member = _member(local_zip, _image("TCI_60m")).filename
    with rasterio.open(f"/vsizip/{local_zip}/{member}") as src:
        np.testing.assert_array_equal(tci.values, src.read())  # (band, y, x): red, green, blue
        np.testing.assert_array_equal(tci[1:, 40:50, 7].values, src.read()[1:, 40:50, 7])
    assert tci.dtype == np.uint8 and list(tci["band"].values) == [1, 2, 3]


def test_folder_window_and_scaling_equal_rasterio_and_the_formula(folder):
    safe = str(folder)
    raw = xr.open_datatree(safe, engine="stacasset", mask_and_scale=False)
    scaled = xr.open_datatree(safe, engine="stacasset")
    (path,) = folder.glob(f"GRANULE/*/IMG_DATA/R10m/{_image('B04_10m')}")
    window = (slice(100, 300), slice(0, 260))  # crosses the no-data west edge
    with rasterio.open(path) as src:
        expected = src.read(1, window=Window.from_slices(*window))
    dn = raw["measurements/reflectance/r10m/b04"][window].values
    np.testing.assert_array_equal(dn, expected)
    assert (dn == 0).any() and (dn > 0).any()
    mtd = ET.parse(folder / "MTD_MSIL2A.xml").getroot()
    quantification = float(next(mtd.iter("BOA_QUANTIFICATION_VALUE")).text)
    offset = float(next(e for e in mtd.iter("BOA_ADD_OFFSET") if e.get("band_id") == "3").text)
    assert (quantification, offset) == (10000.0, -1000.0)
    values = scaled["measurements/reflectance/r10m/b04"][window].values
    formula = np.where(dn == 0, np.nan, (dn + offset) / quantification)
    np.testing.assert_allclose(values, formula, rtol=1e-6, atol=1e-7)
    assert values.dtype == np.float32
    aot = scaled["quality/atmosphere/r10m/aot"][window].values
    aot_dn = raw["quality/atmosphere/r10m/aot"][window].values
    np.testing.assert_allclose(aot, np.where(aot_dn == 0, np.nan, aot_dn / 1000.0), rtol=1e-6)


def test_angle_grids_are_the_tile_metadata_values(folder):
    tree = xr.open_datatree(str(folder), engine="stacasset")
    geometry = tree["conditions/geometry"].to_dataset()
    (tile,) = folder.glob("GRANULE/*/MTD_TL.xml")
    root = ET.parse(tile).getroot()

    def grid(element, name):
        rows = element.find(name).find("Values_List").findall("VALUES")
        return np.array([[float(v) for v in r.text.split()] for r in rows])

    sun = next(root.iter("Sun_Angles_Grid"))
    np.testing.assert_array_equal(geometry["sun_angles"].sel(angle="zenith"), grid(sun, "Zenith"))
    np.testing.assert_array_equal(geometry["sun_angles"].sel(angle="azimuth"), grid(sun, "Azimuth"))
    view = next(
        e for e in root.iter("Viewing_Incidence_Angles_Grids")
        if e.get("bandId") == "8" and e.get("detectorId") == "5"
    )  # fmt: skip
    got = geometry["viewing_incidence_angles"].sel(band="b8a", detector=5, angle="zenith")
    np.testing.assert_array_equal(got, grid(view, "Zenith"))
    assert np.isnan(got.values).any() and not np.isnan(got.values).all()
    assert geometry.sizes["x"] == 23 and float(geometry["x"][1] - geometry["x"][0]) == 5000.0
    assert geometry.rio.crs.to_epsg() == 32632


def test_through_the_odata_redirect_open_reads_metadata_and_a_window_part_of_the_band(
    world, local_zip
):
    item = next(i for i in world.replica.items if i["collection"] == "cdse-sentinel-2-l2a")
    creds = {"cdse": world.credentials()["cdse"]}
    key = f"alt:/cdse/download/{local_zip.name}"
    tree = xr.open_datatree(item, engine="stacasset", asset="PRODUCT", credentials=creds)
    stats = world.files.stats()
    opened_bytes, opened_requests = stats["bytes"].get(key, 0), stats["requests"].get(key, 0)
    metadata = sum(_member(local_zip, n).compress_size for n in ("MTD_MSIL2A.xml", "MTD_TL.xml"))
    with zipfile.ZipFile(local_zip) as zf:
        directory = sum(46 + len(i.filename.encode()) for i in zf.infolist())
    # sniff (1 KB), the tail (64 KB, holding the directory), the two XML members
    assert directory < 65536 and opened_bytes <= 1024 + 65558 + metadata + 2048, opened_bytes
    assert opened_requests <= 5, opened_requests
    band = tree["measurements/reflectance/r10m/b02"]
    window = band[:200, 300:500].values
    stats = world.files.stats()
    read = stats["bytes"][key] - opened_bytes
    member = _member(local_zip, _image("B02_10m"))
    assert read < member.compress_size / 2, (read, member.compress_size)
    gets = [e for e in stats["log"] if e["path"].endswith(".zip") and e["method"] == "GET"]
    assert gets and all(e["range"] for e in gets), "a whole-zip GET"
    with rasterio.open(f"/vsizip/{local_zip}/{member.filename}") as src:
        dn = src.read(1, window=Window(300, 0, 200, 200))
    np.testing.assert_allclose(window, np.where(dn == 0, np.nan, (dn - 1000.0) / 1e4), rtol=1e-6)


def test_quicklook_of_the_tree_reads_the_60_m_copies_of_the_true_colour_bands(world, local_zip):
    item = next(i for i in world.replica.items if i["collection"] == "cdse-sentinel-2-l2a")
    creds = {"cdse": world.credentials()["cdse"]}
    key = f"alt:/cdse/download/{local_zip.name}"
    tree = xr.open_datatree(item, engine="stacasset", asset="PRODUCT", credentials=creds)
    assert tree["measurements/reflectance/r10m/b04"].encoding["overviews"] == [2, 6]
    opened = world.files.stats()["bytes"][key]
    look = tree.eo.quicklook(max_size=300)  # the 60 m copies are 305 px a side at ci scale
    read = world.files.stats()["bytes"][key] - opened
    rgb = ("B04", "B03", "B02")
    copies = sum(_member(local_zip, _image(f"{b}_60m")).compress_size for b in rgb)
    bands = sum(_member(local_zip, _image(f"{b}_10m")).compress_size for b in rgb)
    # six members touched (the 10 m bands' headers, for their shape; the 60 m copies), each read
    # by its local header and GDAL's 32 KB chunks: the copies and at most a chunk more per file
    assert copies <= read <= copies + 6 * (32768 + 251) < bands / 4, (read, copies, bands)
    assert look.kind == "rgb" and look.shape == (305, 305) and look.overview_level == 1
    assert look.picture.titles == ["b04, b03, b02"]
    rgba = look.picture.rgba()
    assert (rgba[..., 3] > 0).mean() > 0.9  # the picture, less the no-data edge
    assert rgba[..., :3].std() > 40 and len(np.unique(rgba[..., :3].reshape(-1, 3), axis=0)) > 1000


def test_a_zip_that_is_not_a_safe(tmp_path):
    path = tmp_path / "notes.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("notes/readme.txt", "hello")
    with pytest.raises(errors.UnsupportedFormatError, match=r"not a SAFE product.*reader='zip'"):
        xr.open_datatree(str(path), engine="stacasset", reader="safe")
    listing = xr.open_datatree(str(path), engine="stacasset")  # the zip reader's member list
    assert list(listing.to_dataset()["member"].values) == ["notes/readme.txt"]


L1C_SIZES = {10: 366, 20: 183, 60: 61}  # 30x coarser than the product: the test writes it


@pytest.fixture(scope="module")
def l1c_zip(tmp_path_factory):
    """An L1C product of the CDSE tile (13 bands, B10 too, and the TCI; no SCL, AOT, WVP),
    written by the replica's SAFE writer on small grids and zipped as CDSE serves it."""
    product = dataclasses.replace(cdse.PRODUCT, level="L1C")
    root = tmp_path_factory.mktemp("l1c")
    folder = root / f"{product.product_name}.SAFE"
    _s2safe.write_folder(folder, product, 0, L1C_SIZES)
    path = root / f"{product.product_name}.SAFE.zip"
    _s2safe.zip_members(path, product.product_name, _s2safe.folder_members(folder), "L1C")
    return path


def test_l1c_tree_has_the_13_bands_at_their_resolutions_and_no_l2a_layers(l1c_zip):
    tree = xr.open_datatree(str(l1c_zip), engine="stacasset")
    assert {g for g in tree.groups if re.search(r"/r\d+m$", g)} == {
        "/measurements/reflectance/r10m", "/measurements/reflectance/r20m",
        "/measurements/reflectance/r60m", "/quality/l1c_quicklook/r10m",
    }  # fmt: skip
    assert tree["quality/l1c_quicklook/r10m/tci"].shape == (3, 366, 366)
    assert set(tree["measurements/reflectance/r60m"].data_vars) == {"b01", "b09", "b10"}
    for res in (10, 20):
        wanted = GROUPS[f"measurements/reflectance/r{res}m"]
        assert set(tree[f"measurements/reflectance/r{res}m"].data_vars) == wanted
    b10 = tree["measurements/reflectance/r60m/b10"]
    assert b10.shape == (61, 61) and b10.attrs["long_name"] == "TOA reflectance"
    assert b10.attrs["common_name"] == "cirrus"
    assert tree.attrs["General_Info/Product_Info/PRODUCT_TYPE"] == "S2MSI1C"
    assert tree["conditions/geometry"].to_dataset()["sun_angles"].shape == (2, 23, 23)


def test_l1c_values_are_counts_plus_radio_add_offset_over_quantification(l1c_zip):
    raw = xr.open_datatree(str(l1c_zip), engine="stacasset", mask_and_scale=False)
    scaled = xr.open_datatree(str(l1c_zip), engine="stacasset")
    with zipfile.ZipFile(l1c_zip) as zf:
        mtd = ET.fromstring(zf.read(next(n for n in zf.namelist() if n.endswith("MTD_MSIL1C.xml"))))
    quantification = float(next(mtd.iter("QUANTIFICATION_VALUE")).text)
    offsets = {e.get("band_id"): float(e.text) for e in mtd.iter("RADIO_ADD_OFFSET")}
    assert quantification == 10000.0 and set(offsets.values()) == {-1000.0}
    member = _member(l1c_zip, "_B10.jp2").filename
    with rasterio.open(f"/vsizip/{l1c_zip}/{member}") as src:
        expected = src.read(1)
    dn = raw["measurements/reflectance/r60m/b10"].values
    np.testing.assert_array_equal(dn, expected)
    assert (dn == 0).any() and (dn > 0).any()  # the no-data west edge and the scene
    values = scaled["measurements/reflectance/r60m/b10"].values
    formula = np.where(dn == 0, np.nan, (dn + offsets["10"]) / quantification)
    np.testing.assert_allclose(values, formula, rtol=1e-6, atol=1e-7)
    assert values.dtype == np.float32
