"""Token services under load: a busy Keycloak (503/429 with Retry-After) is waited out under the
library's one retry policy, and an error says whether the service was unavailable or the
credential was refused, which are different things for the user to do.

The token server answers the faults it is given (``OidcAdmin.set_faults``) and counts every
token request it received, faulted ones included; the SAS token API is the file server's, whose
faults apply to it too.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import xarray as xr
from conftest import replica_item

from xstac_access import credentials, errors
from xstac_access.credentials import SasSigner
from xstac_access.http import policy


def maap(world, **extra) -> dict:
    """The MAAP preset for this world: a fresh offline token, unless ``extra`` gives one."""
    realm = f"{world.endpoints.oidc}/realms/maap/protocol/openid-connect/token"
    options = {
        "token_url": realm,
        "client_secret": "offline-token-public-secret",
        "hosts": [f"{world.endpoints.http}/maap/data/*"],
        **extra,
    }
    options.setdefault("offline_token", world.oidc.offline_token("maap", "maap-user"))
    return {"maap": options}


@pytest.fixture
def busy(local_world, files):
    """The world with fresh providers and counters; the token server's faults cleared after."""
    credentials.reset()
    local_world.oidc.reset()
    yield local_world
    local_world.oidc.set_faults([])
    credentials.reset()


def test_a_503_twice_with_retry_after_is_waited_out(busy):
    item = replica_item(busy, "BiomassLevel1a")
    busy.oidc.set_faults([{"realm": "maap", "status": 503, "retry_after": 0.05, "count": 2}])
    ds = xr.open_dataset(
        item, engine="stacasset", asset="enclosure_i_abs_tiff", credentials=maap(busy)
    )
    assert np.isfinite(ds["HH"][:16, :16].values).all()
    assert busy.oidc.token_requests("maap", "refresh_token") == 3  # 503, 503, the token
    errs = [e["error"] for e in busy.oidc.stats()["log"] if e["realm"] == "maap"]
    assert errs == ["HTTP 503", "HTTP 503", None]


def test_a_token_service_down_for_good_is_unavailable_not_expired(busy, monkeypatch):
    monkeypatch.setattr(policy, "POLICY", replace(policy.POLICY, backoff=0.01))
    item = replica_item(busy, "BiomassLevel1a")
    busy.oidc.set_faults([{"realm": "maap", "status": 503}])  # no count: never recovers
    with pytest.raises(errors.TokenServiceError) as caught:
        ds = xr.open_dataset(
            item, engine="stacasset", asset="enclosure_i_abs_tiff", credentials=maap(busy)
        )
        ds["HH"][:16, :16].values  # noqa: B018 (the read is the test)
    message = str(caught.value)
    assert "unavailable (HTTP 503" in message and "try again later" in message
    assert "expired" not in message and "revoked" not in message
    assert caught.value.status == 503 and caught.value.host == busy.endpoints.oidc.split("//")[1]
    assert busy.oidc.token_requests("maap", "refresh_token") == policy.POLICY.retries + 1


def test_a_refused_offline_token_says_it_expired_or_was_revoked(busy):
    item = replica_item(busy, "BiomassLevel1a")
    creds = maap(busy, offline_token="not-a-token-the-server-issued")
    with pytest.raises(errors.AuthError) as caught:
        xr.open_dataset(item, engine="stacasset", asset="enclosure_i_abs_tiff", credentials=creds)
    assert not isinstance(caught.value, errors.TokenServiceError)
    assert "(HTTP 400 invalid_grant)" in str(caught.value)
    assert "expired" in str(caught.value) and "revoked" in str(caught.value)
    assert "not-a-token-the-server-issued" not in str(caught.value)
    assert busy.oidc.token_requests("maap", "refresh_token") == 1  # a refusal is not retried


def test_a_busy_sas_token_api_is_waited_out(busy, files):
    item = replica_item(busy, "pc-sentinel-2-l2a")
    signer = SasSigner(
        busy.endpoints.http + "/sas/token/{account}/{container}",
        account="sentinel2l2a01",
        container="sentinel2-l2",
    )
    files.set_faults([{"path": "/sas/token/*", "status": 429, "retry_after": 0.05, "count": 2}])
    ds = xr.open_dataset(
        item,
        engine="stacasset",
        asset="B04",
        credentials={"rules": [(f"{busy.endpoints.http}/pc/*", signer)]},
    )
    assert ds["B04"][:32, :32].values.shape == (32, 32)
    tokens = [e["status"] for e in files.stats()["log"] if e["path"].startswith("/sas/token/")]
    assert tokens == [429, 429, 200] and signer.requests == 1
