"""``.eo.explore()`` drawn by a real browser: headless Chromium renders the saved folium map.

The other explore tests read the HTML folium writes; this one checks what a user sees: Leaflet
runs, and the footprint is an SVG path at the place its corners project to. Offline: the page
loads Leaflet from Debian's ``libjs-leaflet`` (file://) instead of folium's CDNs, Chromium
resolves no host name and sends every request to a closed proxy, so the basemap's tiles fail
and nothing leaves the machine. ``scripts/bootstrap.sh`` installs both packages; without them
the test fails saying so, rather than skip a check nobody would then notice missing.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from conftest import replica_item
from shapely.geometry import shape

import xstac_access  # noqa: F401  (registers the engine's accessor)

LEAFLET = Path("/usr/share/javascript/leaflet")
INSTALL = "apt-get install --no-install-recommends chromium libjs-leaflet (scripts/bootstrap.sh)"
WINDOW = (800, 600)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None or not (LEAFLET / "leaflet.js").is_file():
        pytest.fail(f"this test needs headless Chromium and a local Leaflet: {INSTALL}")
    return found


def rendered(page: Path, profile: Path) -> str:
    """The DOM of ``page`` once its scripts ran, with every network access refused."""
    command = [
        chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}",  # never the user's profile, never another test's
        "--host-resolver-rules=MAP * ~NOTFOUND",  # no name resolves...
        "--proxy-server=http://127.0.0.1:9",  # ...and no address is reached (file:// still is)
        f"--window-size={WINDOW[0]},{WINDOW[1]}", "--virtual-time-budget=2000", "--dump-dom",
        page.as_uri(),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def mercator(lon: float, lat: float) -> tuple[float, float]:
    """Web Mercator on the unit sphere, as Leaflet projects before scaling to pixels."""
    return math.radians(lon), math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def on_screen(projected: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """``projected`` points placed as Leaflet places them, pixels = s * (x, -y) + (dx, dy), with
    the scale and shift that best match ``drawn`` (least squares): one zoom, one pan for all."""
    n = len(projected)
    ones, zeros = np.ones((n, 1)), np.zeros((n, 1))
    flipped = projected * [1, -1]  # screen y grows downwards
    system = np.block([[flipped[:, :1], ones, zeros], [flipped[:, 1:], zeros, ones]])
    (s, dx, dy), *_ = np.linalg.lstsq(system, drawn.T.reshape(-1), rcond=None)
    return flipped * s + [dx, dy]


def box(img: str) -> np.ndarray:
    """Left, top, right, bottom of a Leaflet image layer, from its inline style."""
    style = dict(re.findall(r"([\w-]+): ([^;]+);", img))
    left, top = (float(v) for v in re.findall(r"(-?[\d.]+)px", style["transform"])[:2])
    width, height = (float(style[k].removesuffix("px")) for k in ("width", "height"))
    return np.array([left, top, left + width, top + height])


def test_a_browser_draws_the_footprint_where_its_corners_project(local_world, tmp_path):
    item = replica_item(local_world, "sentinel-2-l2a")
    ds = xr.open_dataset(item, engine="stacasset", asset="visual")
    m = ds.eo.explore()
    m.default_js = [("leaflet", (LEAFLET / "leaflet.js").as_uri())]
    m.default_css = [("leaflet_css", (LEAFLET / "leaflet.css").as_uri())]
    page = tmp_path / "map.html"
    m.save(page)

    dom = rendered(page, tmp_path / "profile")

    (path,) = re.findall(r'<path class="leaflet-interactive"[^>]*\sd="([^"]+)"', dom)
    drawn = np.array([[float(v) for v in xy] for xy in re.findall(r"(-?[\d.]+) (-?[\d.]+)", path)])
    ring = list(shape(item["geometry"]).exterior.coords)[:-1]  # Leaflet closes it with "z"
    assert len(drawn) == len(ring)
    projected = np.array([mercator(lon, lat) for lon, lat in ring])
    assert np.abs(on_screen(projected, drawn) - drawn).max() < 1.5  # Leaflet rounds to pixels
    # fit_bounds zoomed to the footprint: it fills a good part of the window, inside it. (From
    # the world view to a 110 km tile is more than Leaflet animates: no transition to wait for.)
    low, high = drawn.min(axis=0), drawn.max(axis=0)
    assert max((high - low) / WINDOW) > 0.3 and (low >= 0).all() and (high <= WINDOW).all()
    # The quicklook lies under it: Leaflet placed the picture on the footprint's box (the item's
    # geometry is the whole UTM tile, the picture its bounds).
    (layer,) = re.findall(r'<img class="leaflet-image-layer[^"]*" src="data:image/png;[^>]+>', dom)
    assert np.abs(box(layer) - [*low, *high]).max() < 3
    # The basemap's tiles were asked for and none arrived: the browser stayed offline.
    assert "tile.openstreetmap.org" in dom and "leaflet-tile-loaded" not in dom
