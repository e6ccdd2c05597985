"""Footprints, STAC metadata and maps (``xstac_access.eo.footprint``) on replica and synthetic data.

The expected corners come from the served files themselves (the KML's text, the item's
geometry) or from analytic swaths; ``explore`` is checked on the HTML folium renders.
"""

from __future__ import annotations

import base64
import io
import json
import re
import sys

import numpy as np
import pytest
import rasterio
import rasterio.warp
import xarray as xr
from conftest import replica_item
from PIL import Image
from shapely.geometry import MultiPoint, Polygon, shape

import xstac_access  # noqa: F401  (registers the engine's accessor)
from xstac_access import errors
from xstac_access.eo.footprint import split_at_antimeridian


def corners_of(geometry) -> set[tuple[float, float]]:
    return set(geometry.exterior.coords)


def iou(a, b) -> float:
    return a.intersection(b).area / a.union(b).area


def swath(lon0: float, rows: int = 40, cols: int = 30) -> xr.Dataset:
    """A tilted 8 x 6 degree swath starting at ``lon0``, longitudes wrapped to [-180, 180]."""
    t, s = np.meshgrid(np.linspace(0, 1, rows), np.linspace(0, 1, cols), indexing="ij")
    lon = lon0 + 8.0 * s + 1.0 * t
    lat = 60.0 + 6.0 * t - 0.5 * s
    wrapped = (lon + 180.0) % 360.0 - 180.0
    dims = ("rows", "columns")
    return xr.Dataset(
        {"v": (dims, np.ones((rows, cols)))},
        coords={"longitude": (dims, wrapped), "latitude": (dims, lat)},
    )


def test_stac_is_the_item_the_data_were_opened_from(local_world):
    item = replica_item(local_world, "sentinel-2-l2a")
    ds = xr.open_dataset(item, engine="stacasset", asset="red")
    stac = ds.eo.stac
    assert stac == item  # whole and exact, not gathered back from flat attributes
    assert ds.attrs["stac_asset"] == "red" and ds.attrs["stac_href"].endswith("/B04.tif")
    props = item["properties"]
    assert ds.attrs["eo:cloud_cover"] == props["eo:cloud_cover"]
    assert ds.attrs["datetime"] == props["datetime"]
    assert "stac_item_id" not in stac["properties"]
    assert xr.Dataset({"v": ("x", [1.0])}).eo.stac == {}


def test_footprint_from_an_embedded_stac_geometry(local_world):
    item = replica_item(local_world, "sentinel-3-olci-l2-lfr")
    tree = xr.open_datatree(item, engine="stacasset")
    assert tree.eo.footprint().equals(shape(item["geometry"]))
    assert tree.eo.stac["id"] == item["id"]


def test_footprint_from_the_item_in_the_stac_item_attribute():
    geometry = {"type": "Polygon", "coordinates": [[[1, 1], [3, 1], [3, 2], [1, 2], [1, 1]]]}
    item = {"type": "Feature", "id": "x", "geometry": geometry, "properties": {}, "assets": {}}
    ds = xr.Dataset(attrs={"stac_item": json.dumps(item)})
    assert ds.eo.footprint().equals(shape(geometry))


def test_kml_footprint_keeps_the_files_corners(local_world):
    item = replica_item(local_world, "BiomassLevel1a")
    href = item["assets"]["quicklook_kml"]["href"]
    kml_file = local_world.replica.files_root / href.removeprefix(local_world.endpoints.http + "/")
    numbers = re.search(r"<coordinates>(.*?)</coordinates>", kml_file.read_text(), re.S)[1]
    expected = {tuple(float(v) for v in pair.split(",")[:2]) for pair in numbers.split()}
    # Opened without their item (whose geometry would be the answer): the KML's own corners.
    kml = xr.open_dataset(dict(item["assets"]["quicklook_kml"]), engine="stacasset")
    fp = kml.eo.footprint()
    assert fp.geom_type == "Polygon" and fp.exterior.is_ccw
    assert corners_of(fp) == expected
    picture = xr.open_dataset(dict(item["assets"]["quicklook_png"]), engine="stacasset", kml=href)
    assert corners_of(picture.eo.footprint()) == expected  # pinned by the same quad


def test_swath_footprint_is_the_outer_ring_of_its_pixels(local_world):
    item = replica_item(local_world, "sentinel-1-l2-ocn")
    tree = xr.open_datatree(dict(item["assets"]["product"]), engine="stacasset")  # no item
    owi = next(n for n in tree.subtree if n.path.startswith("/owi/") and n.name == "measurements")
    ds = owi.to_dataset()
    fp = ds.eo.footprint()
    lon, lat = ds["longitude"].values, ds["latitude"].values
    assert fp.geom_type == "Polygon" and len(fp.exterior.coords) <= 4 * 64 + 1
    # every pixel centre inside, to the subsampled edge's chords (pixels are ~0.015 degrees)
    assert fp.buffer(1e-3).contains(MultiPoint(np.column_stack([lon.ravel(), lat.ravel()])))
    corners = {(lon[0, 0], lat[0, 0]), (lon[-1, -1], lat[-1, -1]), (lon[0, -1], lat[0, -1])}
    assert corners <= corners_of(fp)
    # the item's outline joins the four corners straight; the swath's long edges are curved
    assert iou(fp, shape(item["geometry"])) > 0.9


