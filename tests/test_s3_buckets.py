"""S3 buckets as their real services run them, read by the library on every path.

The local S3 store answers as the real ones do (``xstac_access.testing.s3_rules``): EOPF's Ceph
tenant buckets (``<tenant>:<bucket>``, path-style, anonymous), Earth Search's requester-pays
buckets in eu-central-1, CDSE's ``eodata`` for the user's own keys, and LP DAAC's
``lp-prod-protected`` for the temporary keys of its ``/s3credentials`` endpoint. Each test reads
through the library (GDAL, s3fs/zarr, downloads) and checks values against the generated files
and what the store answered (its log of requests to buckets with rules).
"""

from __future__ import annotations

import hashlib
import pickle

import numpy as np
import pytest
import rasterio
import xarray as xr
from conftest import offline_item, replica_item
from rasterio.windows import Window

from xstac_access import credentials, download, errors
from xstac_access.credentials import EarthdataLogin, S3Credentials
from xstac_access.http import fetch
from xstac_access.readers._gdal import clear_vsicurl_cache
from xstac_access.testing.replica import CDSE_S3_KEYS, cdse_v1, eopf, hls

AWS_KEYS = {"key": "AKIDEXAMPLEUSER", "secret": "the-users-own-aws-secret"}  # moto takes any


@pytest.fixture
def world(local_world):
    """The session world with empty logs; GDAL's per-process caches (blocks by URL, the regions
    and endpoints it learns per bucket from redirects) cleared before and after."""
    clear_vsicurl_cache()
    local_world.files.reset()
    local_world.s3.rules_log(clear=True)
    credentials.reset()
    yield local_world
    clear_vsicurl_cache()
    credentials.reset()


def _bucket_file(world, href: str):
    """The generated file behind an ``s3://bucket/key`` href."""
    bucket, _, key = href[len("s3://") :].partition("/")
    return world.replica.s3_buckets[bucket] / key


def _window(path, rows: int = 64, cols: int = 64, row: int = 0, col: int = 0) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read(1, window=Window(col, row, cols, rows))


def _answers(world) -> set[tuple[int, str | None]]:
    return {(e["status"], e["code"]) for e in world.s3.rules_log()}


# -- 1. EOPF: Ceph tenant buckets ---------------------------------------------------------------


def _s3_form(world, href: str) -> str:
    """``<endpoint>/<tenant>:<bucket>/key`` -> ``s3://<tenant>:<bucket>/key`` (both are real)."""
    assert href.startswith(f"{world.endpoints.s3}/{eopf.TENANT}:")
    return "s3://" + href[len(world.endpoints.s3) + 1 :]


def test_eopf_tenant_bucket_products_open_over_s3_as_over_https(world):
    item = replica_item(world, "eopf-sentinel-2-l2a")
    over_https = xr.open_dataset(item, engine="stacasset", asset="SR_20m")
    for asset in item["assets"].values():
        if asset["href"].startswith(world.endpoints.s3):
            asset["href"] = _s3_form(world, asset["href"])
    assert item["assets"]["product"]["href"].startswith(f"s3://{eopf.S2.bucket}/")
    eopf_preset = {"eopf": world.credentials()["eopf"]}  # anonymous, path-style, own endpoint
    over_s3 = xr.open_dataset(item, engine="stacasset", asset="SR_20m", credentials=eopf_preset)
    np.testing.assert_array_equal(over_s3["b05"][:40, :40], over_https["b05"][:40, :40])
    tree = xr.open_datatree(item, engine="stacasset", credentials=eopf_preset)
    assert {"measurements", "quality", "conditions"} <= set(tree.children)


def test_zarr_over_s3_pickles_without_the_keys_and_reads_after_a_round_trip(world):
    item = replica_item(world, "eopf-sentinel-2-l2a")
    root = _s3_form(world, item["assets"]["product"]["href"])
    keys = {**world.credentials()["eopf"], "key": "AKIDEOPF", "secret": "eopf-secret-not-pickled"}
    ds = xr.open_dataset(
        f"{root}/measurements/reflectance/r60m", engine="stacasset", credentials={"eopf": keys},
        chunks={},
    )  # fmt: skip
    blob = pickle.dumps(ds)
    assert b"eopf-secret-not-pickled" not in blob and b"AKIDEOPF" not in blob
    again = pickle.loads(blob)
    np.testing.assert_array_equal(again["b01"][:20, :20].values, ds["b01"][:20, :20].values)


