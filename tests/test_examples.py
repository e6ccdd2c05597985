"""Every example in ``examples/`` runs offline (``--local``) and makes what it says it makes.

Each example runs once, as a user runs it (a subprocess writing into a temporary ``--out``; all
five side by side), on the session's local world (``XSTAC_WORLD``) rather than one of its own;
the tests read its ``summary.json`` (the values it printed), its stdout, pictures, GeoJSON,
GeoTIFF and downloads, and compare the files with the replica they came from. The
``--online`` branch cannot run here; what is checked is that it names the real catalogues.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import rasterio
from PIL import Image
from shapely import wkt

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NAMES = sorted(p.stem for p in EXAMPLES.glob("[0-9][0-9][0-9]_*.py"))
EXTRA = {"003_cdse_safe": ["--whole-zip"]}  # the seed's whole-zip download, to check its bytes


@dataclass
class Ran:
    out: Path
    stdout: str
    summary: dict

    def picture(self, step: str) -> Path:
        return self.out / self.summary[step]["file"]


@pytest.fixture(scope="module")
def example(tmp_path_factory, world_env):
    """``example(name)``: what ``examples/<name>.py --local`` made. On first use every example
    starts, side by side (they only read from the world; each waits on its servers part of the
    time), and each test waits for its own."""
    running = {}
    for name in NAMES:
        out = tmp_path_factory.mktemp(name)
        argv = [sys.executable, str(EXAMPLES / f"{name}.py"), "--local", "--out", str(out),
                *EXTRA.get(name, [])]  # fmt: skip
        with open(out / "stdout.txt", "w") as stdout, open(out / "stderr.txt", "w") as stderr:
            proc = subprocess.Popen(argv, stdout=stdout, stderr=stderr, cwd=out, env=world_env)
        running[name] = (proc, out)
    done: dict[str, Ran] = {}

    def run(name: str) -> Ran:
        if name not in done:
            proc, out = running[name]
            proc.wait(timeout=300)
            stderr = (out / "stderr.txt").read_text()
            assert proc.returncode == 0, stderr[-4000:]
            assert "Traceback" not in stderr
            stdout = (out / "stdout.txt").read_text()
            done[name] = Ran(out, stdout, json.loads((out / "summary.json").read_text()))
        return done[name]

    yield run
    for proc, _ in running.values():
        if proc.poll() is None:  # a test failed before waiting for it
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def replica(local_world) -> Path:
    """The replica's served files: what the examples read."""
    return local_world.replica.files_root


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_picture(path: Path, min_size: tuple[int, int] = (300, 200)) -> None:
    """A PNG of at least ``min_size`` that is a picture, not a blank or a flat fill."""
    with Image.open(path) as img:
        assert img.format == "PNG" and img.width >= min_size[0] and img.height >= min_size[1]
        rgba = np.asarray(img.convert("RGBA"))
    assert len(np.unique(rgba.reshape(-1, 4), axis=0)) > 100
    assert (rgba[..., :3].reshape(-1, 3).std(axis=0) > 10).all()


def test_every_example_is_listed_and_offers_both_modes():
    assert NAMES == [
        "000_maap_biomass", "001_earth_search_hls", "002_eopf_zarr", "003_cdse_safe",
        "004_resilient_search",
    ]  # fmt: skip
    for name in NAMES:  # one command line for all: the shared _local.main
        assert "main(__doc__, workflow" in (EXAMPLES / f"{name}.py").read_text(), name
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "003_cdse_safe.py"), "--help"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    for option in ("--local", "--online", "--out", "--whole-zip"):
        assert option in proc.stdout


