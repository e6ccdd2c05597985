"""CDSE's current STAC catalogue (``stac.dataspace.copernicus.eu/v1``) on the replica, beside the
deprecated one: real collection ids, per-band assets on ``s3://eodata`` read through their
``alternate.https`` (OData ``Nodes(...)/$value``) by a user who has only the CDSE login, the
product zip through OData for v1 items too, and the legacy catalogue still working.
"""

from __future__ import annotations

import zipfile

import numpy as np
import pystac_client
import pytest
import rasterio
import xarray as xr
from conftest import offline_item

from xstac_access import credentials, download, search
from xstac_access._resolve import reachable, resolve
from xstac_access.credentials import OidcPassword, S3Credentials
from xstac_access.credentials.broker import Broker, Rule
from xstac_access.readers._gdal import clear_vsicurl_cache
from xstac_access.testing.replica import cdse, cdse_v1

WINDOW = (slice(100, 164), slice(200, 264))


@pytest.fixture
def world(local_world, files):
    clear_vsicurl_cache()
    credentials.reset()
    return local_world


@pytest.fixture
def creds(world) -> dict:
    """Only the CDSE login (no S3 keys): what most CDSE users have."""
    return {"cdse": world.credentials()["cdse"]}


def v1_item(world):
    return search(world.stac_quirks.url("cdse"), collections=["sentinel-2-l2a"]).items[0]


def on_s3(world, href: str):
    """The bucket's own file behind an ``s3://eodata/...`` href."""
    bucket, key = href[len("s3://") :].split("/", 1)
    return world.replica.s3_buckets[bucket] / key


def test_the_v1_catalogue_has_the_real_collection_ids(world):
    url = world.stac_quirks.url("cdse")
    assert url.endswith("/cdse/v1/")
    assert [c.id for c in pystac_client.Client.open(url).get_collections()] == ["sentinel-2-l2a"]
    item = v1_item(world)
    assert (item.id, item.collection_id) == (cdse.NAME, "sentinel-2-l2a")  # no .SAFE
    assert item.get_self_href() == f"{url}collections/sentinel-2-l2a/items/{cdse.NAME}"
    assert [i.id for i in search(url).items] == [cdse.NAME]  # no other catalogue's items
    # pgstac itself holds Earth Search's sentinel-2-l2a: the ids do not collide
    earth_search = search(world.endpoints.stac, collections=["sentinel-2-l2a"]).items
    assert earth_search and cdse.NAME not in {i.id for i in earth_search}
    assert {"B02_10m", "TCI_10m", "SCL_20m", "AOT_60m", "Product"} <= set(item.assets)
    b02 = item.assets["B02_10m"].to_dict()
    assert b02["href"].startswith(f"s3://eodata/{cdse_v1.SAFE_KEY}/GRANULE/")
    assert (b02["auth:refs"], b02["alternate"]["https"]["auth:refs"]) == (["s3"], ["oidc"])
    schemes = item.properties["auth:schemes"]
    assert schemes["oidc"]["openIdConnectUrl"].startswith(world.endpoints.oidc + "/realms/cdse/")


def test_a_band_opens_through_its_https_alternate_with_only_the_cdse_login(world, files, creds):
    item = v1_item(world)
    asset = item.assets["B04_10m"].to_dict()
    ds = xr.open_dataset(item, engine="stacasset", asset="B04_10m", credentials=creds,
                         mask_and_scale=False)  # fmt: skip
    assert ds["B04"].encoding["source"] == asset["alternate"]["https"]["href"]
    with rasterio.open(on_s3(world, asset["href"])) as src:  # the bucket's own bytes
        expected = src.read(1, window=WINDOW)
        assert dict(ds.sizes) == {"y": src.height, "x": src.width}
    np.testing.assert_array_equal(ds["B04"][WINDOW].values, expected)
    log = files.stats()["log"]
    assert log and all(e["path"].endswith("_B04_10m.jp2)/$value") for e in log)
    assert all(e["authorization"] and e["status"] in (200, 206) for e in log)


