"""The ``stacasset`` engine keeps xarray's conventions for backends.

``xr.open_groups`` gives the groups ``xr.open_datatree`` makes its tree of (same keys, variables
and values, with the same requests), also when they do not nest as a tree; and a keyword the
engine does not take is a ``TypeError`` naming those it takes, as xarray's own backends raise
for theirs, before anything is read.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from conftest import eopf_product_over_http, offline_item

import xstac_access
from xstac_access import errors
from xstac_access._engine import DATASET_KEYWORDS, GROUPS_KEYWORDS
from xstac_access._plugin import StacAssetBackendEntrypoint
from xstac_access.cli import main
from xstac_access.testing.replica import earthsearch


def requests_under(world, prefix: str) -> list[str]:
    """The paths the file server was asked for under ``prefix``, in order."""
    return [e["path"] for e in world.files.stats()["log"] if e["path"].startswith(prefix)]


def assert_groups_are_the_trees_nodes(groups: dict, tree: xr.DataTree, values: bool) -> None:
    """Same paths, and in each the same variables (names, dimensions, types, attributes) and
    indexes; with ``values``, the same values too (the first two along each dimension)."""
    assert sorted(groups) == sorted(node.path for node in tree.subtree)
    for path, ds in groups.items():
        node = tree[path].to_dataset(inherit=False)
        if values:
            window = {dim: slice(0, 2) for dim in ds.dims}
            xr.testing.assert_identical(ds.isel(window), node.isel(window))
            continue
        assert ds.attrs == node.attrs and ds.xindexes.keys() == node.xindexes.keys()
        assert {k: (v.dims, v.dtype, v.attrs) for k, v in ds.variables.items()} == {
            k: (v.dims, v.dtype, v.attrs) for k, v in node.variables.items()
        }
        for name in ds.xindexes:
            np.testing.assert_array_equal(ds[name].values, node[name].values)


def write_nested(path) -> None:
    """A small netCDF4 file: a grid at the root, a group ``meteo`` and one below it."""
    xr.Dataset(
        {"refl": (("y", "x"), np.arange(12, dtype="int16").reshape(3, 4))},
        coords={"y": [10.0, 20.0, 30.0], "x": [1.0, 2.0, 3.0, 4.0]},
        attrs={"title": "nested"},
    ).to_netcdf(path, engine="h5netcdf")
    xr.Dataset({"temp": ("t", [280.0, 281.5])}, coords={"t": [0, 1]}).to_netcdf(
        path, engine="h5netcdf", mode="a", group="meteo"
    )
    xr.Dataset({"wind": ("t", [3.0, 4.0])}).to_netcdf(
        path, engine="h5netcdf", mode="a", group="meteo/hourly"
    )


@pytest.fixture(scope="module")
def served_product(local_world):
    with eopf_product_over_http(local_world, "_tests_conventions_zarr") as served:
        yield served


@pytest.fixture
def served_netcdf(local_world):
    """The nested file under the file server: (its href, its served path)."""
    folder = local_world.replica.files_root / "_tests_conventions_nc"
    folder.mkdir(exist_ok=True)
    write_nested(folder / "nested.nc")
    yield f"{local_world.endpoints.http}/{folder.name}/nested.nc", f"/{folder.name}/nested.nc"
    (folder / "nested.nc").unlink()
    folder.rmdir()


def test_open_groups_of_an_eopf_product_are_the_trees_nodes_read_with_the_same_requests(
    local_world, served_product
):
    item, path = served_product
    local_world.files.reset()
    groups = xr.open_groups(item, engine="stacasset")
    asked_by_groups = requests_under(local_world, path)
    local_world.files.reset()
    tree = xr.open_datatree(item, engine="stacasset")
    asked_by_tree = requests_under(local_world, path)
    assert sorted(asked_by_groups) == sorted(asked_by_tree)
    assert asked_by_groups.count(f"{path}/.zmetadata") == 1
    assert {"/", "/measurements/reflectance/r10m", "/quality"} <= set(groups)
    assert groups["/"].attrs["stac_asset"] == "product"
    assert groups["/measurements/reflectance/r10m"]["b04"].attrs["stac_item"]
    assert_groups_are_the_trees_nodes(groups, tree, values=False)
    r10m = "/measurements/reflectance/r10m"
    np.testing.assert_array_equal(groups[r10m]["b04"][:4, :4], tree[r10m]["b04"][:4, :4])
    chosen = xr.open_groups(item, engine="stacasset", assets=["SR_10m"])  # not the product
    assert list(chosen) == ["/", "/SR_10m"] and "b04" in chosen["/SR_10m"]


@pytest.mark.parametrize("where", ["local", "http"])
def test_open_groups_of_a_nested_netcdf_are_the_trees_nodes(local_world, served_netcdf, where):
    href, path = served_netcdf
    if where == "local":
        href = str(local_world.replica.files_root / path.lstrip("/"))
    local_world.files.reset()
    groups = xr.open_groups(href, engine="stacasset")
    asked_by_groups = requests_under(local_world, path)
    local_world.files.reset()
    tree = xr.open_datatree(href, engine="stacasset")
    assert requests_under(local_world, path) == asked_by_groups
    assert bool(asked_by_groups) == (where == "http")
    assert list(groups) == ["/", "/meteo", "/meteo/hourly"]
    assert_groups_are_the_trees_nodes(groups, tree, values=True)
    np.testing.assert_array_equal(groups["/meteo/hourly"]["wind"].values, [3.0, 4.0])
    assert groups["/"].attrs["title"] == "nested" and groups["/"].attrs["stac_href"] == href
    below = xr.open_groups(href, engine="stacasset", group="meteo")
    assert list(below) == ["/", "/hourly"] and list(below["/"].data_vars) == ["temp"]
    assert list(xr.open_datatree(href, engine="stacasset", group="meteo").children) == ["hourly"]
    kept = xr.open_groups(href, engine="stacasset", drop_variables="refl")  # one name, as xarray
    assert "refl" not in kept["/"] and "temp" in kept["/meteo"]


def test_groups_that_do_not_nest_open_as_groups_but_not_as_a_tree(tmp_path):
    path = tmp_path / "unaligned.nc"
    xr.Dataset({"a": ("x", [1, 2, 3])}).to_netcdf(path, engine="h5netcdf")
    xr.Dataset({"b": ("x", [1, 2, 3, 4])}).to_netcdf(path, engine="h5netcdf", mode="a", group="g")
    groups = xr.open_groups(str(path), engine="stacasset")
    assert groups["/"].sizes["x"] == 3 and groups["/g"].sizes["x"] == 4
    with pytest.raises(errors.FormatError, match=r"do not nest as a DataTree.*xr\.open_groups"):
        xr.open_datatree(str(path), engine="stacasset")


def test_a_whole_item_opens_as_groups_one_per_data_asset(tmp_path):
    item = offline_item(earthsearch, "sentinel-2-l2a")
    paths = {}
    for key, value in (("red", 1.0), ("nir", 2.0)):
        paths[key] = tmp_path / f"{key}.nc"
        xr.Dataset({key: ("x", [value])}).to_netcdf(paths[key], engine="h5netcdf")
    item["assets"] = {
        key: {"href": str(p), "type": "application/x-netcdf", "roles": ["data"]}
        for key, p in paths.items()
    }
    groups = xr.open_groups(item, engine="stacasset", assets=["red", "nir"])
    assert list(groups) == ["/", "/red", "/nir"]
    assert groups["/red"].attrs["stac_asset"] == "red" and groups["/"].attrs["stac_item_id"]
    tree = xr.open_datatree(item, engine="stacasset")
    assert_groups_are_the_trees_nodes(groups, tree, values=True)


def test_a_misspelt_keyword_is_a_type_error_naming_the_one_meant_before_any_read(tmp_path):
    missing = str(tmp_path / "never-read.tif")  # nothing is opened: it need not exist
    with pytest.raises(TypeError, match=r"overveiw_level= \(did you mean overview_level=\?\)"):
        xr.open_dataset(missing, engine="stacasset", overveiw_level=1)
    with pytest.raises(TypeError, match=r"grup= \(did you mean group=\?\)") as groups:
        xr.open_groups(missing, engine="stacasset", grup="a")
    assert "open_groups()" in str(groups.value)
    with pytest.raises(TypeError, match=r"open_datatree\(\) .* typo_kw=;") as tree:
        xr.open_datatree(missing, engine="stacasset", typo_kw=1)
    assert "asset=, reader=" in str(tree.value) and "include_previews=" in str(tree.value)
    with pytest.raises(TypeError, match=r"chunks= is xarray's"):
        xstac_access.open_dataset(missing, chunks={})
    with pytest.raises(TypeError, match=r"include_preview= \(did you mean include_previews=\?\)"):
        xstac_access.open_datatree(missing, include_preview=True)


def test_a_keyword_of_another_reader_is_a_type_error_saying_whose_it_is(tmp_path, capsys):
    path = tmp_path / "nested.nc"
    write_nested(path)
    with pytest.raises(errors.KeywordError) as refused:  # an XStacError the CLI reports
        xr.open_dataset(str(path), engine="stacasset", overview_level=1)
    assert isinstance(refused.value, TypeError)
    assert main(["open", str(path), "--member", "*.tif"]) == 2
    assert "member= is for zip assets" in capsys.readouterr().err
    with pytest.raises(TypeError, match=r"netcdf reader, which takes group=, phony_dims=.*"
                       r"member= is for zip assets"):  # fmt: skip
        xr.open_dataset(str(path), engine="stacasset", member="*.tif")
    with pytest.raises(TypeError, match=r"bands= is for many items"):
        xr.open_dataset(str(path), engine="stacasset", bands="red")
    with pytest.raises(TypeError, match=r"assets= is for a whole item opened as a tree"):
        xr.open_datatree(str(path), engine="stacasset", assets=["red"])


def test_a_zarr_tree_under_a_group_and_without_overview_level(tmp_path):
    from test_zarr import write_eopf_like_store

    store, _ = write_eopf_like_store(tmp_path)
    below = xr.open_groups(store, engine="stacasset", group="measurements")
    assert list(below) == ["/", "/reflectance", "/reflectance/r20m"]
    assert set(below["/reflectance/r20m"].data_vars) == {"b05", "b8a", "b12"}
    with pytest.raises(TypeError, match=r"as groups, .*overview_level= is for open_dataset"):
        xr.open_datatree(store, engine="stacasset", overview_level=0)
    with pytest.raises(errors.FormatError, match="no GeoZarr multiscales layout"):
        xr.open_dataset(store, engine="stacasset", overview_level=0)  # taken, and explained


def test_the_engine_declares_every_keyword_it_takes_to_xarray():
    declared = set(StacAssetBackendEntrypoint.open_dataset_parameters)
    # decode_cf is xarray's to apply: it turns the declared decoders off
    assert declared == {"filename_or_obj", *DATASET_KEYWORDS} - {"decode_cf"}
    assert {"decode_times", "decode_coords", "use_cftime", "decode_timedelta",
            "concat_characters", "mask_and_scale", "phony_dims"} <= declared  # fmt: skip
    assert set(GROUPS_KEYWORDS) - set(DATASET_KEYWORDS) == {"assets", "include_previews"}


def test_load_refuses_what_odc_stac_would_silently_ignore():
    with pytest.raises(TypeError, match=r"load\(\) .*resoltion= \(did you mean resolution=\?\)"):
        xstac_access.load([], resoltion=10)
    with pytest.raises(TypeError, match=r"driver=;"):  # ours reads through the broker
        xstac_access.load([], driver=object())
    with pytest.raises(errors.ResolveError, match="got no items"):  # odc-stac's own: let through
        xstac_access.load([], resampling="nearest", nodata=0, output_crs="EPSG:4326")
