"""The credential flows of the five systems against the local token, file and S3 servers.

Every claim about who received what is checked at the server: the file server logs whether an
Authorization header or cookie arrived (and the sha256 of the header), the token server counts
grants. Tokens age on the world's shared clock (``advance_clock``), never by sleeping.
"""

from __future__ import annotations

import copy
import ctypes
import hashlib
import pickle
import threading

import numpy as np
import pytest
import xarray as xr

from xstac_access import _clock, credentials, errors
from xstac_access.credentials import BearerToken, S3Credentials, SasSigner, Secret
from xstac_access.credentials.material import Material
from xstac_access.http import fetch
from xstac_access.readers._gdal import clear_vsicurl_cache


def items_of(world, collection: str) -> list[dict]:
    """Copies of the replica's items of a collection: tests may change them freely."""
    items = (i for i in world.replica.items if i["collection"] == collection)
    return copy.deepcopy(sorted(items, key=lambda i: i["id"]))


def host(url: str) -> str:
    return url.split("://", 1)[1]


def token_url(world, realm: str) -> str:
    return f"{world.endpoints.oidc}/realms/{realm}/protocol/openid-connect/token"


def maap(world, **extra) -> dict:
    options = {
        "token_url": token_url(world, "maap"),
        "client_secret": "offline-token-public-secret",
        "hosts": [f"{world.endpoints.http}/maap/data/*"],
        **extra,
    }
    if "offline_token_file" not in extra:
        options.setdefault("offline_token", world.oidc.offline_token("maap", "maap-user"))
    return {"maap": options}


def cdse(world) -> dict:
    return {
        "cdse": {
            "token_url": token_url(world, "cdse"),
            "username": "cdse-user",
            "password": "cdse-pass",
            "hosts": [f"{world.endpoints.http}/cdse/*"],
            "trusted_hosts": [host(world.endpoints.http_alt)],
        }
    }


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@pytest.fixture
def world(local_world):
    """The session world with clean counters and GDAL cache; settings restored after."""
    clear_vsicurl_cache()  # GDAL caches per URL, not per credential: start each flow cold
    local_world.files.reset()
    credentials.reset()  # fresh providers: no token or cookie from an earlier test
    local_world.oidc.reset()
    yield local_world
    local_world.files.set_latency(0)
    local_world.files.set_config(local_world.replica.server_config)
    local_world.oidc.set_access_token_lifetime(300)


def test_maap_offline_token_to_gcp_geotiff_window(world):
    item = items_of(world, "BiomassLevel1a")[0]
    creds = maap(world)
    ds = xr.open_dataset(item, engine="stacasset", asset="enclosure_i_abs_tiff", credentials=creds)
    assert list(ds.data_vars) == ["HH", "HV", "VH", "VV"]
    assert len(ds.rio.get_gcps()) == 121
    window = ds["VV"][100:228, 50:178].values
    assert window.shape == (128, 128) and np.isfinite(window).all()
    assert world.oidc.token_requests("maap", "refresh_token") == 1
    provider = credentials.broker_from(creds).provider_for(
        item["assets"]["enclosure_i_abs_tiff"]["href"]
    )
    access_header = provider._material.headers["Authorization"].reveal()
    data = [e for e in world.files.stats()["log"] if e["path"].startswith("/maap/data/")]
    assert data and all(e["status"] in (200, 206) for e in data)
    assert {e["auth_sha256"] for e in data} == {sha(access_header)}  # the access token, only


def test_rotated_offline_token_is_written_back_to_the_users_file(world, tmp_path):
    original = world.oidc.offline_token("maap", "maap-user")
    token_file = tmp_path / "maap-token.txt"
    token_file.write_text(original + "\n")
    item = items_of(world, "BiomassLevel1a")[1]
    ds = xr.open_dataset(
        item,
        engine="stacasset",
        asset="enclosure_i_phase_tiff",
        credentials=maap(world, offline_token_file=str(token_file)),
    )
    ds["HH"][:16, :16].load()
    rotated = token_file.read_text().strip()
    assert rotated and rotated != original
    assert token_file.stat().st_mode & 0o777 == 0o600
    with pytest.raises(errors.AuthError, match="invalid_grant"):  # the server rotated it too
        credentials.OidcRefreshToken(
            token_url(world, "maap"),
            "offline-token",
            client_secret="offline-token-public-secret",
            refresh_token=original,
        ).material("x")


