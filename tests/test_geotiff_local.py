"""The GeoTIFF reader on real GCP GeoTIFFs and on small files written here, through xarray."""

from __future__ import annotations

import json
import pickle

import dask
import numpy as np
import pystac
import pytest
import rasterio
import xarray as xr
from conftest import load_item
from rasterio.transform import from_origin

import xstac_access  # noqa: F401  (the engine is registered by entry point; import for parity)
from xstac_access import errors
from xstac_access._plugin import StacAssetBackendEntrypoint

GRD = "riotiler_cog_gcps_s1_grd.tif"
GRD_OVR = "riotiler_cog_gcps_ovr.tif"
SLC_CROP = "rioxarray_cint16_s1_slc_crop_gcps.tif"
SLC_FULL = "sarsen_s1a-iw1-slc-vv-20220104t170558-20220104t170623-041314-04e951-004.tiff"


def open_tiff(path, **kwargs):
    return xr.open_dataset(str(path), engine="stacasset", **kwargs)


def test_gcp_cog_opens_lazily_with_its_gcps(data_dir):
    path = data_dir / "tiff" / GRD
    ds = open_tiff(path)
    assert dict(ds.sizes) == {"y": 837, "x": 1280}
    assert list(ds.data_vars) == ["band_data"]
    assert ds["band_data"].dtype == np.uint16
    assert "x" not in ds.coords and "y" not in ds.coords  # GCP-only: no regular grid
    gcps = ds.rio.get_gcps()
    assert len(gcps) == 210
    assert ds.rio.crs.to_epsg() == 4326
    with rasterio.open(path) as src:
        expected = src.read(1, window=((100, 200), (300, 420)))
        first = src.gcps[0][0]
    assert gcps[0].x == pytest.approx(first.x) and gcps[0].row == first.row
    np.testing.assert_array_equal(ds["band_data"][100:200, 300:420].values, expected)
    assert ds["band_data"].encoding["preferred_chunks"] == {"y": 512, "x": 512}
    assert ds["band_data"].encoding["overviews"] == [2, 4, 8]


def test_overview_level_reads_the_overview_and_rescales_gcps(data_dir):
    ds = open_tiff(data_dir / "tiff" / GRD, overview_level=1)  # factor 4
    assert dict(ds.sizes) == {"y": 210, "x": 320}
    full = open_tiff(data_dir / "tiff" / GRD).rio.get_gcps()
    ovr = ds.rio.get_gcps()
    assert ovr[5].col == pytest.approx(full[5].col / 4)
    assert ovr[5].x == pytest.approx(full[5].x)


def test_tile_aligned_dask_chunks(data_dir):
    ds = open_tiff(data_dir / "tiff" / GRD, chunks={})
    assert ds["band_data"].chunks == ((512, 325), (512, 512, 256))
    assert dask.is_dask_collection(ds["band_data"])


def test_nodata_masks_by_default_and_is_kept_as_attr_when_asked(data_dir, tmp_path):
    path = data_dir / "tiff" / GRD_OVR  # real file declaring nodata=0
    masked = open_tiff(path)["band_data"]
    raw = open_tiff(path, mask_and_scale=False)["band_data"]
    assert raw.dtype == np.uint8 and raw.attrs["nodata"] == 0
    assert masked.dtype.kind == "f" and masked.encoding["_FillValue"] == 0
    np.testing.assert_array_equal(masked.values, raw.values.astype(masked.dtype))
    holes = tmp_path / "holes.tif"
    write_tiff(holes, np.array([[[0, 5], [6, 0]]], "uint8"), nodata=0, tiled=False)
    values = open_tiff(holes)["band_data"].values
    assert np.isnan(values[0, 0]) and np.isnan(values[1, 1]) and values[0, 1] == 5


