"""The replica generator: deterministic bytes, real formats, STAC items that point at real files.

The files checked are those in the shared cache, which the session's world generated: their
determinism is checked by generating some again into a temporary folder, byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
import xarray as xr
from shapely.geometry import MultiPoint, Polygon, shape

from xstac_access.testing.endpoints import OFFLINE
from xstac_access.testing.replica import (
    Replica,
    biomass,
    build_replica,
    cdse,
    earthsearch,
    eopf,
    generate_files,
)
from xstac_access.testing.world import default_cache_dir

# S2 COGs carry pixel texture so that byte counts of windowed reads mean something.
CI_MAX_BYTES = 128 * 1024 * 1024


@pytest.fixture(scope="module")
def replica() -> Replica:
    """The CI replica for fake endpoints, from the cache the session's world generated (or
    generates, when this module runs alone): the files are shared, the JSON is built here."""
    return build_replica(default_cache_dir(), OFFLINE, seed=0, scale="ci")


def _items(replica: Replica, collection: str) -> list[dict[str, Any]]:
    return [i for i in replica.items if i["collection"] == collection]


def _local_path(replica: Replica, href: str, account: str | None = None) -> Path:
    """Where the file behind an href lives in the generated tree (following the CDSE redirect
    and its OData ``Nodes(...)/$value`` paths). The file server answers by path: a query string
    (PC's data API) names no other file. An ``abfs://`` href is in the container of ``account``
    uploaded to Azure blob storage."""
    href = href.split("?", 1)[0]
    if href.startswith("abfs://"):
        container, path = href[len("abfs://") :].split("/", 1)
        return replica.azure_containers[f"{account}/{container}"] / path
    for rule in replica.server_config["redirects"]:
        if href == OFFLINE.http + rule["path"]:
            return replica.files_root / rule["to_path"].lstrip("/")
    for rule in replica.server_config["odata_nodes"]:
        if href.startswith(OFFLINE.http + rule["prefix"]):
            nodes = href[len(OFFLINE.http + rule["prefix"]) :].split("/")[:-1]  # "$value" last
            return Path(rule["dir"]).joinpath(*(node[6:-1] for node in nodes))  # Nodes(<name>)
    for base in (OFFLINE.http, OFFLINE.http_alt):
        if href.startswith(base + "/"):
            return replica.files_root / href[len(base) + 1 :]
    rest = href[len(OFFLINE.s3) + 1 :] if href.startswith(OFFLINE.s3 + "/") else href[5:]
    bucket, key = rest.split("/", 1)
    return replica.s3_buckets[bucket] / key


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_ci_generation_is_small_and_reused(replica: Replica, tmp_path: Path) -> None:
    root = replica.files_root.parent
    files = {p: p.stat() for p in root.rglob("*") if p.is_file()}
    size = sum(stat.st_size for stat in files.values())
    print(f"ci replica: {size / 2**20:.1f} MiB, {len(files)} files")
    assert size < CI_MAX_BYTES
    assert (root / ".complete").is_file()
    assert generate_files(root.parent, seed=0, scale="ci") == root
    # reused, not written again: every file is the very same one, untouched
    again = {p: p.stat() for p in root.rglob("*") if p.is_file()}
    assert again.keys() == files.keys()
    assert all(
        (again[p].st_ino, again[p].st_mtime_ns) == (s.st_ino, s.st_mtime_ns)
        for p, s in files.items()
    )
    assert not [p for p in root.parent.iterdir() if p.name.startswith(f".{root.name}.")]
    with pytest.raises(ValueError, match="scale"):
        generate_files(tmp_path, scale="huge")


def test_same_seed_gives_same_bytes(replica: Replica, tmp_path: Path) -> None:
    root = replica.files_root.parent
    jobs = biomass.jobs(tmp_path, 0, "ci")[:1] + cdse.jobs(tmp_path, 0, "ci")
    jobs += [j for j in eopf.jobs(tmp_path, 0, "ci") if j.args[-1] is eopf.S1_OCN]
    jobs += earthsearch.jobs(tmp_path, 0, "ci")[-1:]  # the S1 GRD objects
    for job in jobs:
        job()
    abs_tiff = next(root.rglob("*_f035_i_abs.tiff"))
    ocn = next((root / "s3" / eopf.S1_OCN.bucket).rglob("wind_speed/0.0"))
    grd = next((root / "s3" / earthsearch.S1_BUCKET).rglob("iw-hh.tiff"))
    for path in (abs_tiff, next(root.rglob("*.SAFE.zip")), ocn, ocn.parent / ".zarray", grd):
        twin = tmp_path / path.relative_to(root)
        assert _sha(twin) == _sha(path), path.name
    other = tmp_path / "seed1"
    biomass.jobs(other, 1, "ci")[0]()
    assert _sha(next(other.rglob("*_i_abs.tiff"))) != _sha(abs_tiff)


def test_biomass_tiffs_are_gcp_only_four_polarisations(replica: Replica) -> None:
    for item in _items(replica, "BiomassLevel1a"):
        for key in ("enclosure_i_abs_tiff", "enclosure_i_phase_tiff"):
            with rasterio.open(_local_path(replica, item["assets"][key]["href"])) as src:
                gcps, crs = src.gcps
                assert src.count == 4 and src.dtypes == ("float32",) * 4
                assert src.descriptions == ("HH", "HV", "VH", "VV")
                assert len(gcps) == 121 and crs.to_epsg() == 4326
                assert src.profile["tiled"] and src.block_shapes[0] == (256, 256)
                assert src.transform.is_identity and src.crs is None
                assert float(np.nanmax(src.read(1, window=((0, 64), (0, 64))))) > 0
            hull = Polygon([(g.x, g.y) for g in gcps]).convex_hull
            assert hull.buffer(1e-6).contains(shape(item["geometry"]).buffer(-1e-6))


def test_biomass_kml_quad_matches_item_geometry(replica: Replica) -> None:
    for item in _items(replica, "BiomassLevel1a"):
        kml = _local_path(replica, item["assets"]["quicklook_kml"]["href"]).read_bytes()
        root = ET.fromstring(kml)
        quad = root.find(".//{http://www.google.com/kml/ext/2.2}LatLonQuad")
        coords = [tuple(map(float, p.split(","))) for p in quad.find("coordinates").text.split()]
        ring = item["geometry"]["coordinates"][0][:-1]
        flat = [v for p in sorted(coords) for v in p]
        assert flat == pytest.approx([v for p in sorted(map(tuple, ring)) for v in p], abs=1e-6)
        href = root.find(".//Icon/href").text
        assert (
            _local_path(replica, item["assets"]["quicklook_kml"]["href"]).parent / href
        ).is_file()


def test_earthsearch_cogs_have_overviews_and_512_tiles(replica: Replica) -> None:
    item = _items(replica, "sentinel-2-l2a")[0]
    for key in ("red", "scl", "visual", "coastal"):
        asset = item["assets"][key]
        with rasterio.open(_local_path(replica, asset["href"])) as src:
            assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
            assert src.block_shapes[0] == (512, 512) or src.width < 512
            assert list(src.shape) == asset["proj:shape"]
            assert list(src.transform)[:6] == pytest.approx(asset["proj:transform"])
            assert src.crs.to_epsg() == item["properties"]["proj:epsg"]
            if src.width > 512:
                assert src.overviews(1)
            if key != "visual":
                assert src.nodata == 0
    clouds = {i["properties"]["eo:cloud_cover"] for i in _items(replica, "sentinel-2-l2a")}
    assert len(clouds) == 3
    (v0,) = _items(replica, "sentinel-s2-l2a-cogs")
    assert {"B01", "B12", "SCL", "visual"} <= set(v0["assets"])


def test_s1_grd_item_points_at_a_gcp_tiff_on_s3(replica: Replica) -> None:
    (item,) = _items(replica, "sentinel-1-grd")
    hh = item["assets"]["hh"]
    assert hh["href"].startswith("s3://sentinel-s1-l1c/") and "alternate" not in hh
    properties = item["properties"]  # the bucket is requester pays, and the store says so
    assert (properties["storage:region"], properties["storage:requester_pays"]) == (
        "eu-central-1",
        True,
    )
    assert earthsearch.S1_BUCKET in {rule.bucket for rule in replica.s3_rules}
    path = _local_path(replica, hh["href"])
    samples, lines = item["properties"]["s1:shape"]
    with rasterio.open(path) as src:
        gcps, crs = src.gcps
        assert (src.height, src.width) == (lines, samples) == earthsearch.grd_shape("ci")
        assert src.dtypes == ("uint16",) and crs.to_epsg() == 4326 and len(gcps) == 210
        assert src.transform.is_identity and src.crs is None and src.overviews(1) == [2, 4, 8]
    assert 1 * 2**20 < path.stat().st_size < 2 * 2**20  # ci: a small file, 1 to 2 MiB
    footprint = shape(item["geometry"])
    assert footprint.buffer(1e-6).contains(MultiPoint([(g.x, g.y) for g in gcps]))
    corners = [(g.x, g.y) for g in gcps if g.row in (0, lines - 1) and g.col in (0, samples - 1)]
    ring = {tuple(p) for p in item["geometry"]["coordinates"][0]}
    assert {(round(x, 7), round(y, 7)) for x, y in corners} <= ring  # the ring walks the border


def test_earthsearch_jp2_twins_are_served_from_the_requester_pays_bucket(replica: Replica) -> None:
    item = _items(replica, "sentinel-2-l2a")[0]
    twins = {k: a for k, a in item["assets"].items() if k.endswith("-jp2")}
    assert len(twins) == 16 and all(a["type"] == "image/jp2" for a in twins.values())
    for key in ("red-jp2", "visual-jp2", "scl-jp2"):
        twin, cog = twins[key], item["assets"][key[: -len("-jp2")]]
        assert twin["href"].startswith(f"s3://{earthsearch.JP2_BUCKET}/tiles/13/T/DE/2023/10/8/0/")
        with rasterio.open(_local_path(replica, twin["href"])) as jp2:
            assert jp2.driver == "JP2OpenJPEG"
            with rasterio.open(_local_path(replica, cog["href"])) as tif:
                assert (jp2.shape, jp2.count, jp2.dtypes) == (tif.shape, tif.count, tif.dtypes)
                assert jp2.crs == tif.crs and jp2.transform == tif.transform


def _described_layout(product: eopf.Product) -> tuple[set[str], set[str]]:
    """Groups and arrays of the product's description (tests/realdata compares it with the
    real product)."""
    meta = eopf.metadata(product, "ci")
    groups = {"/" + k[: -len("/.zgroup")] for k in meta if k.endswith("/.zgroup")}
    arrays = {"/" + k[: -len("/.zarray")] for k in meta if k.endswith("/.zarray")}
    return groups, arrays


@pytest.mark.parametrize("product", eopf.PRODUCTS, ids=lambda p: p.collection)
def test_eopf_stores_keep_the_described_layout_and_open(
    replica: Replica, product: eopf.Product
) -> None:
    store = replica.s3_buckets[product.bucket] / product.key
    consolidated = json.loads((store / ".zmetadata").read_text())["metadata"]
    assert consolidated == json.loads(json.dumps(eopf.metadata(product, "ci")))
    tree = xr.open_datatree(store, engine="zarr", chunks={})
    groups, arrays = _described_layout(product)
    assert len(arrays) >= 40 and len(groups) >= 7
    assert groups <= {node.path for node in tree.subtree}
    found = {f"{n.path}/{v}".replace("//", "/") for n in tree.subtree for v in n.variables}
    assert arrays <= found
    native = xr.open_datatree(store, engine="eopf-zarr", op_mode="native", chunks={})
    assert {n.path for n in native.subtree} >= groups


def test_eopf_values_are_plausible(replica: Replica) -> None:
    s2 = replica.s3_buckets[eopf.S2.bucket] / eopf.S2.key
    r10m = xr.open_dataset(s2, group="measurements/reflectance/r10m", engine="zarr")
    assert r10m.b04.shape == (1098, 1098) and r10m.b04.encoding["chunks"] == (183, 183)
    assert 0.0 < float(r10m.b04.mean()) < 0.6 and r10m.x[0] == 300050
    tci = xr.open_dataset(s2, group="quality/l2a_quicklook/r60m", engine="zarr").tci
    assert tci.dtype == np.uint8 and tci.shape == (3, 183, 183)
    lfr = replica.s3_buckets[eopf.S3_LFR.bucket] / eopf.S3_LFR.key
    m = xr.open_dataset(lfr, group="measurements", engine="zarr")
    assert m.gifapar.shape == (409, 486)
    assert float(m.gifapar.min()) >= 0.0 and float(m.gifapar.max()) <= 1.0
    assert -25 < float(m.latitude.min()) < float(m.latitude.max()) < -10
    rows = m.latitude.isel(columns=243).values
    assert np.all(np.diff(rows) < 0)  # descending pass: latitude falls along track


def test_eopf_items_carry_open_hints(replica: Replica) -> None:
    (s2,) = _items(replica, "eopf-sentinel-2-l2a")
    assert s2["assets"]["product"]["xarray:open_datatree_kwargs"]["engine"] == "eopf-zarr"
    assert s2["assets"]["SR_10m"]["href"].endswith(".zarr/measurements/reflectance/r10m")
    types = {a["type"] for a in s2["assets"].values()}
    assert {"application/vnd+zarr", "application/vnd.zarr"} <= types
    (old,) = _items(replica, "eopf-sentinel-2-l2a-cpm-v256")
    assert "xarray" in old["assets"]["B04_10m"]["alternate"]
    archive = _local_path(replica, s2["assets"]["zipped_product"]["href"])
    with zipfile.ZipFile(archive) as zf:
        zipped = json.loads(zf.read(f"{eopf.S2.name}.zarr/.zmetadata"))
    served = _local_path(replica, s2["assets"]["product_metadata"]["href"])
    assert zipped == json.loads(served.read_text())
    (ocn,) = _items(replica, "sentinel-1-l2-ocn")
    product = ocn["assets"]["product"]
    assert product["href"].startswith("s3://")
    assert product["xarray:storage_options"] == {"anon": True, "endpoint_url": OFFLINE.s3}


def test_cdse_zip_is_a_safe_with_a_real_jp2(replica: Replica) -> None:
    (item,) = _items(replica, "cdse-sentinel-2-l2a")
    path = _local_path(replica, item["assets"]["PRODUCT"]["href"])
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        manifest = ET.fromstring(zf.read(names[0]))
    safe = item["id"]
    assert names[0] == f"{safe}/manifest.safe"
    listed = {loc.get("href") for loc in manifest.iter("fileLocation")}
    assert listed == {"./" + n[len(safe) + 1 :] for n in names[1:]}
    assert any(n.endswith("/MTD_MSIL2A.xml") for n in names)
    assert any(n.endswith("/MTD_TL.xml") for n in names)
    tci = next(n for n in names if n.endswith("_TCI_60m.jp2"))
    with rasterio.open(f"/vsizip/{path}/{tci}") as src:
        assert src.driver == "JP2OpenJPEG" and src.count == 3 and src.crs.to_epsg() == 32632
    assert path.stat().st_size > 3 * 2**20
    redirects = replica.server_config["redirects"]  # this product's, and the S1 product's
    (redirect,) = [r for r in redirects if r["to_path"].endswith(f"/{path.name}")]
    assert redirect["to_host"] == "alt" and redirect["status"] == 302


def test_items_are_stac_and_every_href_is_served(replica: Replica) -> None:
    collection_ids = [c["id"] for c in replica.collections]
    assert len(collection_ids) == len(set(collection_ids))
    keys = [(i["collection"], i["id"]) for i in replica.items]
    assert len(keys) == len(set(keys))
    bases = (OFFLINE.http, OFFLINE.http_alt, OFFLINE.s3)
    for item in replica.items:
        assert item["type"] == "Feature" and item["stac_version"].startswith("1.")
        times = item["properties"]
        assert times["datetime"] or times["start_datetime"] < times["end_datetime"]
        assert item["collection"] in collection_ids
        geom = shape(item["geometry"])
        assert geom.is_valid and list(geom.bounds) == pytest.approx(item["bbox"])
        for key, asset in item["assets"].items():
            hrefs = [asset["href"]] + [a["href"] for a in asset.get("alternate", {}).values()]
            options = asset.get("xarray:open_kwargs", {}).get("storage_options", {})
            account = options.get("account_name")  # Planetary Computer's abfs:// stores
            for href in hrefs:
                assert (
                    href.startswith(bases)
                    or href.split("/")[2] in replica.s3_buckets
                    or (href.startswith("abfs://") and account)
                ), href
                assert _local_path(replica, href, account).exists(), (item["id"], key, href)
    json.dumps(replica.items)  # plain JSON, ready for pypgstac
    for collection in replica.collections:
        assert collection["extent"]["spatial"]["bbox"] and collection["license"]


def test_server_config_protects_the_right_prefixes(replica: Replica) -> None:
    config = replica.server_config
    rules = {(r["prefix"], r["host"], r["scheme"]) for r in config["protected"]}
    assert rules == {
        ("/maap/data/", "main", "bearer"),
        ("/cdse/download/", "alt", "bearer"),
        (f"/cdse/odata/v1/Products({cdse.product_uuid(0)})/Nodes(", "main", "bearer"),
        ("/hls/protected/", "main", "earthdata"),
        ("/hls/protected/", "alt", "presigned"),  # TEA's 303 to presigned S3 lands there
        ("/s3credentials", "main", "earthdata"),
        ("/pc/sentinel2l2a01/sentinel2-l2/", "main", "sas"),
    }
    assert config["earthdata"] == {"username": "edl-user", "password": "edl-pass"}
    assert config["s3credentials"]["lifetime"] == 3600  # LP DAAC's keys live one hour
    browse = _items(replica, "BiomassLevel1a")[0]["assets"]["thumbnail"]["href"]
    assert "/maap/browse/" in browse
