"""xarray's decoder arguments through the engine, with xarray's meanings, for netCDF and Zarr.

Each file is written here, then opened with ``engine="stacasset"`` and with xarray's own engine
with the same arguments: the variables (which are coordinates, dtypes, values, attrs) agree.
The Zarr reader's own defaults (durations as numbers, ``decode_coords="all"``) are given to
xarray too, so that only the argument under test differs from a default.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

DEFAULTS = {"zarr": {"decode_timedelta": False, "decode_coords": "all"}, "h5netcdf": {}}
CASES = [
    {"decode_times": False},
    {"decode_timedelta": True},
    {"decode_coords": False},
    {"decode_coords": "coordinates"},
    {"mask_and_scale": False},
    {"concat_characters": False},
    {"use_cftime": False},
    {"decode_times": False, "mask_and_scale": False, "decode_coords": False},
]


def _sample() -> xr.Dataset:
    counts = np.arange(12, dtype="float32").reshape(3, 4) * 0.5 + 1.0
    counts[0, 0] = np.nan
    return xr.Dataset(
        {
            "refl": (("time", "x"), counts[:, :], {"grid_mapping": "crs", "units": "1"}),
            "wait": ("time", np.array([1, 2, 3], "int64"), {"units": "seconds"}),
            "crs": ((), np.int32(0), {"grid_mapping_name": "latitude_longitude"}),
            "label": (("time", "nchar"), np.array([list("ab"), list("cd"), list("ef")], "S1")),
        },
        coords={"time": pd.date_range("2025-01-01", periods=3), "x": np.arange(4.0)},
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("decoders")
    ds = _sample()
    scaled = {"dtype": "int16", "scale_factor": 0.5, "add_offset": 1.0, "_FillValue": np.int16(-1)}
    encoding = {"refl": scaled}
    ds.to_netcdf(root / "sample.nc", engine="h5netcdf", encoding=encoding)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zarr's notes on v3 string dtypes
        ds.to_zarr(root / "sample.zarr", encoding=encoding, consolidated=True, zarr_format=2)
    return {"h5netcdf": str(root / "sample.nc"), "zarr": str(root / "sample.zarr")}


def _same(ours: xr.Dataset, theirs: xr.Dataset) -> None:
    assert set(ours.variables) == set(theirs.variables)
    assert set(ours.coords) == set(theirs.coords)
    for name, expected in theirs.variables.items():
        got = ours[name].variable
        assert got.dtype == expected.dtype, name
        assert got.dims == expected.dims, name
        np.testing.assert_array_equal(got.values, expected.values, err_msg=name)
        attrs = {k: v for k, v in got.attrs.items() if not k.startswith("stac")}
        np.testing.assert_equal(attrs, dict(expected.attrs), err_msg=name)  # NaN == NaN


@pytest.mark.parametrize("engine", ["h5netcdf", "zarr"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_decoder_arguments_mean_what_they_mean_in_xarray(files, engine, case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = xr.open_dataset(files[engine], engine=engine, **{**DEFAULTS[engine], **case})
        ours = xr.open_dataset(files[engine], engine="stacasset", **case)
        _same(ours, theirs)
        tree = xr.open_datatree(files[engine], engine="stacasset", **case)
        _same(tree.to_dataset(), theirs)


@pytest.mark.parametrize("engine", ["h5netcdf", "zarr"])
def test_decode_cf_false_turns_every_decoder_off(files, engine):
    theirs = xr.open_dataset(files[engine], engine=engine, decode_cf=False)
    ours = xr.open_dataset(files[engine], engine="stacasset", decode_cf=False)
    _same(ours, theirs)
    assert ours["refl"].dtype == np.int16 and ours["time"].dtype == np.int64
    _same(xr.open_datatree(files[engine], engine="stacasset", decode_cf=False).to_dataset(), theirs)
