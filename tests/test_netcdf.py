"""netCDF4/HDF5 assets over HTTP (public and bearer-protected), locally, and netCDF3 via scipy.

The test file is written into the served tree for the test and removed after; request and byte
counts come from the file server.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from xstac_access import credentials, errors

SIZE, CHUNK = 2048, 256


def write_grouped(path) -> np.ndarray:
    """An 8 MB netCDF4 file: a chunked, scaled int16 grid at the root, a time series in a group."""
    counts = np.random.default_rng(3).integers(0, 30000, (SIZE, SIZE)).astype("int16")
    attrs = {"scale_factor": 0.0001, "add_offset": -0.1, "_FillValue": np.int16(-1)}
    root = xr.Dataset(
        {"refl": (("y", "x"), counts, attrs)},
        coords={"y": np.arange(SIZE) * 10.0, "x": np.arange(SIZE) * 10.0},
        attrs={"title": "grouped test file"},
    )
    root.to_netcdf(path, engine="h5netcdf", encoding={"refl": {"chunksizes": (CHUNK, CHUNK)}})
    meteo = xr.Dataset(
        {"temp": ("time", np.arange(5.0), {"units": "K"})},
        coords={"time": pd.date_range("2025-01-01", periods=5)},
    )
    meteo.to_netcdf(path, engine="h5netcdf", mode="a", group="meteo")
    return counts


@pytest.fixture
def served(local_world):
    """The grouped file under a public and a bearer-protected prefix: (paths, counts, size)."""
    credentials.reset()
    roots = [
        local_world.replica.files_root / "_tests_netcdf",
        local_world.replica.files_root / "maap" / "data" / "_tests_netcdf",
    ]
    for root in roots:
        root.mkdir(exist_ok=True)
        counts = write_grouped(root / "grouped.nc")
    local_world.files.reset()
    yield (
        ["/_tests_netcdf/grouped.nc", "/maap/data/_tests_netcdf/grouped.nc"],
        counts,
        (roots[0] / "grouped.nc").stat().st_size,
    )
    for root in roots:
        (root / "grouped.nc").unlink()
        root.rmdir()


def test_public_file_opens_with_few_requests_and_reads_only_its_chunks(local_world, served):
    (path, _), counts, size = served
    href = f"{local_world.endpoints.http}{path}?sig=secret"
    ds = xr.open_dataset(href, engine="stacasset")
    files = local_world.files
    assert files.requests_for(path) <= 5 and files.bytes_for(path) < size / 10
    assert ds["refl"].dtype == np.float64 and ds.attrs["title"] == "grouped test file"
    assert ds["refl"].encoding["source"] == ds.encoding["source"]
    assert "secret" not in ds.encoding["source"] and "sig=" not in ds.attrs["stac_href"]
    files.reset()
    window = ds["refl"][300:400, 600:700].values  # inside one 256 x 256 chunk
    expected = counts[300:400, 600:700] * 0.0001 - 0.1
    np.testing.assert_allclose(window, expected, rtol=1e-6)
    assert files.bytes_for(path) <= 2 * CHUNK * CHUNK * 2 + 262144, files.bytes_for(path)
    assert files.requests_for(path) <= 3


def test_group_and_tree_decode_times(local_world, served):
    (path, _), _, _ = served
    href = local_world.endpoints.http + path
    meteo = xr.open_dataset(href, engine="stacasset", group="meteo")
    assert meteo["time"].dtype.kind == "M" and meteo["temp"].attrs["units"] == "K"
    np.testing.assert_array_equal(meteo["temp"].values, np.arange(5.0))
    tree = xr.open_datatree(href, engine="stacasset")
    assert set(tree.children) == {"meteo"} and "refl" in tree.dataset
    assert tree.attrs["stac_href"] == href
    assert tree["meteo"]["temp"].encoding["source"] == href
    with pytest.raises(errors.AssetKeyError, match="its groups are: meteo"):
        xr.open_dataset(href, engine="stacasset", group="nope")


def test_protected_file_needs_and_uses_the_bearer(local_world, served):
    (_, path), counts, _ = served
    href = local_world.endpoints.http + path
    with pytest.raises(errors.AuthError):
        xr.open_dataset(href, engine="stacasset")
    ds = xr.open_dataset(
        href, engine="stacasset", credentials={"maap": local_world.credentials()["maap"]}
    )
    np.testing.assert_allclose(ds["refl"][0, :5].values, counts[0, :5] * 0.0001 - 0.1)
    log = [e for e in local_world.files.stats()["log"] if e["path"] == path]
    assert log[-1]["authorization"] and log[-1]["status"] == 206


def test_local_netcdf4_and_netcdf3_files(tmp_path):
    nc4 = tmp_path / "grouped.nc"
    counts = write_grouped(nc4)
    ds = xr.open_dataset(str(nc4), engine="stacasset", mask_and_scale=False)
    assert ds["refl"].dtype == np.int16
    np.testing.assert_array_equal(ds["refl"][:3, :3].values, counts[:3, :3])
    assert ds.encoding["source"] == str(nc4)
    classic = tmp_path / "classic.nc"
    xr.Dataset({"v": ("t", np.arange(4, dtype="float32"))}).to_netcdf(
        classic, engine="scipy", format="NETCDF3_CLASSIC"
    )
    assert classic.read_bytes()[:4] == b"CDF\x01"
    old = xr.open_dataset(str(classic), engine="stacasset", reader="netcdf")
    np.testing.assert_array_equal(old["v"].values, np.arange(4))
    bogus = tmp_path / "bogus.nc"
    bogus.write_bytes(b"GIF89a" + bytes(100))
    with pytest.raises(errors.FormatError, match="is not netCDF/HDF5"):
        xr.open_dataset(str(bogus), engine="stacasset")
