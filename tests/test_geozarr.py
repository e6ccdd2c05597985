"""GeoZarr (Zarr v3, ``multiscales``): the real Explorer hierarchy, replica stores over HTTP/S3."""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest
import xarray as xr
from conftest import GROUPSPEC, load_item, write_groupspec

from xstac_access import errors

LEVELS = ["r10m", "r20m", "r60m", "r120m", "r360m", "r720m"]
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # zarr's v3 string dtype notes


@pytest.fixture(scope="module")
def real_hierarchy(tmp_path_factory):
    """The published GeoZarr metadata of product T32TQM (no chunks) and its Explorer item."""
    (source,) = GROUPSPEC.glob("optimized_geozarr_examples__*.json")
    root = tmp_path_factory.mktemp("geozarr")
    store = root / "S2A_MSIL2A_20251008T100041_N0511_R122_T32TQM_20251008T122613.zarr"
    write_groupspec(json.loads(source.read_text()), store)
    item = load_item("eopf_explorer_geozarr_sentinel-2-l2a_S2A_MSIL2A_20251008T100041")
    item["assets"]["reflectance"]["href"] = f"{store}/measurements/reflectance"
    return item


def test_a_multiscales_asset_opens_at_its_finest_level(real_hierarchy):
    ds = xr.open_dataset(real_hierarchy, engine="stacasset", asset="reflectance")
    assert set(ds.data_vars) == {"b02", "b03", "b04", "b08"}
    assert ds.sizes == {"y": 10980, "x": 10980}
    assert ds.attrs["multiscales_level"] == "r10m"
    assert ds.attrs["multiscales_levels"] == LEVELS
    assert "spatial_ref" in ds.coords and ds.rio.crs.to_epsg() == 32632
    assert ds["b04"].encoding["chunks"] == (244, 244)
    assert ds["b04"].encoding["shards"] == (10980, 10980)


@pytest.mark.parametrize(
    ("level", "name", "size"), [(0, "r20m", 5490), (1, "r60m", 1830), (4, "r720m", 152)]
)
def test_overview_level_picks_the_layout_entry(real_hierarchy, level, name, size):
    ds = xr.open_dataset(
        real_hierarchy, engine="stacasset", asset="reflectance", overview_level=level
    )
    assert ds.attrs["multiscales_level"] == name
    assert ds.sizes["x"] == size


def test_group_names_a_level_and_the_tree_has_them_all(real_hierarchy):
    r60 = xr.open_dataset(real_hierarchy, engine="stacasset", asset="reflectance", group="r60m")
    assert {"b01", "b09"} <= set(r60.data_vars) and r60.sizes["y"] == 1830
    tree = xr.open_datatree(real_hierarchy, engine="stacasset", asset="reflectance")
    assert set(tree.children) == set(LEVELS)


def test_overview_level_out_of_range_or_without_multiscales_is_a_typed_error(real_hierarchy):
    with pytest.raises(errors.FormatError, match=r"has 5 overview level\(s\).*use 0 to 4"):
        xr.open_dataset(real_hierarchy, engine="stacasset", asset="reflectance", overview_level=5)
    with pytest.raises(errors.FormatError, match="no GeoZarr multiscales layout"):
        xr.open_dataset(
            real_hierarchy, engine="stacasset", asset="reflectance", group="r10m", overview_level=0
        )


def explorer(world, tile: str) -> dict:
    (item,) = [i for i in world.replica.items if tile in i["id"]]
    return json.loads(json.dumps(item))


@pytest.fixture(scope="module")
def served(local_world):
    """The T31TFL replica store copied under the file server, whose counters see every request."""
    item = explorer(local_world, "T31TFL")
    s3 = local_world.endpoints.s3
    href = item["assets"]["reflectance"]["href"]
    root = href.partition(".zarr")[0] + ".zarr"
    bucket, _, key = root[len(s3) + 1 :].partition("/")
    source = local_world.replica.s3_buckets[bucket] / key
    target = local_world.replica.files_root / "_tests_geozarr" / source.name
    shutil.copytree(source, target)
    base = f"{local_world.endpoints.http}/_tests_geozarr/{source.name}"
    yield json.loads(json.dumps(item).replace(root, base)), f"/_tests_geozarr/{source.name}"
    shutil.rmtree(target.parent)


def _paths(world, prefix: str) -> list[str]:
    log = world.files.stats()["log"]
    return [e["path"][len(prefix) :] for e in log if e["path"].startswith(prefix)]


def test_open_over_http_reads_consolidated_metadata_once_and_no_chunk(local_world, served):
    item, prefix = served
    local_world.files.reset()
    ds = xr.open_dataset(item, engine="stacasset", asset="reflectance", chunks={})
    assert ds.attrs["multiscales_level"] == "r10m"
    assert ds.attrs["stac_asset"] == "reflectance"
    paths = _paths(local_world, prefix)
    assert paths.count("/zarr.json") == 1
    assert not [p for p in paths if "/b0" in p]
    assert ds.rio.crs.to_epsg() == 32631
    assert ds.rio.transform().c == 600000.0 and ds.rio.transform().f == 5100000.0


def test_a_window_reads_only_its_inner_chunk_and_the_shard_index(local_world, served):
    item, _ = served
    ds = xr.open_dataset(item, engine="stacasset", asset="reflectance")
    inner, shard = ds["b04"].encoding["chunks"], ds["b04"].encoding["shards"]
    index_bytes = (shard[0] // inner[0]) * (shard[1] // inner[1]) * 16 + 4  # offsets + crc32c
    local_world.files.reset()
    window = ds["b04"][: inner[0], : inner[1]].values
    reads = [e for e in local_world.files.stats()["log"] if "/r10m/b04/" in e["path"]]
    moved = sum(e["bytes"] for e in reads)
    assert np.isfinite(window).all() and 0 < window.mean() < 1
    assert len(reads) == 2  # the shard's index, then the one inner chunk: two ranged GETs
    assert all(e["status"] == 206 for e in reads)
    assert moved <= index_bytes + window.nbytes + 64, (moved, index_bytes)


def test_band_asset_inside_a_level_and_the_s3_item(local_world, served):
    item, _ = served
    aot = xr.open_dataset(item, engine="stacasset", asset="AOT_10m")
    assert list(aot.data_vars) == ["aot"]
    s3_item = explorer(local_world, "T32TQM")
    assert s3_item["assets"]["reflectance"]["href"].startswith("s3://")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r60 = xr.open_dataset(s3_item, engine="stacasset", asset="reflectance", overview_level=1)
    assert r60.attrs["multiscales_level"] == "r60m"
    assert r60.rio.crs.to_epsg() == 32632
    assert float(r60["b02"].mean()) > 0
