"""The STAC item travels with the data (``attrs["stac_item"]``), whole and exact, through what
users do to the data; the footprint of an item's asset is the item's geometry; an item URL is
fetched once per open. Against the local world's servers: counts are the file server's own.
"""

from __future__ import annotations

import copy
import json
import pickle
import shutil

import numpy as np
import pytest
import xarray as xr
from conftest import eopf_product_over_http, replica_item
from shapely.geometry import shape

from xstac_access._item_attr import ATTR, REDACTED, dumps
from xstac_access.cli import main

#: What a catalogue may put in an item that a flat attribute could not hold.
RICH_PROPERTIES = {
    "nested": {"levels": [1, {"deep": True}], "none": None, "empty": {}},
    "sat:anx_datetime": "2023-10-08T17:00:00Z",
    "flag_true": True,
    "flag_false": False,
    "count": 0,
    "ratio": 0.25,
    "mixed": [1, "a", False, None],
}


def rich(item: dict) -> dict:
    """``item`` with nested properties, booleans and nulls a flat attribute would lose."""
    item = copy.deepcopy(item)
    item["properties"].update(RICH_PROPERTIES)
    return item


@pytest.fixture
def s2(local_world) -> dict:
    return rich(replica_item(local_world, "sentinel-2-l2a"))


def test_the_item_round_trips_exactly(s2):
    ds = xr.open_dataset(s2, engine="stacasset", asset="red")
    assert isinstance(ds.attrs[ATTR], str)
    assert ds.eo.stac == s2 and json.loads(ds.attrs[ATTR]) == s2
    props = ds.eo.stac["properties"]
    assert props["flag_true"] is True and props["flag_false"] is False and props["count"] == 0
    assert props["nested"] == RICH_PROPERTIES["nested"]
    assert ds["red"].attrs[ATTR] == ds.attrs[ATTR]  # on each variable, the same text
    # the readable flat attributes are derived from it (booleans as 0/1 for netCDF)
    assert ds.attrs["stac_item_id"] == s2["id"] and ds.attrs["flag_true"] == 1
    assert "nested" not in ds.attrs and "spatial_ref" not in ds.attrs
    ds.eo.stac["properties"]["flag_true"] = "changed"  # a fresh dict each time
    assert ds.eo.stac == s2