#: Seconds to age a 300 s access token so that it is inside the library's refresh margin (60 s)
#: yet still accepted by the servers.
INSIDE_MARGIN = 270


def test_access_token_is_refreshed_before_it_expires(world):
    item = items_of(world, "BiomassLevel1a")[0]
    ds = xr.open_dataset(
        item, engine="stacasset", asset="enclosure_i_abs_tiff", credentials=maap(world)
    )
    ds["HH"][:8, :8].load()
    world.advance_clock(INSIDE_MARGIN)
    ds["HV"][200:260, 200:260].load()
    assert world.oidc.token_requests("maap", "refresh_token") == 2
    data = [e for e in world.files.stats()["log"] if e["path"].startswith("/maap/data/")]
    assert 401 not in {e["status"] for e in data}
    assert len({e["auth_sha256"] for e in data}) == 2  # the reads after it carried the new one


def test_a_refused_token_is_refreshed_once_and_the_read_succeeds(world):
    item = items_of(world, "BiomassLevel1a")[0]
    creds = maap(world)
    href = item["assets"]["enclosure_i_abs_tiff"]["href"]
    provider = credentials.broker_from(creds).provider_for(href)
    provider._material = Material.build(  # a token the server no longer accepts
        headers={"Authorization": Secret("Bearer revoked.token.value")},
        expires_at=_clock.now() + 3600,  # on the world's clock, which tests move
    )
    ds = xr.open_dataset(item, engine="stacasset", asset="enclosure_i_abs_tiff", credentials=creds)
    assert ds["HH"][:8, :8].values.shape == (8, 8)
    statuses = [e["status"] for e in world.files.stats()["log"]]
    assert statuses.count(401) == 1
    assert world.oidc.token_requests("maap", "refresh_token") == 1


def test_a_wrong_static_token_is_an_auth_error_naming_the_host(world):
    item = items_of(world, "BiomassLevel1a")[0]
    rules = {"rules": [(f"{world.endpoints.http}/maap/data/*", BearerToken("not-a-jwt"))]}
    with pytest.raises(errors.AuthError) as info:
        xr.open_dataset(item, engine="stacasset", asset="enclosure_i_abs_tiff", credentials=rules)
    assert host(world.endpoints.http) in str(info.value)
    assert "not-a-jwt" not in str(info.value)


