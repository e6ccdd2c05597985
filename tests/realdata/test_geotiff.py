"""The GeoTIFF reader on the real GCP GeoTIFFs (Sentinel-1 GRD COGs, a CInt16 SLC crop, a
full-size sparse SLC measurement), read in place."""

from __future__ import annotations

import dask
import numpy as np
import pytest
import rasterio
import xarray as xr

import xstac_access  # noqa: F401  (the engine is registered by entry point; import for parity)
from xstac_access import errors

from ._realdata import real_path

GRD = "riotiler_cog_gcps_s1_grd.tif"
GRD_OVR = "riotiler_cog_gcps_ovr.tif"
SLC_CROP = "rioxarray_cint16_s1_slc_crop_gcps.tif"
SLC_FULL = "sarsen_s1a-iw1-slc-vv-20220104t170558-20220104t170623-041314-04e951-004.tiff"


def open_tiff(name: str, **kwargs) -> xr.Dataset:
    return xr.open_dataset(str(real_path("tiff", name)), engine="stacasset", **kwargs)


def test_gcp_cog_opens_lazily_with_its_gcps():
    ds = open_tiff(GRD)
    assert dict(ds.sizes) == {"y": 837, "x": 1280}
    assert list(ds.data_vars) == ["band_data"]
    assert ds["band_data"].dtype == np.uint16
    assert "x" not in ds.coords and "y" not in ds.coords  # GCP-only: no regular grid
    gcps = ds.rio.get_gcps()
    assert len(gcps) == 210
    assert ds.rio.crs.to_epsg() == 4326
    with rasterio.open(real_path("tiff", GRD)) as src:
        expected = src.read(1, window=((100, 200), (300, 420)))
        first = src.gcps[0][0]
    assert gcps[0].x == pytest.approx(first.x) and gcps[0].row == first.row
    np.testing.assert_array_equal(ds["band_data"][100:200, 300:420].values, expected)
    assert ds["band_data"].encoding["preferred_chunks"] == {"y": 512, "x": 512}
    assert ds["band_data"].encoding["overviews"] == [2, 4, 8]


def test_overview_level_reads_the_overview_and_rescales_gcps():
    ds = open_tiff(GRD, overview_level=1)  # factor 4
    assert dict(ds.sizes) == {"y": 210, "x": 320}
    full = open_tiff(GRD).rio.get_gcps()
    ovr = ds.rio.get_gcps()
    assert ovr[5].col == pytest.approx(full[5].col / 4)
    assert ovr[5].x == pytest.approx(full[5].x)


def test_tile_aligned_dask_chunks():
    ds = open_tiff(GRD, chunks={})
    assert ds["band_data"].chunks == ((512, 325), (512, 512, 256))
    assert dask.is_dask_collection(ds["band_data"])


def test_nodata_masks_by_default_and_is_kept_as_attr_when_asked():
    masked = open_tiff(GRD_OVR)["band_data"]  # the file declares nodata=0
    raw = open_tiff(GRD_OVR, mask_and_scale=False)["band_data"]
    assert raw.dtype == np.uint8 and raw.attrs["nodata"] == 0
    assert masked.dtype.kind == "f" and masked.encoding["_FillValue"] == 0
    np.testing.assert_array_equal(masked.values, raw.values.astype(masked.dtype))


def test_complex_slc_crop():
    ds = open_tiff(SLC_CROP)
    assert ds["band_data"].dtype == np.complex64
    with rasterio.open(real_path("tiff", SLC_CROP)) as src:
        np.testing.assert_array_equal(ds["band_data"].values, src.read(1))
    assert ds["band_data"].attrs["nodata"] == 0  # complex: kept as an attribute, not masked
    rows = [g.row for g in ds.rio.get_gcps()]
    assert min(rows) < 0 and max(rows) > 100  # GCPs outside the image are kept


def test_full_size_sparse_slc_is_never_read_whole():
    ds = open_tiff(SLC_FULL, chunks={})
    da = ds["band_data"]
    assert da.shape == (13509, 22694) and da.dtype == np.complex64
    assert da.chunks[0][0] == 256
    window = da[5000:5010, 7000:7010].values
    assert window.shape == (10, 10) and not window.any()
    assert len(ds.rio.get_gcps()) == 210


def test_a_stride_of_the_full_size_slc_allocates_what_it_keeps_not_the_window():
    """GDAL's decimated read: ``[:1024:16, ::16]`` allocates its 64 x 1419 values (0.7 MB),
    where reading the window to stride it would allocate 1024 x 22694 (186 MB)."""
    import tracemalloc

    da = open_tiff(SLC_FULL)["band_data"]
    tracemalloc.start()
    try:
        strided = da[:1024:16, ::16].values
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert strided.shape == (64, 1419) and not strided.any()
    assert peak < 8e6, peak


def test_open_datatree_on_a_single_raster_gives_a_one_node_tree():
    path = str(real_path("tiff", GRD_OVR))
    tree = xr.open_datatree(path, engine="stacasset", chunks={}, overview_level=0)
    assert tree.children == {}
    band = tree.dataset["band_data"]
    assert band.shape == (418, 640)  # GDAL's first overview of 837 x 1280
    assert band.chunks == ((256, 162), (256, 256, 128))


def test_a_truncated_copy_is_a_format_error(tmp_path):
    whole = real_path("tiff", GRD).read_bytes()
    cut = tmp_path / "cut.tif"
    cut.write_bytes(whole[: len(whole) // 3])
    with pytest.raises(errors.FormatError, match=r"cut\.tif"):
        xr.open_dataset(str(cut), engine="stacasset")["band_data"].values  # noqa: B018