def test_the_online_sites_are_the_real_catalogues():
    sys.path.insert(0, str(EXAMPLES))
    try:
        from _local import load_examples

        sites = {name: module.ONLINE for name, module in load_examples().items()}
    finally:
        sys.path.remove(str(EXAMPLES))
    assert sites["000_maap_biomass"].stac == "https://catalog.maap.eo.esa.int/catalogue/"
    assert sites["000_maap_biomass"].collection == "BiomassLevel1a"
    assert sites["001_earth_search_hls"].earth_search == "https://earth-search.aws.element84.com/v1"
    assert sites["001_earth_search_hls"].cmr == "https://cmr.earthdata.nasa.gov/stac/LPCLOUD"
    assert sites["002_eopf_zarr"].stac == "https://stac.core.eopf.eodc.eu/"
    assert sites["002_eopf_zarr"].s3_lfr[0] == "sentinel-3-olci-l2-lfr"
    assert sites["003_cdse_safe"].cdse == "https://stac.dataspace.copernicus.eu/v1/"
    assert sites["003_cdse_safe"].safe[0] == "sentinel-2-l2a"  # v1: ids without .SAFE
    assert not sites["003_cdse_safe"].safe[1].endswith(".SAFE")
    assert sites["004_resilient_search"].stac == "https://earth-search.aws.element84.com/v1"


def test_maap_biomass(example, replica):
    ran = example("000_maap_biomass")
    s = ran.summary
    assert s["collections"] == ["BiomassLevel1a", "BiomassLevel1b"]
    assert len(s["items"]) == 2 and all(i.startswith("BIO_S1_SCS__1S_2025112") for i in s["items"])
    footprint = wkt.loads(s["footprint"])
    assert footprint.geom_type == "Polygon" and len(footprint.exterior.coords) == 5
    west, south, east, north = footprint.bounds
    assert 10 < west < east < 12 and -3 < south < north < -1
    html = (ran.out / "biomass_footprint.html").read_text()
    assert "leaflet" in html.lower() and f"{west:.4f}"[:6] in html
    assert s["bands"] == {"names": ["HH", "HV", "VH", "VV"], "shape": [512, 384], "gcps": 121}
    ql = s["quicklook"]
    assert ql["kind"] == "sar" and sorted(ql["limits"]) == ["HH", "HV", "VH", "VV"]
    assert all(-45 < lo < hi < 0 for lo, hi in ql["limits"].values())  # dB
    assert_picture(ran.picture("quicklook"), (1200, 300))  # four panels side by side
    assert s["window"]["shape"] == [4, 312, 384]  # the seed's window, clipped to the image
    assert 0 < s["window"]["mean"] < 10
    [entry] = s["download"]["files"]
    assert entry["status"] == "fetched" and entry["path"].endswith("_i_abs.tiff")
    [source] = replica.rglob(Path(entry["path"]).name)
    assert sha256(ran.out / entry["path"]) == sha256(source)
    assert "quicklook: file=biomass_polarisations.png, kind=sar" in ran.stdout


def test_earth_search_and_hls(example, replica):
    ran = example("001_earth_search_hls")
    s = ran.summary
    assert s["items at the point"] == ["S2A_13TDE_20231008_0_L2A", "S2B_13TDE_20231003_0_L2A"]
    found = json.loads((ran.out / "search.geojson").read_text())
    assert found["type"] == "FeatureCollection"
    assert [f["id"] for f in found["features"]] == s["cloud < 10 %"] == ["S2A_13TDE_20231008_0_L2A"]
    assert all(f["properties"]["eo:cloud_cover"] < 10 for f in found["features"])
    assert {"coastal", "red", "nir", "visual"} <= set(s["assets"])
    with rasterio.open(ran.out / "coastal.tif") as saved:
        assert saved.crs.to_epsg() == 32613 and saved.shape == (305, 305)
        values = saved.read(1)
    [source] = replica.glob("earthsearch/**/S2A_13TDE_20231008_0_L2A/B01.tif")
    with rasterio.open(source) as cog:
        np.testing.assert_array_equal(values, cog.read(1))  # the band, saved unchanged
    hls = s["hls"]  # CMR ignores sortby: sorted here, least cloudy first (3 % before 57 %)
    assert hls["items"][0] == "HLS.S30.T13TDE.2023281T174239.v2.0" and len(hls["items"]) == 2
    assert any("Sort" in note for note in hls["notes"])
    assert s["browse"]["kind"] == "rgb"
    assert_picture(ran.picture("browse"))
    assert s["B04 window"]["shape"] == [512, 512] and 0 < s["B04 window"]["mean"] < 10_000


