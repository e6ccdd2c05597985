"""The GeoTIFF reader on small files written here, through xarray: a Sentinel-1 GRD-like GCP
GeoTIFF (tiles, overviews, nodata), a complex one with GCPs beyond its edges, a full-size sparse
one, and north-up rasters. The real GCP GeoTIFFs are read in tests/realdata/test_geotiff.py."""

from __future__ import annotations

import json
import pickle

import dask
import numpy as np
import pystac
import pytest
import rasterio
import xarray as xr
from conftest import (
    GCP_TIFF_BLOCK,
    GCP_TIFF_OVERVIEWS,
    GCP_TIFF_SHAPE,
    OVERLAY_QUADS,
    gcp_counts,
    lattice_gcps,
    offline_item,
    overlay_kml,
    write_gcp_geotiff,
)
from rasterio.transform import Affine, from_origin

import xstac_access  # noqa: F401  (the engine is registered by entry point; import for parity)
from xstac_access import errors
from xstac_access._plugin import StacAssetBackendEntrypoint
from xstac_access.testing.replica import earthsearch


def open_tiff(path, **kwargs):
    return xr.open_dataset(str(path), engine="stacasset", **kwargs)


def test_gcp_geotiff_opens_lazily_with_its_gcps(gcp_geotiff):
    ds = open_tiff(gcp_geotiff, mask_and_scale=False)
    assert dict(ds.sizes) == {"y": GCP_TIFF_SHAPE[0], "x": GCP_TIFF_SHAPE[1]}
    assert list(ds.data_vars) == ["band_data"]
    assert ds["band_data"].dtype == np.uint16
    assert not ds["band_data"].variable._in_memory
    assert "x" not in ds.coords and "y" not in ds.coords  # GCP-only: no regular grid
    assert ds.rio.crs.to_epsg() == 4326
    gcps, written = ds.rio.get_gcps(), lattice_gcps(GCP_TIFF_SHAPE)
    assert len(gcps) == len(written) == 7 * 11
    assert [(g.row, g.col) for g in gcps] == [(g.row, g.col) for g in written]
    np.testing.assert_allclose([(g.x, g.y) for g in gcps], [(g.x, g.y) for g in written])
    expected = gcp_counts(GCP_TIFF_SHAPE)[100:200, 300:420]
    np.testing.assert_array_equal(ds["band_data"][100:200, 300:420].values, expected)
    block = {"y": GCP_TIFF_BLOCK, "x": GCP_TIFF_BLOCK}
    assert ds["band_data"].encoding["preferred_chunks"] == block
    assert ds["band_data"].encoding["overviews"] == list(GCP_TIFF_OVERVIEWS)


def test_overview_level_reads_the_overview_and_rescales_gcps(gcp_geotiff):
    ds = open_tiff(gcp_geotiff, overview_level=1)  # factor 4, sizes rounded up
    assert dict(ds.sizes) == {"y": 151, "x": 251}
    full = open_tiff(gcp_geotiff).rio.get_gcps()
    ovr = ds.rio.get_gcps()
    assert ovr[5].col == pytest.approx(full[5].col * 251 / 1001) and ovr[5].col > 0
    assert ovr[60].row == pytest.approx(full[60].row * 151 / 601) and ovr[60].row > 0
    assert ovr[5].x == pytest.approx(full[5].x)


def test_tile_aligned_dask_chunks(gcp_geotiff):
    ds = open_tiff(gcp_geotiff, chunks={})
    assert ds["band_data"].chunks == ((256, 256, 89), (256, 256, 256, 233))
    assert dask.is_dask_collection(ds["band_data"])


def test_nodata_masks_by_default_and_is_kept_as_attr_when_asked(gcp_geotiff, tmp_path):
    masked = open_tiff(gcp_geotiff)["band_data"]  # written with nodata=0 and 0s on its edge
    raw = open_tiff(gcp_geotiff, mask_and_scale=False)["band_data"]
    assert raw.dtype == np.uint16 and raw.attrs["nodata"] == 0
    assert masked.dtype == np.float32 and masked.encoding["_FillValue"] == 0
    counts = gcp_counts(GCP_TIFF_SHAPE)
    assert (counts == 0).any() and (counts > 0).any()
    np.testing.assert_array_equal(masked.values, np.where(counts == 0, np.nan, counts))
    holes = tmp_path / "holes.tif"
    write_tiff(holes, np.array([[[0, 5], [6, 0]]], "uint8"), nodata=0, tiled=False)
    values = open_tiff(holes)["band_data"].values
    assert np.isnan(values[0, 0]) and np.isnan(values[1, 1]) and values[0, 1] == 5


