"""GeoZarr (Zarr v3, ``multiscales``): the real EOPF Explorer hierarchy of product T32TQM
(metadata only, written below tmp) opened through its real Explorer item."""

from __future__ import annotations

import pytest
import xarray as xr

from xstac_access import errors

from ._realdata import real_groupspec, real_item, write_groupspec

LEVELS = ["r10m", "r20m", "r60m", "r120m", "r360m", "r720m"]
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # zarr's v3 string dtype notes


@pytest.fixture(scope="module")
def real_hierarchy(tmp_path_factory):
    """The published GeoZarr metadata of product T32TQM (no chunks) and its Explorer item."""
    root = tmp_path_factory.mktemp("geozarr")
    store = root / "S2A_MSIL2A_20251008T100041_N0511_R122_T32TQM_20251008T122613.zarr"
    write_groupspec(real_groupspec("optimized_geozarr_examples"), store)
    item = real_item("eopf_explorer_geozarr_sentinel-2-l2a_S2A_MSIL2A_20251008T100041")
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
