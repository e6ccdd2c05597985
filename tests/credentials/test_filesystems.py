"""The broker's credentials through fsspec (what Zarr stores read with), asserted at the server."""

from __future__ import annotations

import pickle

import pytest
import xarray as xr

from xstac_access import _clock, credentials
from xstac_access.credentials import S3Credentials, Secret
from xstac_access.credentials.filesystems import filesystem_for
from xstac_access.credentials.material import Material


def first(world, collection: str) -> dict:
    return sorted(
        (i for i in world.replica.items if i["collection"] == collection), key=lambda i: i["id"]
    )[0]


@pytest.fixture
def maap_broker(world):
    e = world.endpoints
    offline = world.oidc.offline_token("maap", "maap-user")
    broker = credentials.broker_from({"maap": {
        "offline_token": offline, "client_secret": "offline-token-public-secret",
        "token_url": f"{e.oidc}/realms/maap/protocol/openid-connect/token",
        "hosts": [f"{e.http}/maap/data/*"],
    }})  # fmt: skip
    return broker, offline


def test_bearer_credential_reaches_fsspec_and_the_filesystem_pickles_without_it(world, maap_broker):
    broker, offline = maap_broker
    href = first(world, "BiomassLevel1a")["assets"]["enclosure_i_abs_tiff"]["href"]
    fs = filesystem_for(href, broker)
    assert fs.cat_file(href, start=0, end=4) == b"II*\x00"
    blob = pickle.dumps(fs)
    access = broker.provider_for(href)._material.headers["Authorization"].reveal()
    assert offline.encode() not in blob and access.split()[1].encode() not in blob
    assert pickle.loads(blob).cat_file(href, start=4, end=8) is not None
    log = world.files.stats()["log"]
    assert len(log) == 2 and all(e["authorization"] and e["status"] == 206 for e in log)
    assert world.oidc.token_requests("maap", "refresh_token") == 1


def test_fsspec_refreshes_once_after_a_401(world, maap_broker):
    broker, _ = maap_broker
    href = first(world, "BiomassLevel1a")["assets"]["enclosure_i_phase_tiff"]["href"]
    broker.provider_for(href)._material = Material.build(
        headers={"Authorization": Secret("Bearer revoked.token.value")},
        expires_at=_clock.now() + 3600,  # on the world's clock, which tests move
    )
    fs = filesystem_for(href, broker)
    assert fs.cat_file(href, start=0, end=2) == b"II"
    assert [e["status"] for e in world.files.stats()["log"]] == [401, 206]
    assert world.oidc.token_requests("maap", "refresh_token") == 1


def test_earthdata_login_through_fsspec(world):
    e = world.endpoints
    broker = credentials.broker_from({"earthdata": {
        "username": "edl-user", "password": "edl-pass", "login_host": e.http_alt.split("://")[1],
        "hosts": [f"{e.http}/hls/protected/*"],
    }})  # fmt: skip
    granule = first(world, "HLSS30_2.0")
    fs = filesystem_for(granule["assets"]["B04"]["href"], broker)
    for key in ("B04", "Fmask"):
        assert fs.cat_file(granule["assets"][key]["href"], start=0, end=2) == b"II"
    log = world.files.stats()["log"]
    assert [x["path"] for x in log].count("/oauth/authorize") == 1
    assert all(not x["authorization"] for x in log if x["host"] == "main")
    tea = [x for x in log if x["path"].startswith("/hls/protected/") and x["status"] == 303]
    assert len(tea) == 2 and all(x["cookie"] for x in tea)  # the data host: cookie, then 303
    data = [x for x in log if x["path"].startswith("/hls/protected/") and x["status"] == 206]
    assert len(data) == 2 and not [x for x in data if x["cookie"] or x["authorization"]]


def zarr_store(href, broker):
    """A zarr 3 store over the asynchronous filesystem: zarr drives it from its own loop."""
    from zarr.storage import FsspecStore

    fs = filesystem_for(href, broker, asynchronous=True)
    return FsspecStore(fs, path=fs._strip_protocol(href), read_only=True)


def test_zarr_product_opens_through_the_filesystem_over_http_and_s3(world, maap_broker):
    broker, _ = maap_broker
    item = first(world, "eopf-sentinel-2-l2a")
    href = item["assets"]["product"]["href"]
    tree = xr.open_datatree(
        zarr_store(href, broker),
        engine="zarr",
        chunks={},
        decode_timedelta=False,
    )
    assert {"conditions", "measurements", "quality"} <= set(tree.children)
    bucket_path = href[len(world.endpoints.s3) + 1 :]
    s3_href = f"s3://{bucket_path}"
    rules = credentials.Broker(
        [
            credentials.Rule(
                f"s3://{bucket_path.split('/')[0]}/*",
                S3Credentials(anon=True, endpoint_url=world.endpoints.s3),
            )
        ]
    )
    s3_tree = xr.open_datatree(
        zarr_store(s3_href, rules),
        engine="zarr",
        chunks={},
        decode_timedelta=False,
    )
    assert set(s3_tree.children) == set(tree.children)


def test_fsspec_hops_get_the_credentials_our_own_reads_give_them(world):
    """The aiohttp middleware decides each hop with the requests side's code: here CDSE's
    download host is also the Earthdata login host, and a CDSE redirect there carries the CDSE
    bearer (its provider trusts that host), not Earthdata's Basic login; Earthdata's chain logs
    in there once, and its presigned hop carries nothing."""
    broker = credentials.broker_from(world.credentials())
    product = first(world, "cdse-sentinel-2-l2a")["assets"]["PRODUCT"]["href"]
    assert filesystem_for(product, broker).cat_file(product, start=0, end=4) == b"PK\x03\x04"
    granule = first(world, "HLSS30_2.0")["assets"]["B04"]["href"]
    assert filesystem_for(granule, broker).cat_file(granule, start=0, end=2) == b"II"
    log = world.files.stats()["log"]
    cdse_hop = [e for e in log if e["host"] == "alt" and e["path"].startswith("/cdse/")]
    assert [e["status"] for e in cdse_hop] == [206] and cdse_hop[0]["authorization"]
    bearer = cdse_hop[0]["auth_sha256"]
    first_hop = [e for e in log if e["host"] == "main" and e["path"].startswith("/cdse/")]
    assert [e["status"] for e in first_hop] == [302] and first_hop[0]["auth_sha256"] == bearer
    logins = [e for e in log if e["path"] == "/oauth/authorize"]
    assert len(logins) == 1 and logins[0]["authorization"] and logins[0]["auth_sha256"] != bearer
    presigned = [e for e in log if e["host"] == "alt" and e["path"].startswith("/hls/")]
    assert presigned and not [e for e in presigned if e["cookie"] or e["authorization"]]