def test_complex_gcp_raster_with_gcps_beyond_its_edges(tmp_path):
    shape = (100, 120)
    data = (np.arange(12000).reshape(shape) * (1 - 2j)).astype("complex64")
    data[:3] = 0
    gcps = lattice_gcps(shape, (5, 6), extent=(-100, 900, -450, 1500))
    path = write_gcp_geotiff(tmp_path / "slc.tif", data, gcps=gcps, block=64)
    ds = open_tiff(path)
    assert ds["band_data"].dtype == np.complex64
    np.testing.assert_array_equal(ds["band_data"].values, data)  # zeros stay zeros
    assert ds["band_data"].attrs["nodata"] == 0  # complex: kept as an attribute, not masked
    rows = [g.row for g in ds.rio.get_gcps()]
    assert min(rows) == -100 and max(rows) == 900  # GCPs outside the image are kept


def test_full_size_sparse_raster_is_never_read_whole(tmp_path):
    path = write_gcp_geotiff(
        tmp_path / "sparse.tif", shape=(13509, 22694), dtype="complex64", nodata=None
    )
    assert path.stat().st_size < 200_000  # 2.4 GB of complex64 if it were read whole
    ds = open_tiff(path, chunks={})
    da = ds["band_data"]
    assert da.shape == (13509, 22694) and da.dtype == np.complex64
    assert da.chunks[0][0] == 256
    window = da[5000:5010, 7000:7010].values
    assert window.shape == (10, 10) and not window.any()
    assert len(ds.rio.get_gcps()) == 7 * 11


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


@pytest.mark.parametrize(
    ("crs", "transform"),
    [
        ("EPSG:32613", from_origin(500000, 4600000, 10, 10)),
        ("EPSG:4326", Affine(0.1, 0.02, 5, 0.01, -0.1, 50)),  # rotated: no x/y coordinates
        (None, from_origin(10, 20, 2, 2)),  # an affine without a CRS
    ],
)
def test_georeferencing_is_what_rioxarray_writes(tmp_path, crs, transform):
    path = tmp_path / "geo.tif"
    write_tiff(path, np.ones((2, 30, 40), "int16"), crs=crs, transform=transform)
    ds = open_tiff(path, mask_and_scale=False)
    bare = ds.drop_vars("spatial_ref")
    if crs is not None:
        bare = bare.rio.write_crs(crs)
    expected = bare.rio.write_transform(transform)
    assert ds["spatial_ref"].attrs == expected["spatial_ref"].attrs
    for name in ("band_1", "band_2"):
        assert ds[name].encoding["grid_mapping"] == "spatial_ref"
    assert ds.encoding["grid_mapping"] == "spatial_ref"
    assert ds.rio.transform() == transform
    assert (
        (ds.rio.crs is None) if crs is None else ds.rio.crs == rasterio.crs.CRS.from_user_input(crs)
    )


def item_for(path, bands, **properties):
    """A replica Earth Search S2 item whose only asset is the local file ``path``."""
    item = offline_item(earthsearch, "sentinel-2-l2a")
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
    assert ds.attrs["stac_item_id"] == pols["id"]
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


def test_truncated_tiff_is_a_format_error_naming_the_asset(tmp_path, gcp_geotiff):
    whole = gcp_geotiff.read_bytes()
    path = tmp_path / "cut.tif"
    path.write_bytes(whole[: len(whole) // 3])
    item = item_for(path, {})
    with pytest.raises(errors.FormatError, match="asset 'data'"):
        xr.open_dataset(item, engine="stacasset")["data"].values  # noqa: B018


def test_mislabelled_file_is_a_format_error(tmp_path):
    path = tmp_path / "really-a-kml.tif"
    path.write_text(overlay_kml(OVERLAY_QUADS["polar"]))
    with pytest.raises(errors.FormatError, match="looks like kml"):
        open_tiff(path)


def test_missing_local_file_is_not_found(tmp_path):
    with pytest.raises(errors.HrefNotFoundError):
        open_tiff(tmp_path / "nope.tif")


def test_guess_can_open_claims_stac_objects_only():
    entry = StacAssetBackendEntrypoint()
    item = offline_item(earthsearch, "sentinel-2-l2a")
    assert entry.guess_can_open(item)
    assert entry.guess_can_open(pystac.Item.from_dict(item))
    assert entry.guess_can_open(pystac.Item.from_dict(item).assets[next(iter(item["assets"]))])
    assert not entry.guess_can_open("file.nc")
    assert not entry.guess_can_open({"some": "dict"})
    assert json.dumps(StacAssetBackendEntrypoint.open_dataset_parameters)


def test_open_datatree_on_a_single_raster_gives_a_one_node_tree(gcp_geotiff):
    tree = xr.open_datatree(str(gcp_geotiff), engine="stacasset", chunks={}, overview_level=0)
    assert tree.children == {}
    band = tree.dataset["band_data"]
    assert band.shape == (301, 501)  # the first overview (factor 2) of 601 x 1001
    assert band.chunks == ((256, 45), (256, 245))
