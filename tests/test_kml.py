"""The KML reader: Sentinel-1 style quads and variants written here, hostile input, and over HTTP.
The real Sentinel-1 quads are read in tests/realdata/test_kml.py."""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
import xarray as xr
from conftest import OVERLAY_QUADS, overlay_kml
from shapely.geometry import LinearRing, shape

from xstac_access import errors

KML_TYPE = "application/vnd.google-earth.kml+xml"
CORNERS = ["lower_left", "lower_right", "upper_right", "upper_left"]


def literal_quad(path: Path) -> list[tuple[float, float]]:
    """The quad's lon,lat pairs read straight off the file's text, not through the reader."""
    text = re.search(r"<coordinates>(.*?)</coordinates>", path.read_text(), re.S).group(1)
    return [tuple(float(v) for v in pair.split(",")) for pair in text.split()]


def item_with(path: Path, key: str = "footprint", media_type: str | None = KML_TYPE) -> dict:
    asset = {"href": str(path), "roles": ["overview"]}
    if media_type:
        asset["type"] = media_type
    return {"type": "Feature", "stac_version": "1.0.0", "id": "ITEM-1", "assets": {key: asset}}


def open_kml(path: Path, **kwargs) -> xr.Dataset:
    return xr.open_dataset(item_with(path), engine="stacasset", asset="footprint", **kwargs)


def assert_good_geometry(ds: xr.Dataset) -> None:
    """WKT and GeoJSON are valid, the same shape, closed and counter-clockwise."""
    from_wkt = shapely.from_wkt(ds.attrs["footprint_wkt"])
    geojson = json.loads(ds.attrs["footprint_geojson"])
    from_json = shape(geojson)
    assert from_wkt.is_valid and from_json.is_valid and from_wkt.equals(from_json)
    polygons = [from_json] if geojson["type"] == "Polygon" else list(from_json.geoms)
    rings = [geojson["coordinates"]] if geojson["type"] == "Polygon" else geojson["coordinates"]
    for polygon, ring in zip(polygons, rings, strict=True):
        assert ring[0][0] == ring[0][-1]  # closed
        assert polygon.exterior.is_ccw


def write_overlay(tmp_path: Path, quad: str) -> Path:
    """A Sentinel-1 style ``preview/map-overlay.kml`` of ``OVERLAY_QUADS[quad]``."""
    path = tmp_path / "preview" / "map-overlay.kml"
    path.parent.mkdir()
    path.write_text(overlay_kml(OVERLAY_QUADS[quad], name=f"{quad} overlay"))
    return path


@pytest.mark.parametrize("quad", OVERLAY_QUADS)
def test_sentinel1_style_quads_without_namespace_and_clockwise(tmp_path, quad):
    path = write_overlay(tmp_path, quad)
    assert 'xmlns="' not in path.read_text()  # no default namespace, as in Sentinel-1 SAFEs
    ds = xr.open_dataset(path, engine="stacasset")
    corners = literal_quad(path)
    assert corners == OVERLAY_QUADS[quad]
    assert ds.sizes == {"corner": 4}
    assert ds["longitude"].dtype == ds["latitude"].dtype == np.float64
    np.testing.assert_array_equal(ds["longitude"].values, [c[0] for c in corners])
    np.testing.assert_array_equal(ds["latitude"].values, [c[1] for c in corners])
    assert list(ds["corner"].values) == CORNERS
    assert list(ds["image_y"].values) == [1, 1, 0, 0] and list(ds["image_x"].values) == [0, 1, 1, 0]
    assert not LinearRing(corners).is_ccw
    assert ds.attrs["vertex_order"] == ds["longitude"].attrs["vertex_order"] == "clockwise"
    assert ds.attrs["footprint_kind"] == "gx:LatLonQuad"
    assert "clockwise" in ds.attrs["corner_mapping"]
    assert_good_geometry(ds)
    assert shapely.from_wkt(ds.attrs["footprint_wkt"]).equals(shapely.Polygon(corners))
    assert ds.attrs["overlay_href"] == str(path.parent / "quick-look.png")
    assert ds.attrs["name"] == f"{quad} overlay"


