"""The README's main job: ``xstac demo`` runs the five seed workflows end to end, offline.

The demo runs once (in a subprocess, as a user runs it, in a temporary folder), on the session's
local world (``XSTAC_WORLD``) rather than one of its own; the tests read its report, its
pictures and its downloads, and check that it left the world as it found it.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from xstac_access.testing.replica import earthsearch

PICTURES = {  # file -> minimum (width, height)
    "biomass_polarisations.png": (1200, 300),  # four panels side by side
    "earth_search_rgb.png": (300, 300),
    "eopf_s2_tci.png": (300, 300),
    "eopf_s1_ocn_wind_speed.png": (300, 200),
    "eopf_s3_olci_gifapar.png": (300, 300),
    "eopf_s3_olci_gifapar_gridded.png": (300, 300),
    "cdse_tci_60m.png": (300, 300),
    "overview_quicklook.png": (300, 300),
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory, world_env) -> tuple[str, Path]:
    cwd = tmp_path_factory.mktemp("demo")
    proc = subprocess.run(
        [sys.executable, "-m", "xstac_access.cli", "demo"],
        capture_output=True, text=True, timeout=300, check=False, cwd=cwd, env=world_env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    return proc.stdout, cwd / "xstac-demo"


def section(out: str, number: int) -> str:
    """The report of one system: from its heading to the next one."""
    start = out.index(f"\n{number}. ")
    end = out.find(f"\n{number + 1}. ", start)
    return out[start : end if end > 0 else len(out)]


def test_the_demo_walks_all_five_systems_and_leaves_the_world_as_it_found_it(demo, local_world):
    out, _ = demo
    headings = re.findall(r"^\d\. (.+?) \(seed", out, flags=re.M)
    assert headings == [
        "ESA MAAP, Biomass L1a",
        "Earth Search and NASA CMR",
        "EOPF Sentinel Zarr samples",
        "Copernicus Data Space",
        "Any STAC API",
    ]
    assert out.startswith(f"Using the running local world of {local_world.workdir}")
    assert out.rstrip().endswith("Done: the running world was left as it was found.")
    files = local_world.files.stats()
    assert (files["latency_ms"], files["faults"], files["held"], files["log"]) == (0, [], 0, [])
    assert local_world.oidc.settings()["access_token_lifetime"] == 300
    assert local_world.oidc.stats()["token_requests"] == {}


def test_maap_section(demo):
    out = section(demo[0], 1)
    assert "['BiomassLevel1a', 'BiomassLevel1b']" in out
    assert re.search(
        r"KML quad corners \(lon lat\): (-?[\d.]+ -?[\d.]+, ){3}-?[\d.]+ -?[\d.]+\n", out
    )
    assert "footprint (the item's, carried with the data): POLYGON ((" in out
    assert "bands ['HH', 'HV', 'VH', 'VV']" in out and "121 GCPs" in out
    assert "token requests: {'maap:refresh_token': 1}" in out
    limits = re.search(r"sar, .*?; HH (-[\d.]+)\.\.(-[\d.]+) dB, HV", out)
    assert limits and -40 < float(limits[1]) < float(limits[2]) < 0
    assert "2 files: 2 fetched" in out


def test_earth_search_section(demo):
    out = section(demo[0], 2)
    assert "S2A_13TDE_20231008_0_L2A 'red': CRS EPSG:32613" in out
    cost = re.search(r"window \(512, 512\): (\d+) requests, ([\d.]+) (kB|MB).*\(([\d.]+)%\)", out)
    assert cost and int(cost[1]) <= 2 and float(cost[4]) < 10
    assert "rgb, 915 x 915 px read (overview 0)" in out
    assert f"210 GCPs -> 2-D lat/lon {earthsearch.grd_shape('ci')}" in out  # (lines, samples)
    assert "NASA CMR does cloud cover" in out  # the ignored filter was caught and said so
    assert "HLS.S30.T13TDE.2023281T174239.v2.0.B04.tif (fetched)" in out


def test_eopf_section(demo):
    out = section(demo[0], 3)
    assert "groups ['conditions', 'measurements', 'quality']" in out
    speed = re.search(r"wind_speed ([\d.]+)\.\.([\d.]+) m/s", out)
    assert speed and 0 < float(speed[1]) < float(speed[2]) < 40
    gifapar = re.search(r"gifapar ([\d.]+)\.\.([\d.]+)", out)
    assert gifapar and 0 <= float(gifapar[1]) < float(gifapar[2]) <= 1
    assert re.search(r"gridded .*\{'y': \d+, 'x': \d+\} in [\d.]+ s, \d+ cells filled", out)


def test_cdse_section_reads_members_for_a_fraction_of_the_zip(demo):
    out = section(demo[0], 4)
    assert "processing baseline 05.11" in out
    ratio = re.search(r"by range: ([\d.]+) MB .*whole-zip download: ([\d.]+) MB \((\d+)x\)", out)
    assert ratio and int(ratio[3]) >= 5, out


def test_resilient_search_section(demo):
    out = section(demo[0], 5)
    assert "query sent as filter" in out and "does not declare the Query extension" in out
    assert re.search(r"rgb, \d+ x \d+ px read \(overview 1\)", out)


@pytest.mark.parametrize("name", sorted(PICTURES))
def test_pictures_are_written_and_not_blank(demo, name):
    min_width, min_height = PICTURES[name]
    with Image.open(demo[1] / name) as img:
        assert img.format == "PNG" and img.width >= min_width and img.height >= min_height
        rgba = np.asarray(img.convert("RGBA"))
    colours = np.unique(rgba.reshape(-1, 4), axis=0)
    assert len(colours) > 100  # a picture, not a blank or a flat fill
    spread = rgba[..., :3].reshape(-1, 3).std(axis=0)
    assert (spread > 10).all()


def test_downloads_equal_their_sources(demo):
    downloads = demo[1] / "downloads"
    files = sorted(p for p in downloads.rglob("*") if p.is_file())
    assert {p.relative_to(downloads).parts[0] for p in files} == {
        "maap", "hls", "cdse", "earth_search"
    }  # fmt: skip
    assert not [p for p in files if p.name.endswith(".part")]
    zipped = next(p for p in files if p.parts[-3] == "cdse")
    assert zipped.read_bytes()[:4] == b"PK\x03\x04"
    assert all(p.stat().st_size > 0 for p in files)
    assert len({hashlib.sha256(p.read_bytes()).hexdigest() for p in files}) == len(files)