OPERATIONS = {
    "select variables": lambda ds: ds[["red"]],
    "isel": lambda ds: ds.isel(x=slice(0, 16), y=slice(0, 16)),
    "a DataArray": lambda ds: ds["red"],
    "a DataArray, isel": lambda ds: ds["red"].isel(x=slice(0, 8)),
    "arithmetic": lambda ds: ds["red"] * 2.0,
    "where": lambda ds: ds.where(ds["red"] > 0),
    "astype": lambda ds: ds.astype("float32"),
    "merge": lambda ds: xr.merge([ds[["red"]]]),
    "to_dataarray": lambda ds: ds.to_dataarray(),
    "pickle (dask workers)": lambda ds: pickle.loads(pickle.dumps(ds.chunk())),
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_the_item_survives_what_users_do(s2, operation):
    ds = xr.open_dataset(s2, engine="stacasset", asset="red")
    result = OPERATIONS[operation](ds)
    assert result.eo.stac == s2
    assert result.eo.footprint().equals(shape(s2["geometry"]))


def test_the_encoding_would_not_carry_it(s2):
    """Why an attribute and not the encoding: the encoding is dropped on the way."""
    ds = xr.open_dataset(s2, engine="stacasset", asset="red")
    for name in ("red", None):
        target = ds[name] if name else ds
        target.encoding["stac_item_probe"] = "x"
    assert "stac_item_probe" not in (ds["red"] * 2.0).encoding
    assert "stac_item_probe" not in ds.where(ds["red"] > 0)["red"].encoding
    assert "stac_item_probe" not in xr.merge([ds[["red"]]]).encoding


@pytest.mark.parametrize("writer", ["to_netcdf", "to_zarr"])
def test_the_item_survives_writing_and_plain_xarray_reopening(s2, writer, tmp_path):
    ds = xr.open_dataset(s2, engine="stacasset", asset="red").isel(x=slice(0, 32), y=slice(0, 32))
    path = tmp_path / ("out.nc" if writer == "to_netcdf" else "out.zarr")
    if writer == "to_netcdf":
        ds.to_netcdf(path, engine="h5netcdf")
        again = xr.open_dataset(path, engine="h5netcdf")
    else:
        ds.to_zarr(path)
        again = xr.open_zarr(path)
    assert again.eo.stac == s2 and again["red"].eo.stac == s2
    assert again.eo.footprint().equals(shape(s2["geometry"]))
    np.testing.assert_allclose(again["red"].values, ds["red"].values, rtol=1e-6)


def test_datatree_nodes_carry_it(local_world, s2):
    jp2 = {"earthsearch": local_world.credentials()["earthsearch"]}
    tree = xr.open_datatree(s2, engine="stacasset", credentials=jp2)  # one node per data asset
    assert tree.eo.stac == s2 and tree["red"].eo.stac == s2
    assert tree["red"].to_dataset().eo.stac == s2 and tree["red"]["red"].eo.stac == s2
    assert tree["red"].attrs["stac_asset"] == "red" and "stac_asset" not in tree.attrs
    assert tree.attrs["stac_item_id"] == s2["id"] and tree.attrs["flag_false"] == 0
    assert tree.eo.footprint().equals(shape(s2["geometry"]))


def test_a_zarr_products_groups_carry_it(local_world):
    with eopf_product_over_http(local_world, "_tests_item_attr_tree") as (item, _):
        item = rich(item)
        tree = xr.open_datatree(item, engine="stacasset")
        group = next(n for n in tree.subtree if n.data_vars)
        assert tree.eo.stac == item and group.to_dataset().eo.stac == item
        assert "stac_discovery" in tree.attrs  # the product's own item stays where it was
        assert all(ATTR in v.attrs for n in tree.subtree for v in n.data_vars.values())


def test_variables_from_different_items_are_not_mixed_up(local_world, s2):
    other = copy.deepcopy(s2)
    other["id"] = "another-item"
    red = xr.open_dataset(s2, engine="stacasset", asset="red")
    nir = xr.open_dataset(other, engine="stacasset", asset="nir")
    both = xr.Dataset({"red": red["red"], "nir": nir["nir"]})  # no Dataset attrs: ask variables
    with pytest.raises(ValueError, match=r"2 different STAC items.*another-item"):
        both.eo.stac  # noqa: B018
    assert both["nir"].eo.stac["id"] == "another-item"


def test_secrets_never_travel_with_the_item(local_world, files):
    item = replica_item(local_world, "sentinel-2-l2a")
    item["assets"]["red"]["href"] += "?se=2030&sig=SECRETSIG"
    item["assets"]["red"]["xarray:storage_options"] = {"account_name": "acct", "credential": "SAS1"}
    item["assets"]["red"]["alternate"] = {
        "s3": {"href": "s3://b/k.tif", "xarray:storage_options": {"key": "AKIA", "secret": "S3X"}}
    }
    item["links"].append({"rel": "next", "href": "https://x.test/items?token=TOKEN9"})
    ds = xr.open_dataset(item, engine="stacasset", asset="red")
    attrs = json.dumps([ds.attrs, *(v.attrs for v in ds.variables.values())], default=str)
    for secret in ("SECRETSIG", "SAS1", "AKIA", "S3X", "TOKEN9"):
        assert secret not in attrs and secret not in repr(ds)
    carried = ds.eo.stac["assets"]["red"]
    assert carried["href"] == ds.attrs["stac_href"] and carried["href"].endswith("?<redacted>")
    assert carried["xarray:storage_options"] == {"account_name": "acct", "credential": REDACTED}
    assert carried["alternate"]["s3"]["xarray:storage_options"]["secret"] == REDACTED
    assert json.loads(dumps(item))["assets"]["nir"] == item["assets"]["nir"]  # the rest as is


# -- the footprint of an item's asset is the item's geometry ----------------------------------


def assert_item_footprint(ds: xr.Dataset, item: dict) -> None:
    geometry = shape(item["geometry"])
    assert ds.eo.footprint().equals(geometry)
    for name in ds.data_vars:
        assert ds[name].eo.footprint().equals(geometry)


def test_footprint_of_a_cog_asset(s2, local_world):
    ds = xr.open_dataset(s2, engine="stacasset", asset="red")
    assert_item_footprint(ds, s2)
    bare = xr.open_dataset(s2["assets"]["red"]["href"], engine="stacasset")
    assert bare.eo.stac == {} and not bare.eo.footprint().equals(shape(s2["geometry"]))


def test_footprint_of_a_gcp_geotiff_asset(local_world):
    item = replica_item(local_world, "sentinel-1-grd")
    s3 = local_world.s3_options()
    ds = xr.open_dataset(item, engine="stacasset", asset="hh", storage_options=s3)
    assert ds.rio.get_gcps()  # a GCP-only raster: its own footprint would be the GCP border
    assert_item_footprint(ds, item)


def test_footprint_of_a_zarr_group_asset(local_world):
    with eopf_product_over_http(local_world, "_tests_item_attr_group") as (item, _):
        ds = xr.open_dataset(item, engine="stacasset", asset="SR_10m")
        assert_item_footprint(ds, item)


def test_footprint_of_a_kml_asset(local_world):
    item = replica_item(local_world, "BiomassLevel1a")
    item["geometry"]["coordinates"][0][1] = [11.31, -0.26]  # not the KML's corners any more
    ds = xr.open_dataset(item, engine="stacasset", asset="quicklook_kml")
    assert "footprint_kind" in ds.attrs
    assert_item_footprint(ds, item)


def test_an_item_without_geometry_falls_back_to_the_data(s2):
    s2["geometry"], s2["bbox"] = None, None
    ds = xr.open_dataset(s2, engine="stacasset", asset="red")
    assert ds.eo.stac["geometry"] is None
    west, south, east, north = ds.eo.footprint().bounds  # the grid's own bounds, in lon/lat
    assert west < east and south < north


# -- an item URL is fetched once per open ------------------------------------------------------


@pytest.fixture
def item_url(local_world):
    """Put an item JSON on the file server: ``(url, served path)`` for each item given."""
    folder = local_world.replica.files_root / "_tests_item_attr_urls"
    folder.mkdir(exist_ok=True)

    def put(item: dict) -> tuple[str, str]:
        (folder / f"{item['id']}.json").write_text(json.dumps(item))
        path = f"/{folder.name}/{item['id']}.json"
        return local_world.endpoints.http + path, path

    yield put
    shutil.rmtree(folder)


def test_open_datatree_of_an_item_url_gets_it_once(local_world, files, item_url, s2):
    url, path = item_url(s2)
    jp2 = {"earthsearch": local_world.credentials()["earthsearch"]}
    files.reset()
    tree = xr.open_datatree(url, engine="stacasset", credentials=jp2)  # the whole item
    assert files.requests_for(path) == 1
    assert tree.eo.stac == s2 and "red" in tree.children
    with eopf_product_over_http(local_world, "_tests_item_attr_once") as (product, _):
        url, path = item_url(product)
        files.reset()
        tree = xr.open_datatree(url, engine="stacasset")  # the product asset's tree
        assert files.requests_for(path) == 1 and tree.eo.stac == product


def test_open_dataset_of_an_item_url_gets_it_once(files, item_url, s2):
    url, path = item_url(s2)
    files.reset()
    ds = xr.open_dataset(url, engine="stacasset", asset="red")
    assert files.requests_for(path) == 1 and ds.eo.stac == s2


@pytest.mark.parametrize("command", [["info"], ["info", "--json"], ["open", "--asset", "red"]])
def test_the_cli_gets_an_item_url_once(files, item_url, s2, command, capsys):
    url, path = item_url(s2)
    files.reset()
    assert main([command[0], url, *command[1:]]) == 0
    assert files.requests_for(path) == 1
    out = capsys.readouterr().out
    if command[0] == "open":  # named above the repr, which folds long attributes away
        assert out.startswith(f"item_id {s2['id']}; collection {s2['collection']}; asset red; ")
    assert s2["id"] in out


def test_a_local_item_with_relative_hrefs_opens_as_a_tree_and_travels_absolute(
    tmp_path, gcp_geotiff
):
    """The item is read once and handed on as a dict: its relative hrefs are made absolute
    against the file it came from (it has no self link to say where that was)."""
    (tmp_path / "bands").mkdir()
    for name in ("a", "b"):
        shutil.copy(gcp_geotiff, tmp_path / "bands" / f"{name}.tif")
    item = {
        "type": "Feature", "stac_version": "1.0.0", "id": "local", "links": [],
        "geometry": {"type": "Point", "coordinates": [76.0, 11.0]}, "bbox": [76, 11, 76, 11],
        "properties": {"datetime": "2024-01-01T00:00:00Z"},
        "assets": {
            name: {"href": f"./bands/{name}.tif", "type": "image/tiff", "roles": ["data"]}
            for name in ("a", "b")
        },
    }  # fmt: skip
    path = tmp_path / "item.json"
    path.write_text(json.dumps(item))
    tree = xr.open_datatree(str(path), engine="stacasset")
    assert sorted(tree.children) == ["a", "b"]
    carried = tree["a"].to_dataset().eo.stac
    assert carried["assets"]["a"]["href"] == str(tmp_path / "bands" / "a.tif")
    assert {**carried, "assets": item["assets"]} == item  # the rest as the file has it
