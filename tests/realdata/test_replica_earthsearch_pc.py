"""Fidelity of the Earth Search and Planetary Computer replica generators to the real catalogues.

Each generated item is compared with the real item it stands for (``items/`` of the shared real
data): asset keys, roles, media types, titles, band metadata, extensions, property names, link
relations, and the values that follow from the product's name (ESA ids, orbits, paths). The
generated Sentinel-1 GRD measurement is compared with the real GCP GeoTIFFs of ``tiff/``. A
generator that drifts from the real schema fails here; the differences that are deliberate are
listed, each with its reason, and checked to stay exactly those.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
import rasterio
from shapely.geometry import MultiPoint, shape

from xstac_access.testing.endpoints import OFFLINE
from xstac_access.testing.replica import earthsearch, pc

from ._realdata import real_item, real_path

#: The real GRD (rio-tiler's COG of an S1A IW GRDH measurement) and its uint8 twin.
REAL_GCP_TIFFS = ("riotiler_cog_gcps_s1_grd.tif", "riotiler_cog_gcps_ovr.tif")


def generated(collection: str) -> list[dict[str, Any]]:
    items = earthsearch.items(OFFLINE, 0, "ci") + pc.items(OFFLINE, 0, "ci")
    return [i for i in items if i["collection"] == collection]


def iou(a: dict, b: dict) -> float:
    first, second = shape(a), shape(b)
    return first.intersection(second).area / first.union(second).area


def assert_same_assets(ours: dict, real: dict, fields: tuple[str, ...]) -> None:
    """Same keys and, per key, the same ``fields`` (roles, type, title ...) as the real item."""
    assert set(ours["assets"]) == set(real["assets"])
    for key, asset in real["assets"].items():
        for field in fields:
            assert ours["assets"][key].get(field) == asset.get(field), (key, field)


def rels(item: dict) -> list[str]:
    return sorted(link["rel"] for link in item["links"])


def path_after(href: str, marker: str) -> str:
    return href.split(marker, 1)[1]


# -- Earth Search v1 sentinel-2-l2a --------------------------------------------------------------


@pytest.fixture(scope="module")
def s2_real() -> dict:
    return real_item("earthsearch_v1_sentinel-2-l2a_S2A_13TDE_20231008")


@pytest.fixture(scope="module")
def s2_ours() -> list[dict]:
    return sorted(generated("sentinel-2-l2a"), key=lambda i: i["id"])


def test_v1_scenes_are_three_tiles_and_days(s2_ours):
    ids = [i["id"] for i in s2_ours]
    assert ids == ["S2A_13TDE_20231008_0_L2A", "S2A_13TDF_20231008_0_L2A",
                   "S2B_13TDE_20231003_0_L2A"]  # fmt: skip


def test_v1_assets_have_the_real_keys_roles_types_titles_and_bands(s2_ours, s2_real):
    fields = ("roles", "type", "title", "eo:bands", "gsd")
    for item in s2_ours:
        assert_same_assets(item, s2_real, fields)
        for key, real in s2_real["assets"].items():
            ours = item["assets"][key]
            assert set(ours) == set(real), key  # no field more or less (hrefs aside)
            for mine, theirs in zip(ours.get("raster:bands", []), real.get("raster:bands", []),
                                    strict=True):  # fmt: skip
                assert set(mine) == set(theirs), key
                # ci grids are 6x coarser: spatial_resolution follows the pixel, the rest is ESA's
                assert {k: v for k, v in mine.items() if k != "spatial_resolution"} == {
                    k: v for k, v in theirs.items() if k != "spatial_resolution"
                }, key
                assert mine["spatial_resolution"] == ours["proj:transform"][0]
            if "proj:shape" in real:  # same tile extent at a coarser pixel
                res, size = ours["proj:transform"][0], ours["proj:shape"][0]
                assert res * size == real["proj:transform"][0] * real["proj:shape"][0]


def test_v1_hrefs_have_the_real_layout(s2_ours, s2_real):
    ours = s2_ours[0]  # S2A_13TDE_20231008_0_L2A: the real item's own scene
    assert ours["id"] == s2_real["id"]
    for key, real in s2_real["assets"].items():
        href = ours["assets"][key]["href"]
        if key.endswith("-jp2"):  # ESA's requester-pays JP2 bucket, served by the replica
            assert href == real["href"] and href.startswith("s3://sentinel-s2-l2a/tiles/")
        else:  # Earth Search's bucket, below /earthsearch/ on the file server
            bucket_path = path_after(real["href"], "amazonaws.com/")
            assert href == f"{OFFLINE.http}/earthsearch/sentinel-cogs/{bucket_path}"
        if "proj:transform" in real:  # the same tile corner (x0, y0)
            assert ours["assets"][key]["proj:transform"][2::3] == real["proj:transform"][2::3]


def test_v1_properties_extensions_and_links(s2_ours, s2_real):
    for item in s2_ours:
        assert item["stac_version"] == s2_real["stac_version"]
        assert item["stac_extensions"] == s2_real["stac_extensions"]
        assert set(item["properties"]) == set(s2_real["properties"])
        assert rels(item) == rels(s2_real)
        for key, value in s2_real["properties"].items():
            assert type(item["properties"][key]) is type(value) or {
                type(item["properties"][key]), type(value)} <= {int, float}, key  # fmt: skip
    ours, real = s2_ours[0]["properties"], s2_real["properties"]
    same = (
        "platform", "constellation", "instruments", "eo:cloud_cover", "proj:epsg",
        "mgrs:utm_zone", "mgrs:latitude_band", "mgrs:grid_square", "grid:code",
        "s2:product_type", "s2:processing_baseline", "s2:product_uri", "s2:generation_time",
        "s2:datatake_id", "s2:datatake_type", "s2:datastrip_id", "s2:granule_id", "datetime",
        "s2:sequence", "earthsearch:s3_path", "earthsearch:boa_offset_applied",
        "processing:software",
    )  # fmt: skip
    assert {k: ours[k] for k in same} == {k: real[k] for k in same}
    assert ours["view:sun_azimuth"] == pytest.approx(real["view:sun_azimuth"], abs=1.0)
    assert ours["view:sun_elevation"] == pytest.approx(real["view:sun_elevation"], abs=1.0)
    assert ours["s2:reflectance_conversion_factor"] == pytest.approx(1.0, abs=0.035)
    percentages = [k for k in real if k.endswith("_percentage")]
    assert sum(ours[k] for k in percentages if "nodata" not in k) == pytest.approx(100, abs=0.01)
    assert iou(s2_ours[0]["geometry"], s2_real["geometry"]) > 0.98


# -- Earth Search v0 sentinel-s2-l2a-cogs --------------------------------------------------------


def test_v0_item_is_the_legacy_schema():
    real = real_item("earthsearch_v0_sentinel-s2-l2a-cogs")
    (ours,) = generated("sentinel-s2-l2a-cogs")
    assert ours["id"] == real["id"] and ours["stac_version"] == real["stac_version"]
    assert ours["stac_extensions"] == real["stac_extensions"]
    assert_same_assets(ours, real, ("roles", "type", "title"))  # v0 has no roles at all
    assert all("roles" not in a for a in ours["assets"].values())
    for key, asset in real["assets"].items():
        assert set(ours["assets"][key]) == set(asset), key
        if "proj:transform" in asset:  # nine numbers on v0; same tile corner
            t = ours["assets"][key]["proj:transform"]
            assert len(t) == 9 and t[2::3] == asset["proj:transform"][2::3]
            assert t[0] * ours["assets"][key]["proj:shape"][0] == pytest.approx(
                asset["proj:transform"][0] * asset["proj:shape"][0]
            )
        ours_path = urlsplit(ours["assets"][key]["href"]).path
        real_url = urlsplit(asset["href"])
        host = "roda" if real_url.netloc.startswith("roda") else real_url.netloc.split(".")[0]
        assert ours_path == f"/earthsearch/{host}{real_url.path}", key
    # built from the product's name and the generated footprint: the same values, 6.85 % too
    assert ours["properties"] == real["properties"]
    assert rels(ours) == rels(real)
    assert iou(ours["geometry"], real["geometry"]) > 0.9  # the sliver of the tile


# -- Earth Search v1 sentinel-1-grd --------------------------------------------------------------


@pytest.fixture(scope="module")
def s1_real() -> dict:
    return real_item("earthsearch_v1_sentinel-1-grd")


@pytest.fixture(scope="module")
def s1_ours() -> dict:
    (item,) = generated("sentinel-1-grd")
    return item


def test_s1_assets_are_the_real_ones(s1_ours, s1_real):
    fields = ("href", "roles", "type", "title", "description", "raster:bands")
    assert_same_assets(s1_ours, s1_real, fields)  # same product: the same S3 keys too
    for key, asset in s1_real["assets"].items():
        assert set(s1_ours["assets"][key]) == set(asset), key


def test_s1_properties_extensions_and_links(s1_ours, s1_real):
    assert s1_ours["stac_extensions"] == s1_real["stac_extensions"]
    assert s1_ours["id"] == s1_real["id"] and s1_ours["stac_version"] == s1_real["stac_version"]
    ours, real = s1_ours["properties"], s1_real["properties"]
    assert set(ours) == set(real)
    # values of the grid and the footprint are the generated product's; the rest is the real one
    own = {"proj:bbox", "proj:shape", "proj:transform", "proj:centroid", "s1:shape",
           "start_datetime", "end_datetime", "datetime"}  # fmt: skip
    assert {k: v for k, v in ours.items() if k not in own} == {
        k: v for k, v in real.items() if k not in own
    }
    for key in ("start_datetime", "end_datetime", "datetime"):  # to the second (name's times)
        assert ours[key][:19] == real[key][:19]
    assert rels(s1_ours) == rels(s1_real)
    assert iou(s1_ours["geometry"], s1_real["geometry"]) > 0.85
    samples, lines = ours["s1:shape"]  # stactools: [numberOfSamples, numberOfLines]
    assert ours["proj:shape"] == ours["s1:shape"] and samples > lines
    real_samples, real_lines = real["s1:shape"]
    assert samples / lines == pytest.approx(real_samples / real_lines, rel=0.01)


@pytest.fixture(scope="module")
def grd_tiff(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("s1-grd")
    earthsearch.jobs(root, 0, "ci")[-1]()  # the last job writes the S1 GRD objects
    (path,) = (root / "s3" / earthsearch.S1_BUCKET).rglob("iw-hh.tiff")
    return path


def first_ifd(path: Path) -> int:
    head = path.read_bytes()[:16]
    order = "<" if head[:2] == b"II" else ">"
    if struct.unpack(order + "H", head[2:4])[0] == 43:
        return struct.unpack(order + "Q", head[8:16])[0]
    return struct.unpack(order + "I", head[4:8])[0]


def test_s1_measurement_is_laid_out_like_the_real_gcp_tiffs(grd_tiff, s1_ours):
    with rasterio.open(grd_tiff) as ours:
        gcps, crs = ours.gcps
        for name in REAL_GCP_TIFFS:
            with rasterio.open(real_path("tiff", name)) as real:
                real_gcps, real_crs = real.gcps
                assert np.dtype(ours.dtypes[0]).kind == np.dtype(real.dtypes[0]).kind == "u"
                assert crs == real_crs and crs.to_epsg() == 4326
                assert ours.transform.is_identity and ours.crs is None and real.crs is None
                assert len(real_gcps) / 2 <= len(gcps) <= 2 * len(real_gcps)
                assert ours.overviews(1) and real.overviews(1)
                # the same grid of GCPs: 21 samples x 10 lines, reaching the image's far edges
                for points, src in ((gcps, ours), (real_gcps, real)):
                    rows, cols = {g.row for g in points}, {g.col for g in points}
                    assert (len(rows), len(cols)) == (10, 21)
                    assert min(rows) == min(cols) == 0
                    assert max(rows) >= src.height - 1 and max(cols) >= src.width - 1
        with rasterio.open(real_path("tiff", REAL_GCP_TIFFS[0])) as real:
            assert ours.dtypes == real.dtypes == ("uint16",)
            for tag in ("TIFFTAG_IMAGEDESCRIPTION", "AREA_OR_POINT"):  # S1A IW GRD HR L1
                assert ours.tags()[tag] == real.tags()[tag]
            assert ours.tags()["TIFFTAG_SOFTWARE"].startswith("Sentinel-1 IPF ")
        # the IFD follows the image: every strip (and overview block) lies before it
        last_blocks = [int(ours.get_tag_item(f"BLOCK_OFFSET_0_{ours.height - 1}", "TIFF", bidx=1))]
        for level in range(len(ours.overviews(1))):
            with rasterio.open(grd_tiff, overview_level=level) as ovr:
                last_blocks.append(int(ovr.get_tag_item("BLOCK_OFFSET_0_0", "TIFF", bidx=1)))
        assert first_ifd(grd_tiff) > max(last_blocks)
        assert ours.read(1, window=((100, 110), (100, 110))).min() > 0  # amplitude, not no-data
        samples, lines = s1_ours["properties"]["s1:shape"]
        assert (ours.height, ours.width) == (lines, samples)
    # the item's footprint is the ring of the border GCPs
    footprint = shape(s1_ours["geometry"])
    assert footprint.buffer(1e-6).contains(MultiPoint([(g.x, g.y) for g in gcps]))
    rows, cols = {g.row for g in gcps}, {g.col for g in gcps}
    border = {(round(g.x, 7), round(g.y, 7)) for g in gcps
              if g.row in (min(rows), max(rows)) or g.col in (min(cols), max(cols))}  # fmt: skip
    assert {tuple(p) for p in s1_ours["geometry"]["coordinates"][0]} == border
    assert 1 * 2**20 < grd_tiff.stat().st_size < 2 * 2**20


# -- Planetary Computer sentinel-2-l2a ------------------------------------------------------------


@pytest.fixture(scope="module")
def pc_real() -> dict:
    return real_item("planetarycomputer_sentinel-2-l2a")


@pytest.fixture(scope="module")
def pc_ours() -> dict:
    (item,) = generated(pc.COLLECTION)
    return item


def test_pc_assets_are_the_real_ones(pc_ours, pc_real):
    assert pc_ours["id"] == pc_real["id"]
    assert_same_assets(pc_ours, pc_real, ("roles", "type", "title", "eo:bands", "gsd",
                                          "proj:bbox", "rel"))  # fmt: skip
    for key, real in pc_real["assets"].items():
        ours = pc_ours["assets"][key]
        assert set(ours) == set(real), key
        if urlsplit(real["href"]).netloc.endswith("blob.core.windows.net"):
            # the same blob below the account's container, served under /pc/<account>/
            blob = path_after(real["href"], "blob.core.windows.net/")
            assert ours["href"] == f"{OFFLINE.http}/pc/{pc.ACCOUNT}/{blob}", key
        else:  # the data API: same endpoint and parameters; the replica's collection id
            ours_url, real_url = urlsplit(ours["href"]), urlsplit(real["href"])
            assert ours_url.path == "/pc" + real_url.path, key
            ours_q, real_q = parse_qs(ours_url.query), parse_qs(real_url.query)
            assert ours_q.pop("collection") == [pc.COLLECTION]  # deliberate: the replica's id
            real_q.pop("collection")
            assert ours_q == real_q, key
        if "proj:shape" in real:  # same tile at a 10x coarser pixel on ci
            res, size = ours["proj:transform"][0], ours["proj:shape"][0]
            assert res * size == pytest.approx(real["proj:transform"][0] * real["proj:shape"][0])
            assert ours["proj:transform"][2::3] == real["proj:transform"][2::3]


def test_pc_properties_extensions_and_links(pc_ours, pc_real):
    assert pc_ours["stac_version"] == pc_real["stac_version"]
    assert pc_ours["stac_extensions"] == pc_real["stac_extensions"]
    ours, real = pc_ours["properties"], pc_real["properties"]
    assert set(ours) == set(real)
    same = (
        "datetime", "platform", "proj:epsg", "instruments", "s2:mgrs_tile", "constellation",
        "s2:granule_id", "eo:cloud_cover", "s2:datatake_id", "s2:product_uri", "s2:datastrip_id",
        "s2:product_type", "sat:orbit_state", "s2:datatake_type", "sat:relative_orbit",
        "s2:processing_baseline",
    )  # fmt: skip
    assert {k: ours[k] for k in same} == {k: real[k] for k in same}
    assert ours["s2:generation_time"][:19] == real["s2:generation_time"][:19]
    assert ours["s2:mean_solar_zenith"] == pytest.approx(real["s2:mean_solar_zenith"], abs=1.0)
    assert ours["s2:mean_solar_azimuth"] == pytest.approx(real["s2:mean_solar_azimuth"], abs=1.0)
    assert ours["s2:reflectance_conversion_factor"] == pytest.approx(
        real["s2:reflectance_conversion_factor"], abs=1e-3
    )
    assert ours["s2:nodata_pixel_percentage"] == pytest.approx(
        real["s2:nodata_pixel_percentage"], abs=2.0
    )
    assert rels(pc_ours) == rels(pc_real)
    assert iou(pc_ours["geometry"], pc_real["geometry"]) > 0.85
