"""The peer corpus's unconsolidated Zarr stores served remotely: over HTTP (which cannot list)
their nodes are found from the names the caller, the catalogue and the nodes themselves give,
or the open is refused with a typed error; over S3 (which lists) they open fully. Never an
empty Dataset or tree. Requests are counted at the file server."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest
import xarray as xr

from xstac_access import errors

from ._realdata import peer_corpus

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")

V2 = "unconsolidated.zarr"
V3 = "zarr_store_v3.zarr"
FOLDER = "_tests_peer_zarr"


def _local(name: str, **kwargs) -> xr.Dataset:
    path = peer_corpus() / "zarr" / "titiler-multidim" / name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return xr.open_dataset(path, engine="zarr", decode_coords="all", **kwargs)


def _same(ours: xr.Dataset, theirs: xr.Dataset) -> None:
    assert set(ours.variables) == set(theirs.variables)
    for name, expected in theirs.variables.items():
        assert ours[name].dtype == expected.dtype, name
        np.testing.assert_array_equal(ours[name].values, expected.values, err_msg=name)


@pytest.fixture(scope="module")
def served(local_world):
    root = local_world.replica.files_root / FOLDER
    for name in (V2, V3):
        shutil.copytree(peer_corpus() / "zarr" / "titiler-multidim" / name, root / name)
    yield f"{local_world.endpoints.http}/{FOLDER}"
    shutil.rmtree(root)


def _log(world) -> list[str]:
    prefix = f"/{FOLDER}/"
    return [e["path"][len(prefix) :] for e in world.files.stats()["log"] if prefix in e["path"]]


@pytest.mark.parametrize(("name", "fmt"), [(V2, 2), (V3, 3)])
def test_an_unconsolidated_store_over_http_is_refused_when_nothing_names_its_members(
    local_world, files, served, name, fmt
):
    with pytest.raises(errors.FormatError) as info:
        xr.open_dataset(f"{served}/{name}", engine="stacasset")
    message = str(info.value)
    assert f"Zarr v{fmt} store at {served}/{name}" in message and "not consolidated" in message
    assert "group='<name>'" in message and "cube:variables" in message
    with pytest.raises(errors.FormatError, match="not consolidated"):
        xr.open_datatree(f"{served}/{name}", engine="stacasset")
    # per open: the root's metadata documents (.zmetadata, zarr.json, .zgroup, .zattrs, each
    # asked once), nothing else
    requests = _log(local_world)
    assert all(p.rpartition("/")[2] in (".zmetadata", ".zgroup", ".zattrs", "zarr.json")
               for p in requests), requests  # fmt: skip
    assert len(requests) <= 2 * 4, requests


def test_v2_array_by_path_finds_its_coordinates_from_its_dimensions(local_world, files, served):
    ds = xr.open_dataset(f"{served}/{V2}", engine="stacasset", group="var1")
    _same(ds, _local(V2)[["var1"]])
    assert set(ds.coords) == {"lon", "lat", "time"}
    by_href = xr.open_dataset(f"{served}/{V2}/var1", engine="stacasset")
    _same(by_href, ds)


def test_v3_store_opens_whole_from_the_assets_datacube_variables(local_world, files, served):
    expected = _local(V3)
    item = {
        "type": "Feature", "stac_version": "1.1.0", "id": "peer-v3", "geometry": None,
        "properties": {"datetime": "2020-01-01T00:00:00Z"}, "links": [],
        "assets": {"data": {
            "href": f"{served}/{V3}", "type": "application/vnd.zarr; version=3",
            "roles": ["data"], "cube:variables": {n: {} for n in expected.data_vars},
        }},
    }  # fmt: skip
    files.reset()
    ds = xr.open_dataset(item, engine="stacasset")
    requests = _log(local_world)
    _same(ds, expected)
    metadata = [p for p in requests if p.endswith("zarr.json")]
    # the root, each declared variable, and the dimensions they name: one zarr.json each; zarr
    # itself looks for the root's v2 documents once
    assert sorted(metadata) == sorted({f"{V3}/zarr.json"} | {
        f"{V3}/{n}/zarr.json" for n in expected.variables}), requests  # fmt: skip
    assert len([p for p in requests if p.endswith((".zmetadata", ".zgroup", ".zattrs"))]) <= 3
    assert len(requests) == 8 + 3 + 3  # metadata, zarr's v2 probes, index coordinate chunks
    tree = xr.open_datatree(item, engine="stacasset")
    _same(tree.to_dataset(), expected)


@pytest.mark.parametrize("name", [V2, V3])
def test_unconsolidated_stores_on_s3_open_fully_by_listing(local_world, name):
    s3 = local_world.s3
    s3.create_bucket("peer-zarr")
    s3.upload_tree(
        "peer-zarr", peer_corpus() / "zarr" / "titiler-multidim" / name, prefix=f"{name}/"
    )
    options = local_world.s3_options()
    href = f"s3://peer-zarr/{name}"
    ds = xr.open_dataset(href, engine="stacasset", storage_options=options)
    _same(ds, _local(name))
    tree = xr.open_datatree(href, engine="stacasset", storage_options=options)
    _same(tree.to_dataset(), _local(name))
