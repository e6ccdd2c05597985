"""The peer corpus's broken and unsupported files (``bad/``), read in place: each gives a typed
error of :mod:`xstac_access.errors` naming the asset (its href, once) and the host, on open or
on the first read of a lazy array; never a rasterio or PIL exception."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import rasterio
import xarray as xr

from xstac_access import errors

from ._realdata import peer_corpus

BAD = {
    "MOD09GA.A2008296.h14v17.006.2015181011753.hdf": (errors.UnsupportedFormatError, "HDF4"),
    "gfs.t06z.pgrb2.10p0.f010.grib2": (errors.UnsupportedFormatError, "reader='geotiff'"),
    "issue392.jp2": (errors.FormatError, "GDAL cannot read"),
    "no_jp2c.jp2": (errors.FormatError, "GDAL cannot read"),
    "edf_c2_1178956.jp2": (errors.FormatError, "GDAL cannot read"),
    "NotImage-r0c0.png": (errors.FormatError, "not a picture"),
    "s1c-s4-grd-hh-empty.tiff": (errors.FormatError, "not a raster GDAL can read"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_broken_or_unsupported_files_are_typed_errors_on_open(name):
    kind, words = BAD[name]
    href = str(peer_corpus() / "bad" / name)
    with pytest.raises(kind, match=words) as info:
        xr.open_dataset(href, engine="stacasset")
    message = str(info.value)
    assert f"asset at {href} (host local)" in message  # the bare href's label, not repeated
    assert "(host local)" in message


def test_corrupt_tiles_fail_typed_on_read_and_leave_the_next_file_readable():
    href = str(peer_corpus() / "bad" / "corrupt.tif")
    ds = xr.open_dataset(href, engine="stacasset", chunks={})
    with pytest.raises(errors.FormatError, match="TIFFReadEncodedTile") as info:
        ds["band_1"].values  # noqa: B018
    assert f"asset at {href} (host local)" in str(info.value)
    good = str(peer_corpus() / "raster/rasterio/byte.tif")  # GDAL's stale error is forgotten
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(
            xr.open_dataset(good, engine="stacasset")["band_data"].values,
            rasterio.open(good).read(1),
        )


def test_grib_opens_through_gdal_when_asked():
    href = str(peer_corpus() / "bad" / "gfs.t06z.pgrb2.10p0.f010.grib2")
    ds = xr.open_dataset(href, engine="stacasset", reader="geotiff", mask_and_scale=False)
    with rasterio.open(href) as src:
        assert len(ds.data_vars) == src.count == 6
        np.testing.assert_array_equal(ds[list(ds.data_vars)[2]].values, src.read(3))
        assert ds.rio.transform() == src.transform


def test_kerchunk_json_is_not_an_item():
    with pytest.raises(errors.NotStacError):
        xr.open_dataset(str(peer_corpus() / "bad" / "reference.json"), engine="stacasset")