def test_complex_slc_crop(data_dir):
    path = data_dir / "tiff" / SLC_CROP
    ds = open_tiff(path)
    assert ds["band_data"].dtype == np.complex64
    with rasterio.open(path) as src:
        np.testing.assert_array_equal(ds["band_data"].values, src.read(1))
    assert ds["band_data"].attrs["nodata"] == 0  # complex: kept as an attribute, not masked
    rows = [g.row for g in ds.rio.get_gcps()]
    assert min(rows) < 0 and max(rows) > 100  # GCPs outside the image are kept


def test_full_size_sparse_slc_is_never_read_whole(data_dir):
    ds = open_tiff(data_dir / "tiff" / SLC_FULL, chunks={})
    da = ds["band_data"]
    assert da.shape == (13509, 22694) and da.dtype == np.complex64
    assert da.chunks[0][0] == 256
    window = da[5000:5010, 7000:7010].values
    assert window.shape == (10, 10) and not window.any()
    assert len(ds.rio.get_gcps()) == 210


def write_tiff(path, data, **profile):
    count = data.shape[0]
    meta = dict(
        driver="GTiff",
        height=data.shape[1],
        width=data.shape[2],
        count=count,
        dtype=data.dtype,
        tiled=True,
        blockxsize=256,
        blockysize=256,
    )
    meta.update(profile)
    descriptions = meta.pop("descriptions", None)
    with rasterio.open(path, "w", **meta) as dst:
        dst.write(data)
        if descriptions:
            for i, desc in enumerate(descriptions, start=1):
                dst.set_band_description(i, desc)


def test_north_up_raster_gets_pixel_centre_coordinates_and_crs(tmp_path):
    path = tmp_path / "utm.tif"
    write_tiff(
        path,
        np.arange(2 * 300 * 400, dtype="int32").reshape(2, 300, 400),
        crs="EPSG:32613",
        transform=from_origin(500000, 4600000, 10, 10),
    )
    ds = open_tiff(path)
    assert list(ds.data_vars) == ["band_1", "band_2"]
    assert ds.x.values[0] == 500005 and ds.x.values[-1] == 500000 + 10 * 399 + 5
    assert ds.y.values[0] == 4599995
    assert ds.rio.crs.to_epsg() == 32613
    assert ds.rio.transform() == from_origin(500000, 4600000, 10, 10)
    assert int(ds["band_2"][0, 0]) == 300 * 400


def item_for(path, bands, **properties):
    item = load_item("earthsearch_v1_sentinel-2-l2a")
    item["properties"].update(properties)
    item["assets"] = {
        "data": {
            "href": str(path),
            "type": "image/tiff; application=geotiff",
            "roles": ["data"],
            **bands,
        }
    }
    return item


def test_band_names_from_stac_then_descriptions_then_polarisations(tmp_path):
    path = tmp_path / "quad.tif"
    write_tiff(path, np.ones((4, 64, 64), "float32"), descriptions=["HH", "HV", "VH", "VV"])
    named = item_for(path, {"eo:bands": [{"name": n} for n in ("a", "b", "c", "d")]})
    assert list(xr.open_dataset(named, engine="stacasset").data_vars) == ["a", "b", "c", "d"]
    described = item_for(path, {})
    assert list(xr.open_dataset(described, engine="stacasset").data_vars) == [
        "HH",
        "HV",
        "VH",
        "VV",
    ]
    bare = tmp_path / "bare.tif"
    write_tiff(bare, np.ones((4, 64, 64), "float32"))
    pols = item_for(bare, {}, **{"sar:polarizations": ["HH", "HV", "VH", "VV"]})
    ds = xr.open_dataset(pols, engine="stacasset")
    assert list(ds.data_vars) == ["HH", "HV", "VH", "VV"]
    assert ds.attrs["stac_item_id"] == "S2A_13TDE_20231008_0_L2A"
    assert ds.attrs["stac_asset"] == "data"
    assert ds.attrs["eo:cloud_cover"] == pols["properties"]["eo:cloud_cover"]


