"""Real EOPF Zarr: consolidated ``.zmetadata`` of seven products and two 2025 hierarchies opened
as trees (exploded into metadata-only stores below tmp), and the real SLSTR subset's values."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from ._realdata import real_groupspec, real_path, real_zmetadata, write_groupspec

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


def explode(name: str, root: Path) -> str:
    """A metadata-only store (no chunk data) below ``root`` from a real consolidated
    ``.zmetadata``: one file per key, and the consolidated document itself."""
    metadata = real_zmetadata(name)
    store = root / f"{name}.zarr"
    for key, value in metadata.items():
        path = store / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    consolidated = {"metadata": metadata, "zarr_consolidated_format": 1}
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
    metadata = real_zmetadata(name)
    top = {k.split("/")[0] for k in metadata if "/" in k}
    assert set(tree.children) == top
    assert variable in ds.variables
    zarray = metadata[f"{group}/{variable}/.zarray"]
    assert list(ds[variable].shape) == zarray["shape"]
    assert ds[variable].encoding["chunks"] == tuple(zarray["chunks"])


def test_group_href_and_array_href_inside_a_real_product(tmp_path):
    store = explode("S02MSIL2A_20250109T100401_0000_A122_T461", tmp_path)
    group = xr.open_dataset(
        f"{store}/measurements/reflectance/r20m", engine="stacasset", reader="zarr"
    )
    assert {"b05", "b8a", "b12"} <= set(group.data_vars)
    array = xr.open_dataset(
        f"{store}/measurements/reflectance/r20m/b05", engine="stacasset", reader="zarr"
    )
    assert list(array.data_vars) == ["b05"]


def test_real_chunk_data_of_the_slstr_subset():
    import zarr

    store = real_path("zarr", "xarray-eop_S03SLSRBT_test.zarr")
    ds = xr.open_dataset(str(store), engine="stacasset", group="quality/anadir")
    raw = zarr.open_consolidated(str(store), mode="r")["quality/anadir/cloud_an"][:]
    np.testing.assert_array_equal(ds["cloud_an"].values, raw)
    assert ds["cloud_an"].shape == (24, 30)
    assert "flag_masks" in ds["cloud_an"].attrs
    assert raw.any()  # real values, not only fill values


@pytest.mark.parametrize("name", ["s1_examples", "s2_examples"])
def test_real_eopf_hierarchies_of_2025_products_open(name, tmp_path):
    import zarr

    spec = real_groupspec(name)
    store = tmp_path / f"{name}.zarr"
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