def test_a_band_downloads_through_its_alternate_under_its_own_name(world, files, creds, tmp_path):
    item = v1_item(world)
    report = download(item, tmp_path, assets=["SCL_20m", "product_metadata"], credentials=creds,
                      progress=False)  # fmt: skip
    assert [e.status for e in report.entries] == ["fetched"] * 2, report.summary()
    for entry, key in zip(report.entries, ("SCL_20m", "product_metadata"), strict=True):
        href = item.assets[key].href
        assert entry.path == tmp_path / item.id / href.rsplit("/", 1)[1]  # not "$value"
        assert entry.path.read_bytes() == on_s3(world, href).read_bytes()
    assert {e["host"] for e in files.stats()["log"]} == {"main"}


def test_the_assets_own_href_is_kept_when_it_has_a_credential():
    item = offline_item(cdse_v1, cdse_v1.COLLECTION)
    login = OidcPassword("https://id.invalid/token", "cdse-public", username="u", password="p")
    s3_keys = S3Credentials(key="access", secret="secret-key", endpoint_url="http://s3.invalid")
    zipper = Rule("http://files.invalid/cdse/*", login)
    target = resolve(item, "TCI_60m")
    alternate = item["assets"]["TCI_60m"]["alternate"]["https"]["href"]
    assert reachable(target, Broker([zipper])).href == alternate
    assert "its alternate 'https'" in reachable(target, Broker([zipper])).label
    both = Broker([Rule("s3://eodata/*", s3_keys), zipper])
    assert reachable(target, both) is target  # the S3 keys are configured: S3 it is
    assert reachable(target, Broker()) is target  # nothing configured anywhere
    assert reachable(resolve(item, "Product"), Broker([zipper])).href.endswith("/$value")


def test_the_v1_product_zip_is_read_by_range_through_odata(world, files, creds):
    item = v1_item(world)
    mtd = xr.open_dataset(item, engine="stacasset", asset="Product", member="*/MTD_MSIL2A.xml",
                          credentials=creds)  # fmt: skip
    assert mtd.attrs["General_Info/Product_Info/PROCESSING_BASELINE"] == "05.11"
    zipped = world.replica.files_root / "cdse" / "download" / f"{cdse.NAME}.SAFE.zip"
    sent = files.bytes_for(f"/cdse/download/{zipped.name}", host="alt")
    assert 0 < sent < zipped.stat().st_size / 20


def test_the_v1_product_opens_as_a_tree_by_range_through_odata(world, files, creds):
    item = v1_item(world)
    tree = xr.open_datatree(item, engine="stacasset", asset="Product", credentials=creds)
    b04 = tree["measurements/reflectance/r10m"]["b04"]
    assert b04.rio.crs.to_epsg() == 32632 and "b8a" in tree["measurements/reflectance/r20m"]
    middle = b04.sizes["y"] // 2
    window = b04[middle : middle + 64, middle : middle + 64].values
    zipped = world.replica.files_root / "cdse" / "download" / f"{cdse.NAME}.SAFE.zip"
    member = next(n for n in zipfile.ZipFile(zipped).namelist() if n.endswith("_B04_10m.jp2"))
    with rasterio.open(f"/vsizip/{zipped}/{member}") as src:
        dn = src.read(1, window=((middle, middle + 64), (middle, middle + 64)))
    assert (dn > 0).all()
    np.testing.assert_allclose(window, (dn - 1000.0) / 1e4, rtol=1e-6)  # BOA_ADD_OFFSET -1000
    sent = files.bytes_for(f"/cdse/download/{zipped.name}", host="alt")
    assert 0 < sent < zipped.stat().st_size / 10, sent


def test_the_legacy_catalogue_keeps_working(world, creds):
    (item,) = search(world.endpoints.stac, collections=[cdse.COLLECTION]).items
    assert item.id == f"{cdse.NAME}.SAFE" and set(item.assets) == {"PRODUCT", "QUICKLOOK"}
    tci = xr.open_dataset(item, engine="stacasset", asset="PRODUCT", member="manifest:TCI_60m",
                          credentials=creds)  # fmt: skip
    assert tci.rio.crs.to_epsg() == 32632 and tci.sizes["x"] == tci.sizes["y"] > 0