def test_eopf_tenant_bucket_download_and_errors_name_the_whole_bucket(world, tmp_path, capsys):
    item = replica_item(world, "eopf-sentinel-2-l2a")
    href = _s3_form(world, item["assets"]["product_metadata"]["href"])
    item["assets"] = {"product_metadata": {**item["assets"]["product_metadata"], "href": href}}
    eopf_preset = {"eopf": world.credentials()["eopf"]}
    (entry,) = download(item, tmp_path, progress=False, credentials=eopf_preset).entries
    assert entry.status == "fetched", entry.error
    assert entry.path.read_bytes() == _bucket_file(world, href).read_bytes()

    missing = href.replace(".zmetadata", "measurements/nothing-here.tif")
    with pytest.raises(errors.HrefNotFoundError) as info:
        xr.open_dataset(missing, engine="stacasset", credentials=eopf_preset)
    assert f"s3://{eopf.S2.bucket}/" in str(info.value) and info.value.host == eopf.S2.bucket

    from xstac_access.cli import main

    assert main(["auth", href]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown[0] == href  # the tenant's bucket is part of the href, not a port
    assert [line.split() for line in shown if line.startswith("  rule ")] == [
        ["rule", f"s3://{eopf.TENANT}:*"]
    ]


# -- 3. Earth Search: buckets in eu-central-1, requester pays -----------------------------------


def test_earthsearch_preset_reads_the_jp2_twins_where_they_are_and_pays(world):
    item = replica_item(world, "sentinel-2-l2a")  # its "-jp2" assets have no storage fields
    preset = {"earthsearch": world.credentials()["earthsearch"]}  # your keys and the endpoint
    ds = xr.open_dataset(
        item, engine="stacasset", asset="red-jp2", credentials=preset, mask_and_scale=False
    )
    expected = _window(_bucket_file(world, item["assets"]["red-jp2"]["href"]))
    np.testing.assert_array_equal(ds["red"][:64, :64].values, expected)
    log = world.s3.rules_log()
    assert log and _answers(world) <= {(200, None), (206, None)}
    assert {(e["region"], e["requester_pays"]) for e in log} == {("eu-central-1", True)}


def test_the_old_us_west_2_preset_is_sent_to_the_buckets_own_region(world):
    """What the preset said before: every bucket in us-west-2. AWS answers a request signed for
    the wrong region with a redirect to the bucket's endpoint (301 PermanentRedirect,
    ``x-amz-bucket-region: eu-central-1``); GDAL follows it away from the configured endpoint
    (here to an unreachable host) and the open fails."""
    item = replica_item(world, "sentinel-2-l2a")
    old = {**world.credentials()["earthsearch"], "region": "us-west-2", "requester_pays": True}
    with pytest.raises(errors.XStacError):
        xr.open_dataset(item, engine="stacasset", asset="red-jp2", credentials={"earthsearch": old})
    log = world.s3.rules_log()
    assert (301, "PermanentRedirect", "us-west-2") in {
        (e["status"], e["code"], e["region"]) for e in log
    }


def test_requester_pays_reaches_gdal_s3fs_and_downloads(world, tmp_path):
    item = replica_item(world, "sentinel-1-grd")
    preset = {"earthsearch": world.credentials()["earthsearch"]}
    ds = xr.open_dataset(item, engine="stacasset", asset="hh", credentials=preset)
    hh = item["assets"]["hh"]["href"]
    np.testing.assert_array_equal(
        ds["hh"][:32, :32].values, _window(_bucket_file(world, hh), 32, 32)
    )
    manifest = item["assets"]["safe-manifest"]["href"]
    body = fetch(manifest, broker=credentials.broker_from(preset), what="manifest")
    assert body == _bucket_file(world, manifest).read_bytes()
    report = download(item, tmp_path, assets=["hh"], progress=False, credentials=preset)
    (entry,) = report.entries
    assert entry.status == "fetched", entry.error
    digest = hashlib.sha256(_bucket_file(world, hh).read_bytes()).hexdigest()
    assert hashlib.sha256(entry.path.read_bytes()).hexdigest() == digest
    log = world.s3.rules_log()
    assert {e["method"] for e in log} >= {"GET", "HEAD"}  # GDAL, s3fs and download alike
    assert _answers(world) <= {(200, None), (206, None)}  # no redirect, no refusal
    assert {(e["region"], e["requester_pays"]) for e in log} == {("eu-central-1", True)}


def test_the_item_says_which_region_its_bucket_is_in_and_that_readers_pay(world):
    """Earth Search's S1 items carry ``storage:region`` and ``storage:requester_pays``: a
    credential configured for another region (as the old preset was) and without paying reads
    all the same, with no redirect."""
    item = replica_item(world, "sentinel-1-grd")
    assert item["properties"]["storage:region"] == "eu-central-1"
    wrong = S3Credentials(**AWS_KEYS, endpoint_url=world.endpoints.s3, region="us-west-2")
    ds = xr.open_dataset(
        item,
        engine="stacasset",
        asset="hh",
        credentials={"rules": [("s3://sentinel-s1-l1c/*", wrong)]},
    )
    expected = _window(_bucket_file(world, item["assets"]["hh"]["href"]), 16, 16, 100, 200)
    np.testing.assert_array_equal(ds["hh"][100:116, 200:216].values, expected)
    log = world.s3.rules_log()
    assert log and _answers(world) <= {(200, None), (206, None)}
    assert {(e["region"], e["requester_pays"]) for e in log} == {("eu-central-1", True)}


def test_storage_extension_v1_and_v2_locations():
    from xstac_access._s3 import Location, item_location

    hls_item = offline_item(hls, "HLSS30_2.0")  # CMR-STAC: storage:refs -> storage:schemes
    assert item_location(hls_item["assets"]["s3_B04"], hls_item) == Location("us-west-2")
    assert item_location(hls_item["assets"]["B04"], hls_item) == Location()
    cdse = {  # the CDSE STAC API's scheme: a custom S3 endpoint, no region, nobody pays
        "properties": {"storage:schemes": {"cdse-s3": {
            "type": "custom-s3", "platform": "https://eodata.dataspace.copernicus.eu",
            "requester_pays": False,
        }}},
    }  # fmt: skip
    assert item_location({"storage:refs": ["cdse-s3"]}, cdse) == Location(None, False)
    landsat = {"storage:region": "us-west-2", "storage:requester_pays": True}  # on the asset
    assert item_location(landsat, {"properties": {}}) == Location("us-west-2", True)


# -- 2. CDSE: eodata with the user's own keys ---------------------------------------------------


def _cdse_v1_item(world) -> dict:
    return next(i for i in world.replica.items if i["collection"] == cdse_v1.COLLECTION)


def test_cdse_v1_bands_read_from_eodata_with_the_cdse_s3_preset(world, tmp_path):
    item = _cdse_v1_item(world)
    href = item["assets"]["B04_10m"]["href"]
    assert href.startswith(f"s3://{cdse_v1.BUCKET}/")
    preset = {"cdse_s3": world.credentials()["cdse_s3"]}  # your keys: the asset's own href
    ds = xr.open_dataset(
        item, engine="stacasset", asset="B04_10m", credentials=preset, mask_and_scale=False
    )
    name = next(iter(ds.data_vars))
    assert ds[name].encoding["source"] == href
    np.testing.assert_array_equal(ds[name][:64, :64].values, _window(_bucket_file(world, href)))
    report = download(item, tmp_path, assets=["SCL_20m"], credentials=preset, progress=False)
    (entry,) = report.entries
    assert entry.status == "fetched", entry.error
    scl = item["assets"]["SCL_20m"]["href"]
    assert entry.path.read_bytes() == _bucket_file(world, scl).read_bytes()
    assert CDSE_S3_KEYS["secret"].encode() not in pickle.dumps(ds)
    log = world.s3.rules_log()
    assert log and _answers(world) <= {(200, None), (206, None)}
    assert {(e["bucket"], e["region"]) for e in log} == {(cdse_v1.BUCKET, "default")}


@pytest.mark.parametrize(
    ("keys", "code"),
    [
        ({"anon": True}, "AccessDenied"),
        ({"key": CDSE_S3_KEYS["key"], "secret": "not-the-secret"}, "SignatureDoesNotMatch"),
        ({"key": "someone-elses-key", "secret": "x"}, "InvalidAccessKeyId"),
    ],
)
def test_eodata_refuses_anonymous_and_unknown_keys(world, keys, code):
    href = _cdse_v1_item(world)["assets"]["B04_10m"]["href"]
    wrong = S3Credentials(**keys, endpoint_url=world.endpoints.s3, region="default")
    with pytest.raises(errors.AuthError) as info:
        fetch(href, broker=credentials.Broker().add(f"s3://{cdse_v1.BUCKET}/*", wrong))
    assert f"bucket {cdse_v1.BUCKET} refused access" in str(info.value)
    assert "cdse_s3" in str(info.value)  # which preset takes the keys
    assert {c for _, c in _answers(world)} == {code}


# -- 4. Earthdata: a DAAC's temporary S3 keys ---------------------------------------------------


def test_hls_s3_assets_read_with_daac_keys_renewed_before_they_expire(world):
    from xstac_access.credentials.earthdata_s3 import EarthdataS3

    item = replica_item(world, "HLSS30_2.0")
    href = item["assets"]["s3_B04"]["href"]
    assert href.startswith(f"s3://{hls.S3_BUCKET}/HLSS30.020/")
    earthdata = {"earthdata": world.credentials()["earthdata"]}
    ds = xr.open_dataset(item, engine="stacasset", asset="s3_B04", credentials=earthdata)
    np.testing.assert_array_equal(ds["s3_B04"][:64, :64].values, _window(_bucket_file(world, href)))
    provider = credentials.broker_from(earthdata).provider_for(href)
    assert isinstance(provider, EarthdataS3) and provider.requests == 1
    http = world.files.stats()["log"]
    assert [e["status"] for e in http if e["path"] == "/s3credentials"] == [302, 200]  # login
    assert sum(e["path"] == "/oauth/authorize" for e in http) == 1

    world.advance_clock(3600 - provider.margin + 1)  # the keys expire within the margin
    later = ds["s3_B04"][512:576, 512:576].values
    np.testing.assert_array_equal(later, _window(_bucket_file(world, href), row=512, col=512))
    assert provider.requests == 2  # new keys, fetched once, before the old ones expired
    assert [e["status"] for e in world.files.stats()["log"] if e["path"] == "/s3credentials"] == [
        302, 200, 200  # the session cookie is kept: no second login
    ]  # fmt: skip
    log = world.s3.rules_log()
    assert log and _answers(world) <= {(200, None), (206, None)}
    assert {(e["region"], e["signed"]) for e in log} == {("us-west-2", True)}


def test_lp_daac_bucket_takes_only_unexpired_issued_keys(world):
    from xstac_access.credentials.earthdata_s3 import EarthdataS3

    item = replica_item(world, "HLSS30_2.0")
    href = item["assets"]["s3_Fmask"]["href"]
    options = world.credentials()["earthdata"]
    login = EarthdataLogin(
        username=options["username"], password=options["password"],
        login_host=options["login_host"],
    )  # fmt: skip
    url = options["s3_credentials"][hls.S3_BUCKET]
    keys_broker = credentials.Broker().add(url, login)  # the keys endpoint wants the login
    provider = EarthdataS3(url, login, keys_broker=keys_broker, endpoint_url=world.endpoints.s3)
    issued = provider.material(href).s3_options()
    keys = {k: issued[k] for k in ("key", "secret", "token")}
    stale = S3Credentials(**keys, endpoint_url=world.endpoints.s3, region="us-west-2")
    rules = credentials.Broker().add(f"s3://{hls.S3_BUCKET}/*", stale)
    assert fetch(href, byte_range=(0, 2), broker=rules) in (b"II", b"MM")
    world.advance_clock(3600 + 1)
    with pytest.raises(errors.AuthError):
        fetch(href, byte_range=(0, 2), broker=rules)
    anonymous = S3Credentials(anon=True, endpoint_url=world.endpoints.s3)
    with pytest.raises(errors.AuthError):
        fetch(href, broker=credentials.Broker().add(f"s3://{hls.S3_BUCKET}/*", anonymous))
    assert _answers(world) == {(206, None), (400, "ExpiredToken"), (403, "AccessDenied")}