def test_raster_bands_scale_offset_and_nodata_are_applied(tmp_path):
    path = tmp_path / "refl.tif"
    data = np.array([[[0, 1000, 2000], [3000, 0, 10000]]], dtype="uint16")
    write_tiff(path, data, tiled=False)
    item = item_for(
        path,
        {"raster:bands": [{"nodata": 0, "scale": 0.0001, "offset": -0.1, "data_type": "uint16"}]},
    )
    ds = xr.open_dataset(item, engine="stacasset")
    values = ds["data"].values
    assert values.dtype == np.float32  # 16-bit counts decode to float32, not float64
    assert np.isnan(values[0, 0]) and np.isnan(values[1, 1])
    np.testing.assert_allclose(values[0, 1:], [0.0, 0.1], atol=1e-6)
    np.testing.assert_allclose(values[1, 2], 0.9, atol=1e-6)
    assert ds["data"].encoding["scale_factor"] == 0.0001
    raw = xr.open_dataset(item, engine="stacasset", mask_and_scale=False)["data"]
    assert raw.dtype == np.uint16 and raw.attrs["scale_factor"] == 0.0001


def test_drop_variables(tmp_path):
    path = tmp_path / "quad.tif"
    write_tiff(path, np.ones((4, 32, 32), "float32"), descriptions=["HH", "HV", "VH", "VV"])
    ds = xr.open_dataset(item_for(path, {}), engine="stacasset", drop_variables=["HV", "VH"])
    assert list(ds.data_vars) == ["HH", "VV"]


def test_pystac_item_opens_and_pickles_without_losing_laziness(tmp_path):
    path = tmp_path / "one.tif"
    write_tiff(path, np.full((1, 32, 32), 7, "int16"))
    item = item_for(path, {})
    item["links"] = []  # a local test file: no self link to resolve against
    ds = xr.open_dataset(pystac.Item.from_dict(item), engine="stacasset", chunks={})
    again = pickle.loads(pickle.dumps(ds))
    assert int(again["data"].sum()) == 7 * 32 * 32


def test_truncated_tiff_is_a_format_error_naming_the_asset(tmp_path, data_dir):
    whole = (data_dir / "tiff" / GRD).read_bytes()
    path = tmp_path / "cut.tif"
    path.write_bytes(whole[: len(whole) // 3])
    item = item_for(path, {})
    with pytest.raises(errors.FormatError, match="asset 'data'"):
        xr.open_dataset(item, engine="stacasset")["data"].values  # noqa: B018


def test_mislabelled_file_is_a_format_error(tmp_path, data_dir):
    path = tmp_path / "really-a-kml.tif"
    path.write_bytes(next((data_dir / "kml").glob("*/preview/map-overlay.kml")).read_bytes())
    with pytest.raises(errors.FormatError, match="looks like kml"):
        open_tiff(path)


def test_missing_local_file_is_not_found(tmp_path):
    with pytest.raises(errors.HrefNotFoundError):
        open_tiff(tmp_path / "nope.tif")


def test_guess_can_open_claims_stac_objects_only():
    entry = StacAssetBackendEntrypoint()
    item = load_item("earthsearch_v1_sentinel-2-l2a")
    assert entry.guess_can_open(item)
    assert entry.guess_can_open(pystac.Item.from_dict(item))
    assert entry.guess_can_open(pystac.Item.from_dict(item).assets["red"])
    assert not entry.guess_can_open("file.nc")
    assert not entry.guess_can_open({"some": "dict"})
    assert json.dumps(StacAssetBackendEntrypoint.open_dataset_parameters)


def test_open_datatree_on_a_single_raster_gives_a_one_node_tree(data_dir):
    path = str(data_dir / "tiff" / GRD_OVR)
    tree = xr.open_datatree(path, engine="stacasset", chunks={}, overview_level=0)
    assert tree.children == {}
    band = tree.dataset["band_data"]
    assert band.shape == (418, 640)  # GDAL's first overview of 837 x 1280
    assert band.chunks == ((256, 162), (256, 256, 128))
