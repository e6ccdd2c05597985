"""The engine against the local world: replica items over HTTP, S3 and the STAC API.

Request and byte counts come from the file server's own counters, so they measure what went
over the wire, not what the client believes it asked for.
"""

from __future__ import annotations

import numpy as np
import pystac
import pytest
import rasterio
import xarray as xr
from conftest import replica_item
from pystac_client import Client

from xstac_access import errors
from xstac_access._resolve import resolve
from xstac_access.readers._gdal import forget_datasets


def served_path(world, href: str) -> str:
    base = world.endpoints.http
    assert href.startswith(base), href
    return href[len(base) :]


def local_copy(world, href: str):
    return world.replica.files_root / served_path(world, href).lstrip("/")


@pytest.fixture(scope="module")
def noisy_cog(local_world):
    """A 4096 x 4096 COG of incompressible noise (about 32 MB), served by the file server.

    The replica's own COGs compress so well that a whole file is a few tiles; this one makes
    "a window reads only its tiles" a claim with room to fail.
    """
    from rasterio.shutil import copy as rio_copy

    root = local_world.replica.files_root / "_tests"
    root.mkdir(exist_ok=True)
    plain, cog = root / "noise.tif", root / "noise-cog.tif"
    data = np.random.default_rng(7).integers(1, 10000, (4096, 4096), dtype="uint16")
    profile = dict(
        driver="GTiff",
        width=4096,
        height=4096,
        count=1,
        dtype="uint16",
        crs="EPSG:32633",
        transform=rasterio.transform.from_origin(4e5, 5e6, 10, 10),
    )
    with rasterio.open(plain, "w", **profile) as dst:
        dst.write(data, 1)
    rio_copy(
        plain, cog, driver="COG", blocksize=512, compress="DEFLATE", overview_resampling="nearest"
    )
    plain.unlink()
    yield "/_tests/noise-cog.tif", cog, data
    cog.unlink()
    root.rmdir()


def tile_bytes(path, rows: range, cols: range) -> int:
    """Compressed size of the full-resolution tiles (row, col) of band 1, from the TIFF index."""
    with rasterio.open(path) as src:
        return sum(
            int(src.get_tag_item(f"BLOCK_SIZE_{c}_{r}", "TIFF", bidx=1)) for r in rows for c in cols
        )


def test_window_of_a_cog_reads_only_the_tiles_it_needs(local_world, files, noisy_cog):
    path, local, data = noisy_cog
    href = local_world.endpoints.http + path
    ds = xr.open_dataset(href, engine="stacasset")
    opened = files.stats()["log"]
    assert [e["method"] for e in opened] == ["HEAD", "GET"]  # size, then one 32 kB header read
    header = files.bytes_for(path)
    window = ds["band_data"][1024:1536, 2048:2560].values  # exactly tile (2, 4)
    np.testing.assert_array_equal(window, data[1024:1536, 2048:2560])
    needed = tile_bytes(local, range(2, 3), range(4, 5))
    moved = files.bytes_for(path) - header
    assert needed <= moved <= needed * 1.1 + 16384, (moved, needed)
    assert files.requests_for(path) <= 4
    assert files.bytes_for(path) < local.stat().st_size / 20


def test_replica_cog_values_scale_and_crs(local_world, files):
    item = replica_item(local_world, "sentinel-2-l2a")
    href = item["assets"]["red"]["href"]
    ds = xr.open_dataset(item, engine="stacasset", asset="red")
    with rasterio.open(local_copy(local_world, href)) as src:
        raw = src.read(1, window=((0, 512), (0, 512))).astype("float64")
    expected = np.where(raw == 0, np.nan, raw * 0.0001 - 0.1)
    np.testing.assert_allclose(ds["red"][:512, :512].values, expected, rtol=1e-6)
    assert ds.attrs["stac_item_id"] == item["id"]
    assert ds.rio.crs.to_epsg() == item["properties"]["proj:epsg"]
    log = files.stats()["log"]
    assert all(e["range"] for e in log if e["method"] == "GET")  # never a whole-file GET


def test_overview_level_moves_fewer_bytes_than_full_resolution(local_world, files):
    item = replica_item(local_world, "sentinel-2-l2a")
    path = served_path(local_world, item["assets"]["nir"]["href"])
    full = xr.open_dataset(item, engine="stacasset", asset="nir")
    level = len(full["nir"].encoding["overviews"]) - 1
    forget_datasets()  # earlier tests' blocks of this file must not answer from the cache
    files.reset()
    small = xr.open_dataset(item, engine="stacasset", asset="nir", overview_level=level)
    small["nir"].load()
    overview_bytes = files.bytes_for(path)
    forget_datasets()
    files.reset()
    full["nir"].load()
    full_bytes = files.bytes_for(path)
    assert small.sizes["x"] < full.sizes["x"] / 4
    assert overview_bytes * 4 < full_bytes


def test_tile_aligned_chunks_compute_with_dask(local_world, files):
    item = replica_item(local_world, "sentinel-2-l2a")
    ds = xr.open_dataset(item, engine="stacasset", asset="visual", chunks={})
    assert list(ds.data_vars) == ["red", "green", "blue"]  # names from eo:bands
    chunks = ds["red"].chunks
    assert chunks[0][0] == chunks[1][0] == 512
    assert ds["green"][:600, :600].mean().compute() > 0


def test_item_url_from_the_stac_api_and_a_searched_item_open_alike(local_world, files):
    item = replica_item(local_world, "sentinel-2-l2a")
    url = f"{local_world.endpoints.stac}/collections/sentinel-2-l2a/items/{item['id']}"
    from_url = xr.open_dataset(url, engine="stacasset", asset="scl")
    searched = next(Client.open(local_world.endpoints.stac).search(ids=[item["id"]]).items())
    from_search = xr.open_dataset(searched, engine="stacasset", asset="scl")
    assert from_url.attrs["stac_item_id"] == from_search.attrs["stac_item_id"] == item["id"]
    np.testing.assert_array_equal(
        from_url["scl"][:64, :64].values, from_search["scl"][:64, :64].values
    )


