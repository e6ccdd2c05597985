"""Credentials on a dask.distributed LocalCluster with worker processes and expiring tokens."""

from __future__ import annotations

import hashlib
import pickle
import time

import dask.array as da
import pytest
import xarray as xr
from distributed import Client, LocalCluster

from xstac_access import credentials
from xstac_access.readers._gdal import clear_vsicurl_cache

LIFETIME = 3  # seconds an access token lives


def _slow_identity(block):
    time.sleep(0.25)
    return block


@pytest.fixture
def short_tokens(local_world):
    clear_vsicurl_cache()
    local_world.oidc.reset()
    local_world.files.reset()
    credentials.reset()  # fresh providers: no token or cookie from an earlier test
    local_world.oidc.set_access_token_lifetime(LIFETIME)
    yield local_world
    local_world.oidc.set_access_token_lifetime(300)


def test_tokens_expiring_mid_compute_are_refreshed_and_no_worker_holds_the_offline_token(
    short_tokens,
):
    world = short_tokens
    endpoints = world.endpoints
    item = sorted(
        (i for i in world.replica.items if i["collection"] == "BiomassLevel1a"),
        key=lambda i: i["id"],
    )[0]
    offline = world.oidc.offline_token("maap", "maap-user")
    creds = {"maap": {
        "offline_token": offline, "client_secret": "offline-token-public-secret",
        "token_url": f"{endpoints.oidc}/realms/maap/protocol/openid-connect/token",
        "hosts": [f"{endpoints.http}/maap/data/*"],
    }}  # fmt: skip
    ds = xr.open_dataset(
        item,
        engine="stacasset",
        asset="enclosure_i_abs_tiff",
        credentials=creds,
        chunks={"y": 64, "x": 128},
    )
    expected = float(
        xr.open_dataset(item, engine="stacasset", asset="enclosure_i_abs_tiff", credentials=creds)[
            "HV"
        ].sum()
    )
    slow = da.map_blocks(_slow_identity, ds["HV"].data, dtype=ds["HV"].dtype)
    assert offline.encode() not in pickle.dumps(ds)
    assert offline.encode() not in pickle.dumps(dict(slow.__dask_graph__()))
    started = time.time()
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster),
    ):
        total = float(slow.sum().compute())
    seconds = time.time() - started
    assert total == pytest.approx(expected, rel=1e-6)
    assert seconds > 2 * LIFETIME  # the compute outlived two tokens
    log = [e for e in world.files.stats()["log"] if e["path"].startswith("/maap/data/")]
    assert 401 not in {e["status"] for e in log}
    assert len({e["auth_sha256"] for e in log}) >= 2  # reads went on with fresh tokens
    grants = world.oidc.token_requests("maap", "refresh_token")
    # one refresh per publish interval (~1 s for a 3 s token), no storm of per-task refreshes
    assert 2 <= grants <= seconds / (LIFETIME / 3) + 3
    provider = credentials.broker_from(creds).provider_for(
        item["assets"]["enclosure_i_abs_tiff"]["href"]
    )
    assert sum(provider.grants.values()) == grants  # every grant came from this process
    assert hashlib.sha256(offline.encode()).hexdigest() not in str(world.files.stats())
