"""A lazy read that fails inside a dependency (aiohttp/fsspec under zarr, h5py under h5netcdf)
reaches the user as a typed error naming the asset and host, not as the dependency's own
exception. The files are written here and served; the file server fails their chunks."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest
import xarray as xr

from xstac_access import errors

FOLDER = "_tests_lazy_failures"
SIZE, CHUNK = 512, 128


@pytest.fixture(scope="module")
def served(local_world):
    root = local_world.replica.files_root / FOLDER
    root.mkdir()
    values = np.random.default_rng(5).random((SIZE, SIZE)).astype("float32")
    ds = xr.Dataset(
        {"v": (("y", "x"), values)}, coords={"y": np.arange(SIZE), "x": np.arange(SIZE)}
    )
    chunks = {"v": {"chunksizes": (CHUNK, CHUNK)}}
    ds.to_netcdf(root / "grid.nc", engine="h5netcdf", encoding=chunks)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.to_zarr(root / "grid.zarr", encoding={"v": {"chunks": (CHUNK, CHUNK)}}, zarr_format=2)
    yield f"{local_world.endpoints.http}/{FOLDER}", values
    shutil.rmtree(root)


@pytest.mark.parametrize("name", ["grid.zarr", "grid.nc"])
@pytest.mark.parametrize("chunks", [None, {}], ids=["numpy", "dask"])
def test_a_failing_chunk_is_a_typed_error_naming_the_asset(
    local_world, files, served, name, chunks
):
    base, values = served
    item = {
        "type": "Feature", "stac_version": "1.1.0", "id": "lazy", "geometry": None,
        "properties": {"datetime": "2025-01-01T00:00:00Z"}, "links": [],
        "assets": {"grid": {"href": f"{base}/{name}", "roles": ["data"]}},
    }  # fmt: skip
    ds = xr.open_dataset(item, engine="stacasset", asset="grid", chunks=chunks)
    np.testing.assert_array_equal(ds["v"][:CHUNK, :CHUNK].values, values[:CHUNK, :CHUNK])
    faulty = f"/{FOLDER}/{name}/v/*" if name.endswith(".zarr") else f"/{FOLDER}/{name}"
    files.set_faults([{"path": faulty, "status": 500}])
    host = base.split("://")[1].split("/")[0]
    with pytest.raises(errors.AccessError) as info:
        ds["v"][-CHUNK:, -CHUNK:].values  # noqa: B018  (a lazy read, now)
    message = str(info.value)
    assert "asset 'grid' of item 'lazy'" in message and host in message
    assert "variable 'v'" in message and info.value.host == host
    files.clear_faults()
    np.testing.assert_array_equal(ds["v"][-CHUNK:, -CHUNK:].values, values[-CHUNK:, -CHUNK:])
