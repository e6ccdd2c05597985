"""GeoZarr (Zarr v3, ``multiscales``): the replica's stores over HTTP and S3. The real Explorer
hierarchy is opened in tests/realdata/test_geozarr.py."""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest
import xarray as xr

from xstac_access import errors

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # zarr's v3 string dtype notes


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


def test_levels_groups_and_overview_errors_follow_the_stores_layout(served):
    item, _ = served
    finest = xr.open_dataset(item, engine="stacasset", asset="reflectance")
    levels = finest.attrs["multiscales_levels"]
    assert len(levels) >= 3 and finest.attrs["multiscales_level"] == levels[0]
    coarser = xr.open_dataset(item, engine="stacasset", asset="reflectance", overview_level=1)
    assert coarser.attrs["multiscales_level"] == levels[2]  # overview 0 is the second level
    assert coarser.sizes["x"] < finest.sizes["x"]
    named = xr.open_dataset(item, engine="stacasset", asset="reflectance", group=levels[2])
    assert dict(named.sizes) == dict(coarser.sizes)
    tree = xr.open_datatree(item, engine="stacasset", asset="reflectance")
    assert set(tree.children) == set(levels)
    overviews = len(levels) - 1
    with pytest.raises(
        errors.FormatError, match=rf"has {overviews} overview level\(s\).*use 0 to {overviews - 1}"
    ):
        xr.open_dataset(item, engine="stacasset", asset="reflectance", overview_level=overviews)
    with pytest.raises(errors.FormatError, match="no GeoZarr multiscales layout"):
        xr.open_dataset(
            item, engine="stacasset", asset="reflectance", group=levels[0], overview_level=0
        )
