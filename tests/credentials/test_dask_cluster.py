"""Credentials on a dask.distributed LocalCluster with worker processes and expiring tokens.

The tokens expire on the world's shared clock, which the workers read too (they inherit
``XSTAC_CLOCK_FILE``): between two computations on the same workers the test moves it past the
access token's lifetime, so every copy the workers hold is stale at once.
"""

from __future__ import annotations

import hashlib
import pickle

import pytest
import xarray as xr
from distributed import Client, LocalCluster

from xstac_access import credentials

LIFETIME = 300  # seconds an access token lives at the local token server


def test_tokens_expiring_between_computes_are_refreshed_and_no_worker_holds_the_offline_token(
    world,
):
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
    href = item["assets"]["enclosure_i_abs_tiff"]["href"]
    opened = xr.open_dataset(
        item,
        engine="stacasset",
        asset="enclosure_i_abs_tiff",
        credentials=creds,
        chunks={"y": 128, "x": 128},
    )
    # two halves on different 256-row tiles: the second compute cannot come from a cache
    halves = [opened["HV"][:256], opened["HV"][256:]]
    local = xr.open_dataset(item, engine="stacasset", asset="enclosure_i_abs_tiff",
                            credentials=creds)["HV"]  # fmt: skip
    expected = [float(local[:256].sum()), float(local[256:].sum())]
    assert offline.encode() not in pickle.dumps(opened)
    assert offline.encode() not in pickle.dumps(dict(halves[0].data.__dask_graph__()))
    world.files.reset()
    tokens = []
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster),
    ):
        for index, (half, want) in enumerate(zip(halves, expected, strict=True)):
            if index:
                world.advance_clock(LIFETIME + 1)  # every token the workers hold has expired
            assert float(half.sum().compute()) == pytest.approx(want, rel=1e-6)
            world.files.wait_idle()  # every read of this compute is logged
            log = world.files.stats()["log"]
            assert log and {e["status"] for e in log} <= {200, 206}  # no 401: never stale
            assert hashlib.sha256(offline.encode()).hexdigest() not in str(log)
            tokens.append({e["auth_sha256"] for e in log})
            world.files.reset()
    (first,), (second,) = tokens  # one token for all workers' reads, then one fresh token
    assert first != second
    grants = world.oidc.token_requests("maap", "refresh_token")
    assert grants == 2  # one per token, not one per worker or per task
    provider = credentials.broker_from(creds).provider_for(href)
    assert sum(provider.grants.values()) == grants  # every grant came from this process
