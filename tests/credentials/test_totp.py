"""CDSE accounts with two-factor authentication: a one-time code (``totp``) in the password grant.

The replica's token server answers a missing or wrong code as Keycloak does (401
``invalid_grant`` "Invalid user credentials", the same as a wrong password): the library's error
says what may be missing. Codes are RFC 6238 on the world's shared clock, so a test moves time
instead of waiting for the next code.
"""

from __future__ import annotations

import logging
import pickle

import pytest
import xarray as xr
from conftest import replica_item

from xstac_access import credentials, errors
from xstac_access.readers._zipfile import forget_archives
from xstac_access.testing.oidc_state import DEFAULT_CONFIG, totp_code
from xstac_access.testing.replica import cdse

USER, PASSWORD = "cdse-2fa-user", "cdse-2fa-pass"
SECRET = DEFAULT_CONFIG["realms"]["cdse"]["totp"][USER]


@pytest.fixture
def world(local_world, files):
    credentials.reset()
    local_world.oidc.reset()
    return local_world


@pytest.fixture
def item(world) -> dict:
    return replica_item(world, cdse.COLLECTION)


def two_factor(world, **extra) -> dict:
    """The cdse preset for the 2FA user, on this world."""
    return {
        "cdse": {**world.credentials()["cdse"], "username": USER, "password": PASSWORD, **extra}
    }


def list_product(item: dict, creds) -> xr.Dataset:
    """The product zip's listing: a password grant, then the OData redirect with the bearer."""
    return xr.open_dataset(item, engine="stacasset", asset="PRODUCT", credentials=creds)


def test_without_a_one_time_code_the_error_says_one_may_be_needed(world, item):
    with pytest.raises(errors.AuthError) as info:
        list_product(item, two_factor(world))
    message = str(info.value)
    assert info.value.status == 401 and "invalid_grant" in message
    assert "two-factor" in message and "one-time code" in message and "totp=" in message
    assert USER in message and PASSWORD not in message
    log = world.oidc.stats()["log"]
    assert [(e["grant_type"], e["error"]) for e in log] == [("password", "invalid_grant")]


def test_with_a_code_callable_reads_work_and_a_later_login_gets_a_fresh_code(world, item, caplog):
    given: list[str] = []

    def current_code() -> str:
        given.append(totp_code(SECRET))
        return given[-1]

    caplog.set_level(logging.DEBUG)
    broker = credentials.broker_from(two_factor(world, totp=current_code))
    assert list_product(item, broker).sizes["member"] > 10
    assert len(given) == 1 and world.oidc.token_requests("cdse", "password") == 1
    world.advance_clock(2 * 3600)  # the access and the refresh token (30 min) have expired
    forget_archives()  # as 2 h would: the zip's directory is remembered for a minute
    assert list_product(item, broker).sizes["member"] > 10
    assert len(given) == 2 and world.oidc.token_requests("cdse", "password") == 2
    provider = broker.provider_for(item["assets"]["PRODUCT"]["href"])
    shown = caplog.text + repr(provider) + repr(broker) + str(provider.public_config())
    assert not [code for code in given if code in shown]
    with pytest.raises(TypeError):
        pickle.dumps(provider)


def test_a_fixed_code_serves_one_login_and_a_wrong_one_is_refused(world, item):
    assert list_product(item, two_factor(world, totp=totp_code(SECRET))).sizes["member"] > 10
    credentials.reset()
    wrong = f"{(int(totp_code(SECRET)) + 500_000) % 1_000_000:06d}"
    with pytest.raises(errors.AuthError, match="one-time code") as info:
        list_product(item, two_factor(world, totp=wrong))
    assert wrong not in str(info.value)
    requests = world.oidc.token_requests("cdse", "password")
    with pytest.raises(errors.AuthError, match="not 6 to 8 digits") as info:
        list_product(item, two_factor(world, totp="12-34-56"))
    assert world.oidc.token_requests("cdse", "password") == requests  # refused before sending


def test_the_token_server_can_require_a_code_of_any_user(world, item):
    plain = {"cdse": world.credentials()["cdse"]}
    world.oidc.require_totp("cdse", "cdse-user", SECRET)
    try:
        with pytest.raises(errors.AuthError, match="one-time code"):
            list_product(item, plain)
        credentials.reset()
        with_code = {"cdse": {**plain["cdse"], "totp": lambda: totp_code(SECRET)}}
        assert list_product(item, with_code).sizes["member"] > 10
    finally:
        world.oidc.require_totp("cdse", "cdse-user", None)