def test_refresh_is_single_flight_across_eight_threads(world):
    item = items_of(world, "BiomassLevel1a")[0]
    creds = maap(world)
    barrier = threading.Barrier(8)
    results: list[float] = []

    def read(band: str) -> None:
        barrier.wait()
        ds = xr.open_dataset(
            item, engine="stacasset", asset="enclosure_i_abs_tiff", credentials=creds
        )
        results.append(float(ds[band][:64, :64].mean()))

    threads = [threading.Thread(target=read, args=(b,)) for b in ["HH", "HV", "VH", "VV"] * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == 8
    assert world.oidc.token_requests("maap", "refresh_token") == 1


def test_cdse_password_once_then_refresh_and_auth_survives_the_trusted_redirect(world):
    item = items_of(world, "cdse-sentinel-2-l2a")[0]
    href = item["assets"]["PRODUCT"]["href"]
    broker = credentials.broker_from(cdse(world))
    head = fetch(href, byte_range=(0, 4), broker=broker)
    assert head == b"PK\x03\x04"
    world.advance_clock(INSIDE_MARGIN)
    fetch(href, byte_range=(4, 8), broker=broker)
    assert world.oidc.token_requests("cdse", "password") == 1
    assert world.oidc.token_requests("cdse", "refresh_token") == 1
    log = world.files.stats()["log"]
    downloads = [e for e in log if e["host"] == "alt"]
    assert len(downloads) == 2 and all(e["authorization"] and e["status"] == 206 for e in downloads)
    assert all(e["status"] == 302 for e in log if e["host"] == "main")


def test_every_preset_at_once_keeps_each_flow_apart(world):
    """Here the CDSE download host is also the Earthdata login host: a CDSE redirect there must
    carry the CDSE bearer (the host is trusted for it), not Earthdata's Basic login."""
    broker = credentials.broker_from(world.credentials())
    product = items_of(world, "cdse-sentinel-2-l2a")[0]["assets"]["PRODUCT"]["href"]
    assert fetch(product, byte_range=(0, 4), broker=broker) == b"PK\x03\x04"
    granule = items_of(world, "HLSS30_2.0")[0]["assets"]["B04"]["href"]
    assert fetch(granule, byte_range=(0, 4), broker=broker) in (b"II*\x00", b"MM\x00*")
    log = world.files.stats()["log"]
    cdse_hop = [e for e in log if e["host"] == "alt" and e["path"].startswith("/cdse/")]
    assert [e["status"] for e in cdse_hop] == [206] and cdse_hop[0]["authorization"]
    assert world.oidc.token_requests("cdse", "password") == 1
    logins = [e for e in log if e["path"] == "/oauth/authorize"]
    assert len(logins) == 1 and logins[0]["authorization"]


def test_reads_outside_a_credentials_scope_carry_nothing(world):
    """Every preset configured: public files on the same host and port (other paths) and on
    the other host, read through our HTTP, GDAL and fsspec, get no Authorization or cookie."""
    creds = world.credentials()
    broker = credentials.broker_from(creds)
    maap_item = items_of(world, "BiomassLevel1a")[0]
    sar = xr.open_dataset(maap_item, engine="stacasset", asset="enclosure_i_abs_tiff",
                          credentials=creds)  # fmt: skip
    assert sar["HH"][:8, :8].values.shape == (8, 8)
    public = items_of(world, "sentinel-2-l2a")[0]
    kml = maap_item["assets"]["quicklook_kml"]["href"]  # /maap/browse: outside /maap/data/*
    assert fetch(kml, broker=broker).lstrip().startswith(b"<")
    red = xr.open_dataset(public, engine="stacasset", asset="red", credentials=creds)
    assert red["red"][:8, :8].values.shape == (8, 8)
    alt = public["assets"]["nir"]["href"].replace(world.endpoints.http, world.endpoints.http_alt)
    assert fetch(alt, byte_range=(0, 4), broker=broker)[:2] == b"II"
    log = world.files.stats()["log"]
    protected = [e for e in log if e["path"].startswith("/maap/data/")]
    assert protected and all(e["authorization"] for e in protected)
    outside = [e for e in log if not e["path"].startswith(("/maap/data/", "/oauth/"))]
    assert {e["path"] for e in outside} >= {kml.removeprefix(world.endpoints.http)}
    assert not [e for e in outside if e["authorization"] or e["cookie"]]


def test_a_redirect_to_an_untrusted_host_carries_no_authorization(world):
    item = items_of(world, "BiomassLevel1a")[0]
    public = items_of(world, "sentinel-2-l2a")[0]["assets"]["red"]["href"]
    target = public[len(world.endpoints.http) :]
    config = dict(world.replica.server_config)
    config["redirects"] = [
        *config["redirects"],
        {"host": "main", "path": "/maap/data/moved.tif", "to_host": "alt", "to_path": target},
    ]
    world.files.set_config(config)
    creds = maap(world)
    moved = f"{world.endpoints.http}/maap/data/moved.tif"
    # our own transport
    assert fetch(moved, byte_range=(0, 4), broker=credentials.broker_from(creds))[:2] == b"II"
    # GDAL, following the redirect itself
    item["assets"]["enclosure_i_abs_tiff"]["href"] = moved
    ds = xr.open_dataset(item, engine="stacasset", asset="enclosure_i_abs_tiff", credentials=creds)
    assert ds["enclosure_i_abs_tiff"][:4, :4].values.shape == (4, 4)
    log = world.files.stats()["log"]
    assert any(e["host"] == "main" and e["authorization"] for e in log)
    alt = [e for e in log if e["host"] == "alt"]
    leaked = [
        (e["method"], e["range"], e["authorization"], e["cookie"])
        for e in alt
        if e["authorization"] or e["cookie"]
    ]
    assert alt and not leaked


def test_earthdata_login_redirect_once_then_cookies(world):
    granule = items_of(world, "HLSS30_2.0")[0]
    creds = {
        "earthdata": {
            "username": "edl-user",
            "password": "edl-pass",
            "login_host": host(world.endpoints.http_alt),
            "hosts": [f"{world.endpoints.http}/hls/protected/*"],
        }
    }
    b04 = xr.open_dataset(granule, engine="stacasset", asset="B04", credentials=creds)
    fmask = xr.open_dataset(granule, engine="stacasset", asset="Fmask", credentials=creds)
    assert b04["B04"][:32, :32].values.shape == fmask["Fmask"][:32, :32].values.shape
    provider = credentials.broker_from(creds).provider_for(granule["assets"]["B04"]["href"])
    assert provider.logins == 1
    log = world.files.stats()["log"]
    logins = [e for e in log if e["path"] == "/oauth/authorize"]
    assert len(logins) == 1 and logins[0]["host"] == "alt" and logins[0]["authorization"]
    data = [e for e in log if e["path"].startswith("/hls/protected/")]
    tea = [e for e in data if e["host"] == "main" and e["status"] == 303]  # to presigned S3
    assert tea and all(e["cookie"] and not e["authorization"] for e in tea)
    presigned = [e for e in data if e["host"] == "alt"]  # the signature is the credential there
    assert presigned and all(e["status"] in (200, 206) for e in presigned)
    assert not [e for e in presigned if e["cookie"] or e["authorization"]]


def test_anonymous_reads_of_a_requester_pays_bucket_are_refused_with_a_typed_error(world):
    """As on AWS: ``sentinel-s1-l1c`` wants signed requests from a reader who pays."""
    item = items_of(world, "sentinel-1-grd")[0]
    anonymous = S3Credentials(anon=True, endpoint_url=world.endpoints.s3)
    rules = {"rules": [("s3://sentinel-s1-l1c/*", anonymous)]}
    world.s3.rules_log(clear=True)
    with pytest.raises(errors.AuthError) as info:
        xr.open_dataset(item, engine="stacasset", asset="hh", credentials=rules)
    assert "sentinel-s1-l1c" in str(info.value) and "requester_pays" in str(info.value)
    log = world.s3.rules_log()
    assert log and {(e["status"], e["code"], e["signed"]) for e in log} == {
        (403, "AccessDenied", False)
    }


def test_sas_urls_are_resigned_before_the_token_expires(world):
    config = {**world.replica.server_config, "sas": {"lifetime": 60}}
    world.files.set_config(config)
    item = items_of(world, "pc-sentinel-2-l2a")[0]
    signer = SasSigner(
        world.endpoints.http + "/sas/token/{account}/{container}",
        account="sentinel2l2a01",
        container="sentinel2-l2",
        margin=2.0,
    )
    creds = {"rules": [(f"{world.endpoints.http}/pc/*", signer)]}
    ds = xr.open_dataset(item, engine="stacasset", asset="B04", credentials=creds)
    first = ds["B04"][:64, :64].values
    world.advance_clock(59)  # inside the margin, still valid: the next read signs again
    again = ds["B04"][:64, :64].values
    np.testing.assert_array_equal(first, again)
    log = world.files.stats()["log"]
    assert sum(e["path"].startswith("/sas/token/") for e in log) == 2 == signer.requests
    assert 403 not in {e["status"] for e in log}
    assert all("sig=***" in e["query"] for e in log if e["path"].startswith("/pc/"))


def test_authorised_reads_from_the_main_thread_never_set_process_wide_gdal_options(world):
    """rasterio.Env in the main thread is process-wide: the token would reach other threads."""
    from xstac_access.readers._gdalfail import _gdal_library

    lib = _gdal_library()
    lib.CPLGetGlobalConfigOption.restype = ctypes.c_char_p
    lib.CPLGetGlobalConfigOption.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    seen: set[bytes | None] = set()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.add(lib.CPLGetGlobalConfigOption(b"GDAL_HTTP_HEADERS", None))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        item = items_of(world, "BiomassLevel1a")[0]
        ds = xr.open_dataset(
            item, engine="stacasset", asset="enclosure_i_abs_tiff", credentials=maap(world)
        )
        for band in ("HH", "HV", "VH", "VV"):
            ds[band][:64, :64].load()
    finally:
        stop.set()
        watcher.join()
    assert any(e["authorization"] for e in world.files.stats()["log"])
    assert seen == {None}


def test_s3_keys_sign_requests_but_never_travel_with_the_dataset(world):
    item = items_of(world, "sentinel-1-grd")[0]
    keys = S3Credentials(
        key="AKIDEXAMPLEKEY", secret="s3-secret-never-pickled", endpoint_url=world.endpoints.s3
    )
    rules = {"rules": [("s3://sentinel-s1-l1c/*", keys)]}
    ds = xr.open_dataset(item, engine="stacasset", asset="hh", credentials=rules, chunks={})
    assert int(ds["hh"][:16, :16].count().compute()) == 256
    blob = pickle.dumps(ds)
    assert b"s3-secret-never-pickled" not in blob and b"AKIDEXAMPLEKEY" not in blob
    assert "s3-secret-never-pickled" not in repr(keys)