def test_a_kml_without_extension_opens_through_sniffing(tmp_path):
    copy = tmp_path / "overlay"
    copy.write_text(overlay_kml(OVERLAY_QUADS["west"]))
    ds = xr.open_dataset(copy, engine="stacasset")
    np.testing.assert_array_equal(ds["longitude"].values, [c[0] for c in OVERLAY_QUADS["west"]])


def write(tmp_path: Path, text: str, name: str = "doc.kml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


NS = 'xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2"'


def test_default_namespace_and_counter_clockwise_quad(tmp_path):
    path = write(
        tmp_path,
        f"""<?xml version="1.0"?>
<kml {NS}><Document><name>doc</name><GroundOverlay>
  <name>scene</name><description>a test overlay</description>
  <Icon><href>pictures/ql.png</href></Icon>
  <gx:LatLonQuad><coordinates>
    10,40,0 12,40,0
    12,42,0 10,42,0
  </coordinates></gx:LatLonQuad>
</GroundOverlay></Document></kml>""",
    )
    ds = open_kml(path)
    np.testing.assert_array_equal(ds["longitude"].values, [10, 12, 12, 10])
    np.testing.assert_array_equal(ds["latitude"].values, [40, 40, 42, 42])
    assert ds.attrs["vertex_order"] == "counter-clockwise"
    assert ds.attrs["name"] == "scene" and ds.attrs["description"] == "a test overlay"
    assert ds.attrs["overlay_href"] == str(tmp_path / "pictures" / "ql.png")
    assert ds.attrs["stac_item_id"] == "ITEM-1" and ds.attrs["stac_asset"] == "footprint"
    assert_good_geometry(ds)


def box_kml(north, south, east, west, rotation=None) -> str:
    rot = f"<rotation>{rotation}</rotation>" if rotation is not None else ""
    return f"""<kml {NS}><GroundOverlay><Icon><href>a.png</href></Icon><LatLonBox>
  <north>{north}</north><south>{south}</south><east>{east}</east><west>{west}</west>{rot}
</LatLonBox></GroundOverlay></kml>"""


def test_latlonbox_corners_in_spec_order(tmp_path):
    ds = open_kml(write(tmp_path, box_kml(north=1, south=0, east=2, west=0)))
    assert ds.attrs["footprint_kind"] == "LatLonBox"
    np.testing.assert_array_equal(ds["longitude"].values, [0, 2, 2, 0])
    np.testing.assert_array_equal(ds["latitude"].values, [0, 0, 1, 1])
    assert ds.attrs["vertex_order"] == "counter-clockwise"
    assert shapely.from_wkt(ds.attrs["footprint_wkt"]).area == pytest.approx(2.0)


def test_latlonbox_rotation_is_counter_clockwise_about_the_centre(tmp_path):
    ds = open_kml(write(tmp_path, box_kml(north=1, south=0, east=2, west=0, rotation=90)))
    # centre (1, 0.5); the lower-left corner (0, 0) turns a quarter counter-clockwise
    np.testing.assert_allclose(ds["longitude"].values, [1.5, 1.5, 0.5, 0.5], atol=1e-12)
    np.testing.assert_allclose(ds["latitude"].values, [-0.5, 1.5, 1.5, -0.5], atol=1e-12)
    assert_good_geometry(ds)


def test_latlonbox_across_the_antimeridian(tmp_path):
    ds = open_kml(write(tmp_path, box_kml(north=-10, south=-12, east=-170, west=170)))
    np.testing.assert_array_equal(ds["longitude"].values, [170, -170, -170, 170])
    footprint = shapely.from_wkt(ds.attrs["footprint_wkt"])
    assert footprint.area == pytest.approx(40.0)  # 20° wide, not 340°
    assert_good_geometry(ds)


def test_polygon_placemarks_become_one_multipolygon(tmp_path):
    path = write(
        tmp_path,
        """<kml><Document>
<Placemark><name>east half</name><Polygon><outerBoundaryIs><LinearRing><coordinates>
  0,0 0,1 1,1 1,0 0,0
</coordinates></LinearRing></outerBoundaryIs>
<innerBoundaryIs><LinearRing><coordinates>0.2,0.2 0.4,0.2 0.4,0.4 0.2,0.2</coordinates>
</LinearRing></innerBoundaryIs></Polygon></Placemark>
<Placemark><MultiGeometry><Polygon><outerBoundaryIs><LinearRing><coordinates>
  5,5 6,5 6,6
</coordinates></LinearRing></outerBoundaryIs></Polygon></MultiGeometry></Placemark>
</Document></kml>""",
    )
    ds = open_kml(path)
    assert ds.sizes == {"corner": 10}  # closing vertices dropped, the hole kept
    assert list(ds["part"].values) == [0, 0, 0, 0, 0, 0, 0, 1, 1, 1]
    assert list(ds["ring"].values) == [0, 0, 0, 0, 1, 1, 1, 0, 0, 0]
    np.testing.assert_array_equal(ds["longitude"].values, [0, 0, 1, 1, 0.2, 0.4, 0.4, 5, 6, 6])
    assert "corner" not in ds.coords
    assert ds.attrs["vertex_order"] == "mixed"  # the first clockwise, the second not
    assert ds.attrs["name"] == "east half"
    assert ds.attrs["footprint_wkt"].startswith("MULTIPOLYGON")
    assert shapely.from_wkt(ds.attrs["footprint_wkt"]).area == pytest.approx(1.5 - 0.02)
    assert_good_geometry(ds)


QUAD = '<kml xmlns:gx="http://www.google.com/kml/ext/2.2"><GroundOverlay><gx:LatLonQuad>{}'
QUAD_END = "</gx:LatLonQuad></GroundOverlay></kml>"
BOMB = (
    '<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    + "]><kml><name>&j;</name></kml>"
)
HOSTILE = {
    "malformed": ("<kml><Document><GroundOverlay>", "malformed XML"),
    "entity bomb": (BOMB, "unsafe XML"),
    "external entity": (
        '<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "<kml><name>&x;</name></kml>",
        "unsafe XML",
    ),
    "external parameter entity": (
        '<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY % x SYSTEM "http://127.0.0.1:9/x.dtd">'
        " %x;]><kml/>",
        "unsafe XML",
    ),
    "not kml": ("<gpx><trk/></gpx>", "not <kml>"),
    "nothing usable": ("<kml><Document><name>empty</name></Document></kml>", "no GroundOverlay"),
    "no coordinates element": (QUAD.format("") + QUAD_END, "no coordinates"),
    "empty coordinates": (QUAD.format("<coordinates> </coordinates>") + QUAD_END, "no coord"),
    "three corners": (QUAD.format("<coordinates>0,0 1,0 1,1</coordinates>") + QUAD_END, "has 3"),
    "five corners": (
        QUAD.format("<coordinates>0,0 1,0 1,1 0,1 0,0</coordinates>") + QUAD_END,
        "has 5",
    ),
    "not numbers": (QUAD.format("<coordinates>a,b 1,0 1,1 0,1</coordinates>") + QUAD_END, "'a'"),
    "one number": (QUAD.format("<coordinates>0 1,0 1,1 0,1</coordinates>") + QUAD_END, "lon,lat"),
    "out of range": (
        QUAD.format("<coordinates>0,95 1,0 1,1 0,1</coordinates>") + QUAD_END,
        "out of range",
    ),
    "flat quad": (QUAD.format("<coordinates>0,0 1,1 2,2 3,3</coordinates>") + QUAD_END, "no area"),
    "box without north": (
        "<kml><GroundOverlay><LatLonBox><south>0</south><east>1</east><west>0</west>"
        "</LatLonBox></GroundOverlay></kml>",
        "no <north>",
    ),
    "polygon of two": (
        "<kml><Placemark><Polygon><outerBoundaryIs><LinearRing><coordinates>0,0 1,1"
        "</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></kml>",
        "needs 3",
    ),
}


@pytest.mark.timeout(20)
@pytest.mark.parametrize("case", HOSTILE)
def test_bad_or_hostile_kml_is_a_format_error_naming_asset_and_host(tmp_path, case):
    text, reason = HOSTILE[case]
    path = write(tmp_path, text)
    with pytest.raises(errors.FormatError) as info:  # the timeout mark catches a slow parse
        open_kml(path)
    message = str(info.value)
    assert reason in message
    assert "asset 'footprint' of item 'ITEM-1'" in message and "host local" in message
    assert "root:" not in message  # nothing of /etc/passwd made it in


def test_kmz_opens_as_the_kml_inside_it_and_a_broken_one_is_a_format_error(tmp_path):
    kml = write_overlay(tmp_path, "polar")
    kmz = tmp_path / "overlay.kmz"
    with zipfile.ZipFile(kmz, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("files/readme.txt", "not the document")
        archive.writestr("doc.kml", kml.read_bytes())
    expected = open_kml(kml)
    for path, media_type in ((kmz, "application/vnd.google-earth.kmz"), (kmz, None)):
        ds = xr.open_dataset(item_with(path, media_type=media_type), engine="stacasset")
        xr.testing.assert_identical(ds.drop_attrs(), expected.drop_attrs())
        assert ds.attrs["footprint_wkt"] == expected.attrs["footprint_wkt"]
    unlabelled = tmp_path / "doc"
    unlabelled.write_bytes(kmz.read_bytes())
    ds = xr.open_dataset(unlabelled, engine="stacasset", reader="kml")
    assert ds.attrs["footprint_geojson"] == expected.attrs["footprint_geojson"]
    broken = tmp_path / "broken.kmz"
    broken.write_bytes(b"PK\x03\x04 zipped")
    with pytest.raises(errors.FormatError, match="corrupt zip"):
        open_kml(broken)
    empty = tmp_path / "empty.kmz"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("image.png", b"\x89PNG")
    with pytest.raises(errors.FormatError, match=r"KMZ holding no \.kml document \(it holds image"):
        open_kml(empty)


# --- over HTTP, against the local world ---------------------------------------------------


def biomass_item(world) -> dict:
    items = [i for i in world.replica.items if i["collection"] == "BiomassLevel1a"]
    return sorted(items, key=lambda i: i["id"])[0]


def served(world, href: str) -> str:
    return href[len(world.endpoints.http) :]


def test_biomass_quicklook_kml_in_one_request(local_world, files):
    item = biomass_item(local_world)
    href = item["assets"]["quicklook_kml"]["href"]
    ds = xr.open_dataset(item, engine="stacasset", asset="quicklook_kml")
    assert files.requests_for(served(local_world, href)) == 1
    assert sum(files.stats()["requests"].values()) == 1
    local = local_world.replica.files_root / served(local_world, href).lstrip("/")
    corners = literal_quad(local)
    np.testing.assert_array_equal(ds["longitude"].values, [c[0] for c in corners])
    assert ds.attrs["overlay_href"] == item["assets"]["quicklook_png"]["href"]
    assert ds.attrs["stac_collection"] == "BiomassLevel1a"
    assert_good_geometry(ds)
    # the corners are the amplitude image's corner GCPs: the spec order holds for Biomass too
    tiff = item["assets"]["enclosure_i_abs_tiff"]["href"]
    with rasterio.open(
        local_world.replica.files_root / served(local_world, tiff).lstrip("/")
    ) as src:
        height, width = src.height, src.width
        gcps = {(g.row, g.col): (g.x, g.y) for g in src.gcps[0]}
    expected = [gcps[height, 0], gcps[height, width], gcps[0, width], gcps[0, 0]]
    np.testing.assert_allclose(ds["longitude"].values, [e[0] for e in expected], atol=1e-6)
    np.testing.assert_allclose(ds["latitude"].values, [e[1] for e in expected], atol=1e-6)


def test_entity_bomb_over_http_names_the_host(local_world, files):
    root = local_world.replica.files_root / "_tests_kml"
    root.mkdir(exist_ok=True)
    (root / "bomb.kml").write_text(BOMB)
    try:
        href = f"{local_world.endpoints.http}/_tests_kml/bomb.kml"
        with pytest.raises(errors.FormatError) as info:
            xr.open_dataset(href, engine="stacasset")
        assert local_world.endpoints.http.split("://")[1] in str(info.value)
    finally:
        shutil.rmtree(root)
