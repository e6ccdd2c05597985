"""EOPF Zarr: group and array hrefs in a store written here, a corrupt ``zarr.json``, and the
replica's products over HTTP and S3. Real products' metadata: tests/realdata/test_zarr.py."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from conftest import eopf_product_over_http, offline_item

from xstac_access import errors
from xstac_access.testing.replica import geozarr


def write_eopf_like_store(root) -> tuple[str, dict[str, np.ndarray]]:
    """A small store in the EOPF layout (Zarr v2, consolidated): three 20 m bands in
    ``measurements/reflectance/r20m``, counts from 1 up (0 is the default fill value, read as
    missing): (store, the values written)."""
    import zarr

    store = str(root / "S02MSIL2A.zarr")
    group = zarr.open_group(store, mode="w", zarr_format=2)
    r20m = group.require_group("measurements").require_group("reflectance").require_group("r20m")
    values = {}
    for i, name in enumerate(("b05", "b8a", "b12")):
        values[name] = (np.arange(20 * 30).reshape(20, 30) + 1 + 1000 * i).astype("uint16")
        array = r20m.create_array(
            name, shape=(20, 30), chunks=(10, 15), dtype="uint16",
            attributes={"_ARRAY_DIMENSIONS": ["y", "x"]},
        )  # fmt: skip
        array[:] = values[name]
    zarr.consolidate_metadata(store)
    return store, values


def test_group_href_and_array_href_inside_a_local_product(tmp_path):
    store, values = write_eopf_like_store(tmp_path)
    group = xr.open_dataset(
        f"{store}/measurements/reflectance/r20m", engine="stacasset", reader="zarr"
    )
    assert {"b05", "b8a", "b12"} <= set(group.data_vars)
    np.testing.assert_array_equal(group["b12"].values, values["b12"])
    array = xr.open_dataset(
        f"{store}/measurements/reflectance/r20m/b05", engine="stacasset", reader="zarr"
    )
    assert list(array.data_vars) == ["b05"]
    np.testing.assert_array_equal(array["b05"].values, values["b05"])


def test_a_corrupt_zarr_json_is_a_typed_error_naming_the_asset(tmp_path):
    store = tmp_path / "geozarr.zarr"
    store.mkdir()
    (store / "zarr.json").write_text('{"zarr_format": 3, "node_type": "gro')
    item = offline_item(geozarr, "eopf-explorer-sentinel-2-l2a")
    item["assets"]["reflectance"]["href"] = str(store)
    with pytest.raises(errors.FormatError, match=r"'reflectance'.*could not be opened as Zarr"):
        xr.open_datatree(item, engine="stacasset", asset="reflectance")


def replica(world, collection: str) -> dict:
    return sorted(
        (i for i in world.replica.items if i["collection"] == collection), key=lambda i: i["id"]
    )[0]


@pytest.fixture(scope="module")
def served_product(local_world):
    with eopf_product_over_http(local_world, "_tests_zarr") as served:
        yield served


def test_product_tree_reads_consolidated_metadata_once_and_no_data_chunk(
    local_world, served_product
):
    item, path = served_product
    local_world.files.reset()
    tree = xr.open_datatree(item, engine="stacasset", chunks={})
    assert {"conditions", "measurements", "quality"} <= set(tree.children)
    r10m = tree["measurements/reflectance/r10m"]
    assert r10m["b04"].chunks[0][0] == r10m["b04"].encoding["preferred_chunks"]["y"]
    paths = [
        e["path"][len(path) :]
        for e in local_world.files.stats()["log"]
        if e["path"].startswith(path)
    ]
    assert paths.count("/.zmetadata") == 1
    data_vars = {
        f"/{p}/{v}/"
        for p, node in [(n.path.strip("/"), n) for n in tree.subtree]
        for v in node.data_vars
    }
    assert not [p for p in paths if any(p.startswith(d) for d in data_vars)]
    assert tree.attrs["stac_asset"] == "product"


def test_group_asset_and_band_asset_over_http(local_world, served_product):
    item, _ = served_product
    sr10 = xr.open_dataset(item, engine="stacasset", asset="SR_10m")
    assert {"b02", "b03", "b04", "b08"} == set(sr10.data_vars)
    b04 = xr.open_dataset(item, engine="stacasset", asset="B04_10m")
    assert list(b04.data_vars) == ["b04"]
    np.testing.assert_array_equal(b04["b04"][:50, :50].values, sr10["b04"][:50, :50].values)
    tci = xr.open_dataset(
        item, engine="stacasset", asset="product", group="quality/l2a_quicklook/r60m"
    )
    assert tci["tci"].dtype == np.uint8 and tci["tci"].shape[0] == 3


def test_s3_product_with_the_assets_storage_options(local_world):
    item = replica(local_world, "sentinel-1-l2-ocn")
    assert item["assets"]["product"]["href"].startswith("s3://")
    assert "xarray:storage_options" in item["assets"]["product"]
    tree = xr.open_datatree(item, engine="stacasset")
    assert set(tree.children) == {"osw", "owi", "rvl"}
    owi = xr.open_dataset(item, engine="stacasset", asset="owi_measurements")
    assert {"wind_speed", "wind_direction"} <= set(owi.variables)
    assert owi["latitude"].ndim == 2


def test_older_items_alternate_xarray_blocks(local_world):
    item = replica(local_world, "eopf-sentinel-2-l2a-cpm-v256")
    assert "alternate" in item["assets"]["B02_10m"]
    ds = xr.open_dataset(item, engine="stacasset", asset="B02_10m")
    assert [str(v).lower() for v in ds.data_vars] == ["b02"]
    assert ds.sizes["x"] > 0


def test_product_tree_takes_a_few_trips_to_zarrs_loop_and_each_file_once(
    local_world, served_product, monkeypatch
):
    """xarray's zarr engine lists and reads group by group, ~170 hand-overs to zarr's event
    loop for this 36-group product (and fetched each CF-time scalar twice); the tree is opened
    in a handful, each metadata document and open-time chunk fetched once."""
    import asyncio
    import threading

    item, path = served_product
    trips = []
    real = asyncio.run_coroutine_threadsafe
    opener = threading.current_thread()

    def counted(coro, loop):
        # zarr's own hand-overs, from the opening thread: not fsspec's (a filesystem another
        # test left closes its session when collected), nor other threads'
        if threading.current_thread() is opener and "zarr" in coro.cr_code.co_filename:
            trips.append(coro)
        return real(coro, loop)

    monkeypatch.setattr(asyncio, "run_coroutine_threadsafe", counted)
    local_world.files.reset()
    tree = xr.open_datatree(item, engine="stacasset", chunks={})
    assert len(tree.groups) == 36
    assert len(trips) <= 8, len(trips)
    paths = [e["path"] for e in local_world.files.stats()["log"] if e["path"].startswith(path)]
    assert len(paths) == len(set(paths)), sorted(paths)


def test_the_chunks_a_tree_reads_at_open_are_the_ones_prefetched_together(
    local_world, served_product
):
    """Every chunk the open reads (index coordinates, CF-time arrays: the S2 L2A product's
    forecast times are scalars) is among those fetched in the one wave before xarray reads:
    a chunk missing from that list costs a second round trip (the scalars did: 4 of 54)."""
    from xstac_access.readers._zarrstore import index_chunk_keys

    item, path = served_product
    local_world.files.reset()
    xr.open_datatree(item, engine="stacasset", chunks={})
    read = {
        e["path"][len(path) + 1 :]
        for e in local_world.files.stats()["log"]
        if e["path"].startswith(path) and not e["path"].endswith(".zmetadata")
    }
    zmetadata = local_world.replica.files_root / path.lstrip("/") / ".zmetadata"
    consolidated = json.loads(zmetadata.read_text())["metadata"]
    prefetched = set(index_chunk_keys(consolidated, subtree=True))
    assert read and read <= prefetched, sorted(read - prefetched)
    assert "conditions/meteorology/cams/time/0" in read


def test_product_tree_groups_are_those_of_xarrays_zarr_engine(local_world, served_product):
    """Variables, dimensions, types, attributes, encodings and index values of every group are
    those xarray's own zarr engine gives for the same store (besides the item stamped on)."""
    from xstac_access._item_attr import ATTR

    item, path = served_product
    ours = xr.open_groups(item, engine="stacasset")
    local = local_world.replica.files_root / path.lstrip("/")
    theirs = xr.open_groups(local, engine="zarr", decode_timedelta=False, decode_coords="all")
    assert sorted(ours) == sorted(theirs)
    for name, ds in ours.items():
        other = theirs[name]
        assert list(ds.variables) == list(other.variables), name
        for key, var in ds.variables.items():
            them = other.variables[key]
            assert (var.dims, var.dtype) == (them.dims, them.dtype), (name, key)
            assert {k: v for k, v in var.attrs.items() if k != ATTR} == them.attrs, (name, key)
            assert _encoding(var) == _encoding(them), (name, key)
        assert sorted(ds.xindexes) == sorted(other.xindexes), name
        xr.testing.assert_equal(ds.coords.to_dataset(), other.coords.to_dataset())


def test_product_tree_groups_are_built_once_with_their_indexes(
    local_world, served_product, monkeypatch
):
    """Each group's Dataset is built with its dimension coordinates' indexes, as
    ``xr.open_dataset`` on the group's store would give it, without the ``assign_coords`` merge
    that adds them afterwards there (a fifth of the CPU of building the 36-group tree)."""
    import xstac_access

    item, _ = served_product
    merges = []
    real = xr.Dataset.assign_coords

    def counted(self, *args, **kwargs):
        merges.append(self)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(xr.Dataset, "assign_coords", counted)
    groups = xstac_access.open_groups(item)
    assert len(groups) == 36
    assert merges == []
    r10m = groups["/measurements/reflectance/r10m"]
    assert sorted(r10m.xindexes) == ["x", "y"]
    assert r10m.indexes["x"].equals(pd.Index(r10m["x"].values))
    assert "MemoryCachedArray" in repr(type(r10m["b04"].variable._data))


def _encoding(variable: xr.Variable) -> dict:
    """A variable's encoding, comparable: NaN fill values by their repr, dtypes by value."""
    return {
        k: v if isinstance(v, np.dtype) else repr(v)
        for k, v in variable.encoding.items()
        if k != "source"
    }