def test_a_swath_across_the_antimeridian_is_split():
    crossing = swath(175.0).eo.footprint()  # 175 ... 184 degrees east
    assert crossing.geom_type == "MultiPolygon" and len(crossing.geoms) == 2
    west, _, east, _ = crossing.bounds
    assert (west, east) == (-180.0, 180.0)
    east_part, west_part = sorted(crossing.geoms, key=lambda p: -p.bounds[0])
    assert east_part.bounds[2] == 180.0 and west_part.bounds[0] == -180.0
    not_crossing = swath(165.0).eo.footprint()  # the same swath, 10 degrees further west
    assert not_crossing.geom_type == "Polygon"
    assert crossing.area == pytest.approx(not_crossing.area, rel=1e-9)


def test_split_at_antimeridian_keeps_the_area_and_leaves_others_alone():
    box = Polygon([(170, 0), (190, 0), (190, 10), (170, 10)])
    split = split_at_antimeridian(box)
    assert sorted(p.bounds for p in split.geoms) == [(-180, 0, -170, 10), (170, 0, 180, 10)]
    assert split.area == pytest.approx(box.area)
    inside = Polygon([(10, 0), (20, 0), (20, 10)])
    assert split_at_antimeridian(inside) is inside


def test_footprint_of_a_grid_in_a_projected_crs(local_world):
    item = replica_item(local_world, "sentinel-2-l2a")
    ds = xr.open_dataset(item["assets"]["red"]["href"], engine="stacasset")  # a bare href
    fp = ds.eo.footprint()
    west, south, east, north = ds.rio.bounds()
    lon, lat = rasterio.warp.transform(
        ds.rio.crs, "EPSG:4326", [west, east, east, west], [south, south, north, north]
    )
    assert fp.geom_type == "Polygon" and fp.exterior.is_ccw
    assert set(zip(lon, lat, strict=True)) <= corners_of(fp)  # the tile's corners, exactly
    # Edges straight in UTM bow in longitude/latitude (densified: up to 3e-3 degrees here).
    assert len(fp.exterior.coords) > 4 * 32 and iou(fp, shape(item["geometry"])) > 0.99


def test_footprint_of_a_gcp_image_walks_its_border_gcps(gcp_geotiff):
    with rasterio.open(gcp_geotiff) as src:
        gcps, _ = src.gcps
        height, width = src.height, src.width
    rows, cols = {g.row for g in gcps}, {g.col for g in gcps}
    border = [g for g in gcps if g.row in (min(rows), max(rows)) or g.col in (min(cols), max(cols))]
    fp = xr.open_dataset(gcp_geotiff, engine="stacasset").eo.footprint()
    assert fp.geom_type == "Polygon" and fp.exterior.is_ccw
    assert corners_of(fp) == {(g.x, g.y) for g in border}
    inner = [g for g in gcps if g not in border]
    assert inner and fp.contains(MultiPoint([(g.x, g.y) for g in inner]))
    assert max(rows) >= height - 1 and max(cols) >= width - 1  # the GCPs reach the image edges


def test_explore_draws_the_kml_footprint(local_world):
    import folium

    item = replica_item(local_world, "BiomassLevel1a")
    kml = xr.open_dataset(item["assets"]["quicklook_kml"]["href"], engine="stacasset")
    m = kml.eo.explore(tiles=None)
    assert isinstance(m, folium.Map)
    html = m.get_root().render()
    for lon, lat in zip(kml["longitude"].values, kml["latitude"].values, strict=True):
        assert f"[{float(lon)!r}, {float(lat)!r}]" in html
    assert "ImageOverlay" not in html  # a KML alone has no picture


def test_explore_puts_the_cog_quicklook_under_the_footprint(local_world):
    item = replica_item(local_world, "sentinel-2-l2a")
    ds = xr.open_dataset(item, engine="stacasset", asset="visual")
    m = ds.eo.explore()
    overlays = [c for c in m._children.values() if type(c).__name__ == "ImageOverlay"]
    assert len(overlays) == 1
    png = base64.b64decode(overlays[0].url.split(",", 1)[1])
    with Image.open(io.BytesIO(png)) as img:
        alpha = np.asarray(img.convert("RGBA"))[..., 3]
    assert alpha[alpha.shape[0] // 2, alpha.shape[1] // 2] == 255
    # A UTM tile is a slightly turned square in longitude/latitude: its box's corners are empty.
    assert alpha[0, 0] == alpha[-1, -1] == 0 and 0.9 < (alpha > 0).mean() < 1.0


def test_explore_of_a_gcp_image_reads_no_pixels(local_world):
    item = replica_item(local_world, "sentinel-1-grd")  # the GCP COG, on S3
    ds = xr.open_dataset(
        item, engine="stacasset", asset="hh", storage_options=local_world.s3_options()
    )
    local_world.s3.rules_log(clear=True)
    m = ds.eo.explore()
    assert not [c for c in m._children.values() if type(c).__name__ == "ImageOverlay"]
    assert local_world.s3.rules_log() == []  # the footprint came from the GCPs; no pixel read


def test_explore_without_folium_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "folium", None)
    with pytest.raises(errors.MissingExtraError, match=r"pip install 'xstac-access\[explore\]'"):
        swath(10.0).eo.explore()
