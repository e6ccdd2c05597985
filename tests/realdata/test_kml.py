"""The real Sentinel-1 previews: ``map-overlay.kml`` (no default namespace, clockwise
``gx:LatLonQuad``) through the KML reader, and the real ``quick-look.png`` through the picture
reader, georeferenced from its KML."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import shapely
import xarray as xr
from PIL import Image
from shapely.geometry import LinearRing, shape

from ._realdata import real_kmls

CORNERS = ["lower_left", "lower_right", "upper_right", "upper_left"]
(PREVIEW,) = [k.parent for k in real_kmls() if (k.parent / "quick-look.png").is_file()]
PNG, KML = PREVIEW / "quick-look.png", PREVIEW / "map-overlay.kml"
# the real quad, in the file's (KML spec) order: lower-left, lower-right, upper-right, upper-left
QUAD = [
    (91.651596, 76.879097),
    (75.348396, 78.260895),
    (81.596954, 81.972343),
    (102.789734, 80.113571),
]


def literal_quad(path: Path) -> list[tuple[float, float]]:
    """The quad's lon,lat pairs read straight off the file's text, not through the reader."""
    text = re.search(r"<coordinates>(.*?)</coordinates>", path.read_text(), re.S).group(1)
    return [tuple(float(v) for v in pair.split(",")) for pair in text.split()]


def test_all_real_sentinel1_quads_are_there():
    assert len(real_kmls()) == 3
    assert literal_quad(KML) == QUAD


@pytest.mark.parametrize("path", real_kmls(), ids=lambda p: p.parents[1].name[:32])
def test_real_sentinel1_quads(path):
    assert 'xmlns="' not in path.read_text()  # what MANIFEST.md reports: no default namespace
    ds = xr.open_dataset(path, engine="stacasset")
    corners = literal_quad(path)
    assert ds.sizes == {"corner": 4}
    assert ds["longitude"].dtype == ds["latitude"].dtype == np.float64
    np.testing.assert_array_equal(ds["longitude"].values, [c[0] for c in corners])
    np.testing.assert_array_equal(ds["latitude"].values, [c[1] for c in corners])
    assert list(ds["corner"].values) == CORNERS
    assert list(ds["image_y"].values) == [1, 1, 0, 0] and list(ds["image_x"].values) == [0, 1, 1, 0]
    assert not LinearRing(corners).is_ccw  # what MANIFEST.md reports: all S1 quads clockwise
    assert ds.attrs["vertex_order"] == ds["longitude"].attrs["vertex_order"] == "clockwise"
    assert ds.attrs["footprint_kind"] == "gx:LatLonQuad"
    assert "clockwise" in ds.attrs["corner_mapping"]
    footprint = shapely.from_wkt(ds.attrs["footprint_wkt"])
    geojson = json.loads(ds.attrs["footprint_geojson"])
    ring = geojson["coordinates"][0]
    assert geojson["type"] == "Polygon" and ring[0] == ring[-1]  # closed
    assert footprint.is_valid and footprint.equals(shape(geojson)) and footprint.exterior.is_ccw
    assert footprint.equals(shapely.Polygon(corners))
    assert ds.attrs["overlay_href"] == str(path.parent / "quick-look.png")
    assert ds.attrs["name"] == "Sentinel-1 Image Overlay"


def test_real_quicklook_png():
    ds = xr.open_dataset(PNG, engine="stacasset")
    with Image.open(PNG) as img:
        expected = np.moveaxis(np.asarray(img), -1, 0)
    assert ds["image"].dims == ("band", "y", "x")
    assert ds["image"].shape == (3, 510, 522) and ds["image"].dtype == np.uint8
    assert list(ds["band"].values) == ["red", "green", "blue"]
    np.testing.assert_array_equal(ds["image"].values, expected)
    assert ds.attrs["image_format"] == "PNG" and "longitude" not in ds.coords


def test_real_quicklook_georeferenced_from_the_items_kml():
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "S1-QL",
        "assets": {
            "quicklook": {"href": str(PNG), "type": "image/png", "roles": ["overview"]},
            "footprint": {
                "href": str(KML),
                "type": "application/vnd.google-earth.kml+xml",
                "roles": ["metadata"],
            },
        },
    }
    ds = xr.open_dataset(item, engine="stacasset", asset="quicklook")
    assert ds["longitude"].dims == ds["latitude"].dims == ("y", "x")
    assert ds["longitude"].shape == (510, 522)
    lon, lat = ds["longitude"].values, ds["latitude"].values
    # half a pixel from each corner: lower-left, lower-right, upper-right, upper-left
    for (row, col), (qlon, qlat) in zip([(-1, 0), (-1, -1), (0, -1), (0, 0)], QUAD, strict=True):
        assert abs(lon[row, col] - qlon) < 0.05 and abs(lat[row, col] - qlat) < 0.01
    # monotonic along the swath: north to south down the rows, east to west across (descending)
    assert (np.diff(lat, axis=0) < 0).all()
    assert (np.diff(lon, axis=1) < 0).all()
    assert ds.attrs["quad_longitude"] == [q[0] for q in QUAD]
    assert "asset 'footprint'" in ds.attrs["georeference_match"]
    assert "overlaying this picture" in ds.attrs["georeference_match"]
    # real geography agrees: Ushakov Island's ice cap (80.83 N, 79.48 E) is bright where it lands
    km2 = ((lat - 80.83) * 111) ** 2 + ((lon - 79.48) * 111 * np.cos(np.radians(80.83))) ** 2
    row, col = np.unravel_index(km2.argmin(), km2.shape)
    grey = ds["quicklook"].values.astype(float).mean(axis=0)
    assert grey[row - 3 : row + 4, col - 3 : col + 4].mean() > 2 * np.median(grey)
