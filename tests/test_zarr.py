"""EOPF Zarr: real product metadata opened as trees, replica products over HTTP and S3."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import xarray as xr
from conftest import DATA, GROUPSPEC, eopf_product_over_http, load_item, write_groupspec

from xstac_access import errors

ZMETADATA = DATA / "zarr" / "zmetadata"
PRODUCTS = {
    "S02MSIL2A_20250109T100401_0000_A122_T461": ("measurements/reflectance/r10m", "b02"),
    "S02MSIL1C_20240428T102559_0000_B108_T853": ("measurements/reflectance/r10m", "b02"),
    "S01SIWOCN_20250321T063156_0024_a052_T356": (
        "owi/S01SIWOCN_20250321T063156_0025_A334_2479_0738CE_VV/measurements", "wind_speed"),
    "S01SIWGRH_20250319T002519_0024_a019_T651": (
        "S01SIWGRD_20250319T002519_0025_A334_ABA5_07377B_VH/conditions/gcp", "latitude"),
    "S03OLCLFR_20250416T063751_0180_B248_T378": ("measurements", "gifapar"),
    "S03OLCEFR_20250416T063751_0180_B248_T853": ("measurements", "oa01_radiance"),
    "S03SLSLST_20250428T075538_0180_B035_T196": ("measurements", "lst"),
}  # fmt: skip


def explode(name: str, root) -> str:
    """A metadata-only store from a real consolidated ``.zmetadata`` (no chunk data)."""
    consolidated = json.loads((ZMETADATA / f"{name}.zmetadata.json").read_text())
    store = root / f"{name}.zarr"
    for key, value in consolidated["metadata"].items():
        path = store / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    (store / ".zmetadata").write_text(json.dumps(consolidated))
    return str(store)


@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_real_eopf_product_metadata_opens_with_its_groups_and_variables(name, tmp_path):
    store = explode(name, tmp_path)
    group, variable = PRODUCTS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = xr.open_datatree(store, engine="stacasset")
        ds = xr.open_dataset(store, engine="stacasset", group=group)
    metadata = json.loads((ZMETADATA / f"{name}.zmetadata.json").read_text())["metadata"]
    top = {k.split("/")[0] for k in metadata if "/" in k}
    assert set(tree.children) == top
    assert variable in ds.variables
    zarray = metadata[f"{group}/{variable}/.zarray"]
    assert list(ds[variable].shape) == zarray["shape"]
    assert ds[variable].encoding["chunks"] == tuple(zarray["chunks"])


def test_group_href_and_array_href_inside_a_local_product(tmp_path):
    store = explode("S02MSIL2A_20250109T100401_0000_A122_T461", tmp_path)
    group = xr.open_dataset(
        f"{store}/measurements/reflectance/r20m", engine="stacasset", reader="zarr"
    )
    assert {"b05", "b8a", "b12"} <= set(group.data_vars)
    array = xr.open_dataset(
        f"{store}/measurements/reflectance/r20m/b05", engine="stacasset", reader="zarr"
    )
    assert list(array.data_vars) == ["b05"]


def test_real_chunk_data_of_the_slstr_subset(data_dir):
    store = data_dir / "zarr" / "xarray-eop_S03SLSRBT_test.zarr"
    ds = xr.open_dataset(str(store), engine="stacasset", group="quality/anadir")
    import zarr

    raw = zarr.open_consolidated(str(store), mode="r")["quality/anadir/cloud_an"][:]
    np.testing.assert_array_equal(ds["cloud_an"].values, raw)
    assert ds["cloud_an"].shape == (24, 30)
    assert "flag_masks" in ds["cloud_an"].attrs


def test_a_corrupt_zarr_json_is_a_typed_error_naming_the_asset(tmp_path):
    store = tmp_path / "geozarr.zarr"
    store.mkdir()
    (store / "zarr.json").write_text('{"zarr_format": 3, "node_type": "gro')
    item = load_item("eopf_explorer_geozarr_sentinel-2-l2a-staging")
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


@pytest.mark.parametrize("name", ["s1_examples", "s2_examples"])
def test_real_eopf_hierarchies_of_2025_products_open(name, tmp_path):
    import zarr

    (source,) = GROUPSPEC.glob(f"{name}__*.json")
    spec = json.loads(source.read_text())
    store = tmp_path / (source.stem.split("__")[1] + ".zarr")
    write_groupspec(spec, store)
    zarr.consolidate_metadata(str(store))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = xr.open_datatree(str(store), engine="stacasset")
    assert set(tree.children) == set(spec["members"])
    if name == "s1_examples":  # GRD: the GCP grid arrays of each polarisation
        (pol,) = [m for m in spec["members"] if m.endswith("_VH")]
        gcp = tree[f"{pol}/conditions/gcp"].dataset
        assert {"latitude", "longitude", "height"} <= set(gcp.variables)
    else:
        assert "stac_discovery" in tree.attrs
