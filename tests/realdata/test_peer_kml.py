"""The peer corpus's KML (togeojson, fastkml/OGC samples) and KMZ through the KML reader: every
geometry type becomes the footprint, points and lines as such, and ``.eo.footprint()`` and
``.eo.explore()`` work on each. What each file holds is counted here with the standard library's
own XML parser, independently of the reader."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
import zipfile

import folium
import numpy as np
import pytest
import shapely
import xarray as xr
from shapely.geometry import shape

from xstac_access import errors

from ._realdata import peer_corpus

KMLS = sorted(
    p.relative_to(peer_corpus()).as_posix() for p in (peer_corpus() / "kml").rglob("*.kml")
)
KMZ = "zip/fastkml/small_world.kmz"
EMPTY = "kml/togeojson/selfclosing.kml"  # one LineString with <coordinates />


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _expected(root: ET.Element) -> dict[str, int]:
    """Geometries the document's placemarks and overlays hold, by GeoJSON type (a bare
    LinearRing closes an area: a polygon)."""
    counts = {"Point": 0, "LineString": 0, "Polygon": 0}

    def walk(container: ET.Element) -> None:
        for node in container:
            kind = _local(node.tag)
            coords = "".join(c.text or "" for c in node if _local(c.tag) == "coordinates")
            if kind in ("Point", "LineString") and coords.strip():
                counts[kind] += 1
            elif kind == "Track":
                counts["LineString"] += 1
            elif kind in ("Polygon", "LinearRing"):
                counts["Polygon"] += 1
            elif kind in ("MultiGeometry", "MultiTrack"):
                walk(node)

    for placemark in (e for e in root.iter() if _local(e.tag) == "Placemark"):
        walk(placemark)
    overlays = [e for e in root.iter() if _local(e.tag) in ("LatLonBox", "LatLonQuad")]
    counts["Polygon"] += len(overlays) if any(counts.values()) else 0
    return {k: v for k, v in counts.items() if v}


def _parts(geometry) -> dict[str, int]:
    counts: dict[str, int] = {}
    for part in getattr(geometry, "geoms", [geometry]):
        for piece in getattr(part, "geoms", [part]):
            counts[piece.geom_type] = counts.get(piece.geom_type, 0) + 1
    return counts


@pytest.mark.parametrize("name", [k for k in KMLS if k != EMPTY], ids=lambda n: n.split("/")[-1])
def test_every_geometry_of_the_document_is_in_the_footprint(name):
    path = peer_corpus() / name
    ds = xr.open_dataset(path, engine="stacasset")
    geojson = json.loads(ds.attrs["footprint_geojson"])
    geometry = shape(geojson)
    assert geometry.is_valid
    assert _parts(geometry) == _expected(ET.parse(path).getroot()), name
    assert shapely.from_wkt(ds.attrs["footprint_wkt"]).equals(geometry)
    for polygon in (g for g in getattr(geometry, "geoms", [geometry]) if g.geom_type == "Polygon"):
        assert polygon.exterior.is_ccw and not any(r.is_ccw for r in polygon.interiors)
    footprint = ds.eo.footprint()
    assert footprint.is_valid and footprint.equals(geometry)  # none crosses the antimeridian
    assert isinstance(ds.eo.explore(), folium.Map)
    assert ds.sizes["corner"] == ds["part"].size and ds["ring"].max() >= 0


def test_points_lines_tracks_and_holes_keep_the_files_coordinates():
    togeojson = peer_corpus() / "kml" / "togeojson"
    point = xr.open_dataset(togeojson / "point.kml", engine="stacasset").eo.footprint()
    text = next(e.text for e in ET.parse(togeojson / "point.kml").iter() if _local(e.tag) ==
                "coordinates")  # fmt: skip
    assert point.geom_type == "Point"
    assert list(point.coords[0]) == [float(v) for v in text.strip().split(",")[:2]]
    track = xr.open_dataset(togeojson / "gxtrack.kml", engine="stacasset")
    coords = [e.text.split()[:2] for e in ET.parse(togeojson / "gxtrack.kml").iter()
              if _local(e.tag) == "coord"]  # fmt: skip
    np.testing.assert_array_equal(track["longitude"].values, [float(c[0]) for c in coords])
    np.testing.assert_array_equal(track["latitude"].values, [float(c[1]) for c in coords])
    assert track.eo.footprint().geom_type == "LineString"
    samples = xr.open_dataset(peer_corpus() / "kml" / "fastkml" / "KML_Samples.kml",
                              engine="stacasset")  # fmt: skip
    holed = [g for g in shape(json.loads(samples.attrs["footprint_geojson"])).geoms
             if g.geom_type == "Polygon" and g.interiors]  # fmt: skip
    assert holed and (samples["ring"] > 0).any()


def test_a_document_whose_only_geometry_has_no_coordinates_is_a_format_error():
    path = peer_corpus() / EMPTY
    with pytest.raises(errors.FormatError) as info:
        xr.open_dataset(path, engine="stacasset")
    message = str(info.value)
    assert "no Placemark with coordinates" in message and "(host local)" in message
    assert message.count(str(path)) == 1


def _served_open(world, files, kmz: bytes, name: str) -> tuple[xr.Dataset, list[dict]]:
    """Open ``kmz`` served by the file server as ``name``: the Dataset and the server's log of
    it (a name of its own: the zip reader keeps an archive's directory for a minute)."""
    served = world.replica.files_root / "_tests_peer_kmz"
    served.mkdir()
    (served / name).write_bytes(kmz)
    try:
        files.reset()
        ds = xr.open_dataset(f"{world.endpoints.http}/_tests_peer_kmz/{name}", engine="stacasset")
        return ds, [e for e in files.stats()["log"] if "_tests_peer_kmz" in e["path"]]
    finally:
        shutil.rmtree(served)


def test_kmz_opens_as_its_kml_locally_and_by_range_over_http(local_world, files):
    path = peer_corpus() / KMZ
    local = xr.open_dataset(path, engine="stacasset")
    footprint = local.eo.footprint()  # doc.kml links its content; its Region says where
    assert footprint.bounds == (-180.0, -90.0, 180.0, 90.0) and footprint.area == 360 * 180
    assert isinstance(local.eo.explore(), folium.Map)
    remote, log = _served_open(local_world, files, path.read_bytes(), "small_world.kmz")
    assert remote.attrs["footprint_geojson"] == local.attrs["footprint_geojson"]
    # smaller than the zip tail the reader asks for: that read brings it whole, then doc.kml
    assert [e["status"] for e in log] == [206, 206]
    assert sum(e["bytes"] for e in log) < 2 * path.stat().st_size


def test_a_large_kmz_moves_its_tail_and_its_kml_only(local_world, files, tmp_path):
    with zipfile.ZipFile(peer_corpus() / KMZ) as archive:
        document = archive.read("doc.kml")
    large = tmp_path / "large.kmz"
    with zipfile.ZipFile(large, "w") as archive:
        archive.writestr("doc.kml", document)
        archive.writestr("0/0/0.jpg", np.random.default_rng(0).bytes(2_000_000))
    ds, log = _served_open(local_world, files, large.read_bytes(), "large.kmz")
    assert ds.eo.footprint().area == 360 * 180
    assert [e["status"] for e in log] == [206, 206]
    assert sum(e["bytes"] for e in log) <= 22 + 65535 + 64 + len(document) + 200