@pytest.mark.parametrize(
    ("collection", "asset"), [("HLSS30_2.0", "browse"), ("cdse-sentinel-2-l2a", "QUICKLOOK")]
)
def test_item_urls_whose_ids_look_like_file_names(local_world, files, collection, asset):
    """``HLS.S30....v2.0`` and ``S2B_....SAFE`` end like file names; the endpoint says item."""
    item = replica_item(local_world, collection)
    url = f"{local_world.endpoints.stac}/collections/{collection}/items/{item['id']}"
    ds = xr.open_dataset(url, engine="stacasset", asset=asset)
    assert ds.attrs["stac_item_id"] == item["id"]


def test_legacy_v0_item_band_keys(local_world, files):
    item = replica_item(local_world, "sentinel-s2-l2a-cogs")
    ds = xr.open_dataset(pystac.Item.from_dict(item), engine="stacasset", asset="B04")
    assert list(ds.data_vars) == ["B04"]
    assert ds.sizes["x"] > 0 and ds.rio.crs is not None


def test_gcp_geotiff_on_s3_with_a_custom_endpoint(local_world):
    item = replica_item(local_world, "sentinel-1-grd")
    assert item["assets"]["hh"]["href"].startswith("s3://sentinel-s1-l1c/")
    s3 = local_world.s3_options()  # the user's keys, who pays, the endpoint
    ds = xr.open_dataset(item, engine="stacasset", asset="hh", storage_options=s3)
    samples, lines = item["properties"]["s1:shape"]  # [numberOfSamples, numberOfLines]
    assert dict(ds.sizes) == {"y": lines, "x": samples}
    assert len(ds.rio.get_gcps()) == 210
    source = local_world.replica.s3_buckets["sentinel-s1-l1c"]
    with rasterio.open(source / item["assets"]["hh"]["href"].split("/", 3)[3]) as src:
        expected = src.read(1, window=((200, 300), (400, 500)))
    np.testing.assert_array_equal(ds["hh"][200:300, 400:500].values, expected)


def test_missing_href_names_the_host(local_world, files):
    item = replica_item(local_world, "sentinel-2-l2a")
    item["assets"]["red"]["href"] += ".missing.tif"
    with pytest.raises(errors.HrefNotFoundError) as info:
        xr.open_dataset(item, engine="stacasset", asset="red")
    host = local_world.endpoints.http.split("://")[1]
    assert host in str(info.value) and "asset 'red'" in str(info.value)
    assert info.value.status == 404


def test_protected_asset_without_credentials_is_an_auth_error(local_world, files):
    item = replica_item(local_world, "BiomassLevel1a")
    with pytest.raises(errors.AuthError) as info:
        xr.open_dataset(item, engine="stacasset", asset="enclosure_i_abs_tiff")
    message = str(info.value)
    assert "HTTP 401" in message and "credential" in message
    assert local_world.endpoints.http.split("://")[1] in message


def test_login_page_instead_of_data_is_an_auth_error(local_world, files):
    item = replica_item(local_world, "sentinel-2-l2a")
    path = served_path(local_world, item["assets"]["swir16"]["href"])
    files.set_faults([{"path": path, "html": True}])
    with pytest.raises(errors.AuthError, match="HTML page"):
        xr.open_dataset(item, engine="stacasset", asset="swir16")


def test_public_biomass_previews_open_without_credentials(local_world):
    item = replica_item(local_world, "BiomassLevel1a")
    target = resolve(item, "quicklook_kml")
    assert target.href.endswith("_map.kml")
    footprint = xr.open_dataset(item, engine="stacasset", asset="quicklook_kml")
    assert footprint.sizes == {"corner": 4}
    picture = xr.open_dataset(item, engine="stacasset", asset="quicklook_png")
    assert picture["quicklook_png"].dims == ("band", "y", "x")
    assert picture.attrs["quad_longitude"] == footprint["longitude"].values.tolist()


def test_a_whole_item_opens_as_a_tree_of_its_data_assets(local_world, files):
    item = replica_item(local_world, "sentinel-2-l2a")
    # the COGs are on the file server, their "-jp2" twins in ESA's requester-pays bucket
    jp2 = {"earthsearch": local_world.credentials()["earthsearch"]}
    tree = xr.open_datatree(item, engine="stacasset", credentials=jp2)
    data = sorted(k for k, a in item["assets"].items() if "data" in (a.get("roles") or []))
    assert sorted(tree.children) == data
    assert tree.attrs["stac_item_id"] == item["id"]
    assert tree.attrs["asset:thumbnail"].endswith("thumbnail.jpg")
    assert "red" in tree["red"].dataset and tree["red"].dataset.rio.crs is not None
    log = files.stats()["log"]
    assert len(log) <= 2 * len(data)  # headers only: no tile was read
    assert sum(e["bytes"] for e in log) <= len(data) * 65536  # header reads, not tiles


def test_item_tree_can_be_limited_and_survives_a_broken_asset(local_world, files):
    item = replica_item(local_world, "sentinel-2-l2a")
    item["assets"]["nir"]["href"] += ".gone"
    with pytest.warns(UserWarning, match="asset 'nir' left out"):
        tree = xr.open_datatree(item, engine="stacasset", assets=["red", "nir", "scl"])
    assert sorted(tree.children) == ["red", "scl"]
    assert tree.attrs["unopened_assets"] == ["nir"]
