"""GDAL rasters other projects wrote (the peer corpus, read in place): what the GeoTIFF reader
makes of their georeferencing, nodata, RPCs, masks, colour tables and alpha bands, each checked
against rasterio reading the same file."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import rasterio
import xarray as xr
from rasterio.rpc import RPC

from xstac_access.readers.geotiff import NodataWarning

from ._realdata import peer_corpus


def peer(path: str) -> str:
    return str(peer_corpus() / path)


def open_peer(path: str, **kwargs) -> xr.Dataset:
    return xr.open_dataset(peer(path), engine="stacasset", **kwargs)


def item_with(path: str, **asset) -> dict:
    """A minimal STAC item whose one asset ``data`` is the peer file ``path``."""
    return {
        "type": "Feature", "stac_version": "1.0.0", "id": "peer-item", "geometry": None,
        "properties": {"datetime": "2020-01-01T00:00:00Z"}, "links": [],
        "assets": {"data": {"href": peer(path), "type": "image/tiff; application=geotiff",
                            "roles": ["data"], **asset}},
    }  # fmt: skip


@pytest.mark.parametrize("mask_and_scale", [True, False])
def test_item_nodata_that_cannot_occur_masks_nothing_and_says_so(mask_and_scale):
    item = item_with("raster/rasterio/byte.tif", **{"raster:bands": [{"nodata": -1}]})
    with pytest.warns(NodataWarning, match=r"asset 'data' of item 'peer-item'.*-1.*uint8"):
        ds = xr.open_dataset(item, engine="stacasset", mask_and_scale=mask_and_scale)
    da = ds["data"]
    assert da.dtype == np.uint8 and da.rio.nodata is None
    with rasterio.open(peer("raster/rasterio/byte.tif")) as src:
        np.testing.assert_array_equal(da.values, src.read(1))


def test_stac_nodata_words_and_in_range_values_mask_as_before():
    item = item_with("raster/rasterio/float_nan.tif", **{"raster:bands": [{"nodata": "nan"}]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", NodataWarning)
        da = xr.open_dataset(item, engine="stacasset")["data"]
    assert np.isnan(da.rio.nodata) and np.isnan(da.rio.encoded_nodata)


@pytest.mark.parametrize("path", ["raster/rasterio/float_nan.tif"])
def test_nan_nodata_is_kept(path):
    da = open_peer(path)["band_data"]
    raw = open_peer(path, mask_and_scale=False)["band_data"]
    with rasterio.open(peer(path)) as src:
        assert np.isnan(src.nodata)
        np.testing.assert_array_equal(da.values, src.read(1))
    assert np.isnan(da.rio.nodata) and np.isnan(da.rio.encoded_nodata)
    assert np.isnan(raw.rio.nodata)


@pytest.mark.parametrize(
    "path", ["raster/rasterio/rotated.tif", "raster/rioxarray/2d_test.tif",
             "raster/rasterio/float_nan.tif"],
)  # fmt: skip
def test_affine_kept_with_rotation_and_without_a_crs(path):
    ds = open_peer(path)
    with rasterio.open(peer(path)) as src:
        assert ds.rio.transform() == src.transform
        assert ds.rio.crs == src.crs


@pytest.mark.parametrize(
    "path", ["raster/rioxarray/test_rpcs.tif", "raster/rioxarray/test_rpcs_ext_file.tif"]
)
def test_rpcs_land_on_spatial_ref_as_gdal_gives_them(path):
    ds = open_peer(path)
    rpcs = json.loads(ds["spatial_ref"].attrs["rpcs"])
    with rasterio.open(peer(path)) as src:
        assert rpcs == src.tags(ns="RPC")
        assert RPC.from_gdal(rpcs) == src.rpcs
        assert ds.rio.transform() == src.transform and ds.rio.crs == src.crs


@pytest.mark.parametrize(
    ("path", "source"),
    [("raster/rio-tiler/cog_rgb_mask.tif", "internal"), ("raster/rasterio/RGB2.byte.tif", "msk")],
)
def test_per_dataset_mask_is_a_boolean_variable(path, source):
    ds = open_peer(path, chunks={})
    assert ds["mask"].dtype == bool and ds["mask"].attrs["gdal_mask"] == "per_dataset"
    assert list(ds.data_vars) == ["band_1", "band_2", "band_3", "mask"]
    assert ds["band_1"].dtype == np.uint8  # the mask is not applied to the bands
    with rasterio.open(peer(path)) as src:
        expected = src.read_masks(1) != 0
        assert (not expected.all()) and expected.any()
        np.testing.assert_array_equal(ds["mask"].values, expected)
        np.testing.assert_array_equal(ds["band_2"].values, src.read(2))


@pytest.mark.parametrize(
    "path", ["raster/rasterio/alpha.tif", "raster/rio-tiler/cog_uint8_rgba.tif"]
)
def test_alpha_band_is_named_alpha_and_no_mask_variable_is_added(path):
    ds = open_peer(path)
    assert list(ds.data_vars) == ["band_1", "band_2", "band_3", "alpha"]
    assert [ds[v].attrs["color_interpretation"] for v in ds.data_vars] == [
        "red", "green", "blue", "alpha"
    ]  # fmt: skip
    with rasterio.open(peer(path)) as src:
        np.testing.assert_array_equal(ds["alpha"].values, src.read(4))


@pytest.mark.parametrize(
    "path", ["raster/rio-tiler/cog_cmap.tif", "raster/image-tiff/palette-1c-8b.tiff"]
)
def test_colour_table_is_an_attribute_as_gdal_gives_it(path):
    da = open_peer(path)["band_data"]
    table = {int(k): tuple(v) for k, v in json.loads(da.attrs["colormap"]).items()}
    assert da.attrs["color_interpretation"] == "palette"
    with rasterio.open(peer(path)) as src:
        assert table == src.colormap(1)


@pytest.mark.parametrize(
    "path", ["raster/rioxarray/test_rpcs.tif", "raster/rioxarray/test_rpcs_ext_file.tif"]
)
def test_geocode_uses_rpcs_lazily_and_equals_rasterios_rpc_transformer(path):
    import dask
    from rasterio.transform import RPCTransformer

    ds = open_peer(path, chunks={"y": 100, "x": 100})
    geocoded = ds.eo.geocode()
    lat, lon = geocoded["latitude"], geocoded["longitude"]
    assert dask.is_dask_collection(lat) and lat.chunks == ((100, 100, 74), (100, 100, 32))
    assert lat.attrs["geocoding"].startswith("GDAL's RPC transformer")
    assert "bias 1 m" in lat.attrs["geocoding"]
    rows, cols = np.array([0, 10, 137, 273, 199]), np.array([0, 231, 50, 100, 101])
    with rasterio.open(peer(path)) as src, RPCTransformer(src.rpcs) as transformer:
        xs, ys = transformer.xy(rows, cols)
    np.testing.assert_allclose(lon.values[rows, cols], xs, rtol=0, atol=1e-12)
    np.testing.assert_allclose(lat.values[rows, cols], ys, rtol=0, atol=1e-12)


def test_quicklook_of_a_palette_image_shows_its_colours():
    path = "raster/image-tiff/palette-1c-8b.tiff"
    look = open_peer(path).eo.quicklook()
    assert look.kind == "palette"
    with rasterio.open(peer(path)) as src:
        values, table = src.read(1), src.colormap(1)
    expected = np.array([[table[v] for v in row] for row in values], dtype=np.uint8)
    np.testing.assert_array_equal(look.picture.rgba(), expected)


def test_quicklook_of_a_palette_cog_reads_an_overview_and_keeps_nodata_transparent():
    look = open_peer("raster/rio-tiler/cog_cmap.tif").eo.quicklook(max_size=256)
    assert (look.kind, look.overview_level) == ("palette", 3)
    with rasterio.open(peer("raster/rio-tiler/cog_cmap.tif"), overview_level=3) as src:
        values, table = src.read(1)[::2, ::2], src.colormap(1)  # 544 x 448, strided to 256
    rgba = look.picture.rgba()
    np.testing.assert_array_equal(rgba[..., 3] == 0, values == 0)  # nodata 0: transparent
    row, col = np.argwhere(values != 0)[7]
    assert tuple(rgba[row, col]) == table[values[row, col]]


def test_quicklook_uses_alpha_as_transparency_not_as_a_band_to_stretch():
    path = "raster/rio-tiler/cog_uint8_rgba.tif"
    look = open_peer(path).eo.quicklook()
    assert look.kind == "rgb" and list(look.limits) == ["band_1", "band_2", "band_3"]
    with rasterio.open(peer(path)) as src:
        alpha = src.read(4)
    np.testing.assert_array_equal(look.picture.rgba()[..., 3], alpha)  # 0..255 as stored


def test_quicklook_makes_the_mask_transparent():
    path = "raster/rio-tiler/cog_rgb_mask.tif"
    look = open_peer(path).eo.quicklook()
    with rasterio.open(peer(path)) as src:
        valid = src.read_masks(1) != 0
    np.testing.assert_array_equal(look.picture.rgba()[..., 3] > 0, valid)