def test_eopf_zarr(example):
    ran = example("002_eopf_zarr")
    s = ran.summary
    assert s["S2 groups"] == ["conditions", "measurements", "quality"]
    assert s["S2 chunk sizes"]["r10m"] == [183]
    assert s["S2 b08"]["shape"] == [1098, 1098] and "b08" in s["S2 b08"]["long_name"]
    assert s["S2 TCI"]["kind"] == "rgb"
    wind = s["S1 wind"]
    assert wind["crs"] == "EPSG:4326" and wind["cells filled"] > 10_000
    assert 0 <= wind["range"][0] < wind["range"][1] <= 360  # wind direction, degrees
    speed = s["S1 wind map"]["limits"]["wind_speed"]
    assert 0 < speed[0] < speed[1] < 40
    olci = s["S3 GIFAPAR"]
    assert olci["crs"] == "EPSG:4326" and olci["cells filled"] > 100_000
    assert 0 <= olci["range"][0] < olci["range"][1] <= 1
    for step in ("S2 TCI", "S1 wind map", "S3 swath", "S3 GIFAPAR map"):
        assert_picture(ran.picture(step))


def test_cdse_safe(example, replica):
    ran = example("003_cdse_safe")
    s = ran.summary
    assert s["SAFE zip"]["members"] == 42  # the whole L2A product: 36 images, 2 masks, 4 XML
    meta = s["SAFE metadata"]
    assert meta["PRODUCT_URI"].startswith("S2B_MSIL2A_20250605T103629") and meta["PRODUCT_URI"]
    assert meta["PROCESSING_BASELINE"] == "05.11" and meta["HORIZONTAL_CS_CODE"] == "EPSG:32632"
    tree = s["SAFE tree"]  # the product as a tree, read by range
    assert tree["r10m"] == ["b02", "b03", "b04", "b08"] and tree["b04 shape"] == [1830, 1830]
    assert "/measurements/reflectance/r60m" in tree["groups"] and len(tree["groups"]) == 10
    assert 0 < tree["b04 window mean"] < 1  # BOA reflectance, offset and scaled
    look = s["SAFE tree quicklook"]  # from the product's 20 m copies of B04, B03, B02
    assert look["kind"] == "rgb" and look["shape"] == [915, 915] and look["overview_level"] == 0
    assert_picture(ran.picture("SAFE tree quicklook"))
    assert s["SAFE TCI 60 m"]["kind"] == "rgb" and s["SAFE TCI 60 m"]["shape"] == [305, 305]
    assert_picture(ran.picture("SAFE TCI 60 m"))
    assert s["Zarr metadata"]["product:type"] == "S02MSIL2A"
    [entry] = s["whole zip"]["files"]
    zipped = ran.out / entry["path"]
    [source] = replica.glob("cdse/download/*.SAFE.zip")
    assert zipped.name == source.name  # the download host's Content-Disposition name
    assert sha256(zipped) == sha256(source)
    with zipfile.ZipFile(zipped) as archive:
        assert len(archive.namelist()) == s["SAFE zip"]["members"]
    assert abs(zipped.stat().st_size / 1e6 - s["SAFE zip"]["MB"]) < 0.5  # members ~ the zip


def test_resilient_search(example):
    ran = example("004_resilient_search")
    s = ran.summary
    assert s["found"]["items"] == ["S2A_13TDE_20231008_0_L2A"]
    assert s["found"]["query sent as"] == "filter"
    assert any("does not declare the Query extension" in n for n in s["found"]["notes"])
    assert s["cloud cover"] < 20
    assert s["full size"] == {"shape": [1830, 1830], "crs": "EPSG:32613"}
    ql = s["quicklook"]
    assert ql["kind"] == "rgb" and ql["overview_level"] == 1 and max(ql["shape"]) < 1830
    assert_picture(ran.picture("quicklook"))
