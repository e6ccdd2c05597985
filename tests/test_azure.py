"""Planetary Computer Zarr on Azure blob storage (``abfs://``), against Azurite.

The replica's ``era5-pds`` item is PC's: ``abfs://era5/...zarr`` hrefs whose storage account
(``cpdataeuwest``) is named in ``xarray:open_kwargs.storage_options``. Its stores are in Azurite,
which checks real Azure SAS signatures; the file server's PC-style token endpoint mints them.
What is compared: values against the stores generated on disk, requests at the token endpoint,
error types and messages, and what a pickle or a log holds.
"""

from __future__ import annotations

import copy
import logging
import pickle
import sys

import numpy as np
import pytest
import xarray as xr
from conftest import eopf_product_over_http, offline_item, replica_item

from xstac_access import errors
from xstac_access.credentials import Broker, Rule, SasSigner
from xstac_access.testing.azurite import Azurite
from xstac_access.testing.replica import pc_zarr

TEMPERATURE = "air_temperature_at_2_metres_1hour_Maximum"
RAIN = "precipitation_amount_1hour_Accumulation"
TOKENS = f"/sas/token/{pc_zarr.ACCOUNT}/{pc_zarr.CONTAINER}"


@pytest.fixture
def world(local_world):
    """The session's world with Azurite; fails (never skips) saying what to install if not."""
    if local_world.azurite is None or local_world.azurite.problem:
        pytest.fail(local_world.azurite.problem if local_world.azurite else "no Azurite")
    local_world.files.reset()
    yield local_world
    local_world.files.set_config(local_world.replica.server_config)


def planetary_computer(world) -> Broker:
    """A broker of its own (no SAS token from an earlier test) signing Azure blob hrefs as the
    ``planetary_computer`` preset does, with the world's token endpoint and blob service."""
    pc = world.credentials()["planetary_computer"]
    signer = SasSigner(pc["token_url"], blob_endpoint=pc["blob_endpoint"])
    return Broker([Rule("https://*.blob.core.windows.net/*", signer)])


def generated(world, variable: str) -> xr.Dataset:
    """The store as the replica wrote it on disk, before it went to Azurite."""
    (folder,) = world.replica.azure_containers.values()
    return xr.open_zarr(folder / pc_zarr.FOLDER / f"{variable}.zarr")


def test_era5_store_on_abfs_opens_lazily_with_the_planetary_computer_sas(world):
    item = replica_item(world, pc_zarr.COLLECTION)
    assert item["assets"][TEMPERATURE]["href"].startswith("abfs://era5/")
    ds = xr.open_dataset(item, engine="stacasset", asset=TEMPERATURE,
                         credentials=world.credentials())  # fmt: skip
    assert not ds[TEMPERATURE].variable._in_memory  # nothing but coordinates read yet
    assert ds[TEMPERATURE].dims == ("time", "lat", "lon")
    assert ds.sizes["time"] == 744 and str(ds["time"].values[0]).startswith("2020-12-01T00")
    assert ds[TEMPERATURE].attrs["shortNameECMWF"] == "mx2t"
    assert ds.attrs["stac_item_id"] == pc_zarr.ITEM_ID
    truth = generated(world, TEMPERATURE)[TEMPERATURE]
    np.testing.assert_array_equal(ds[TEMPERATURE][370:380].values, truth[370:380].values)
    assert world.files.requests_for(TOKENS) == 1


def test_every_asset_of_the_container_shares_one_token_and_chunks_read_lazily(world):
    item = replica_item(world, pc_zarr.COLLECTION)
    creds = planetary_computer(world)
    opened = {
        key: xr.open_dataset(item, engine="stacasset", asset=key, credentials=creds, chunks={})
        for key in item["assets"]
    }
    rain = opened[RAIN][RAIN]
    assert rain.chunks[0] == (372, 372)  # the stores' chunking, as dask chunks
    total = float(rain[:24].sum())
    assert total == pytest.approx(float(generated(world, RAIN)[RAIN][:24].sum()), rel=1e-6)
    assert total > 0
    assert world.files.requests_for(TOKENS) == 1


@pytest.mark.parametrize("form", ["xarray:storage_options", "account in the href"])
def test_the_account_may_come_from_asset_storage_options_or_the_href(world, form):
    item = replica_item(world, pc_zarr.COLLECTION)
    asset = item["assets"][RAIN]
    options = asset["xarray:open_kwargs"].pop("storage_options")
    if form == "xarray:storage_options":  # as PC's Daymet and CMIP6 collections write it
        asset["xarray:storage_options"] = options
    else:
        asset["href"] = asset["href"].replace(
            "abfs://era5/", f"abfs://era5@{options['account_name']}.dfs.core.windows.net/"
        )
    ds = xr.open_dataset(
        item, engine="stacasset", asset=RAIN, credentials=planetary_computer(world)
    )
    np.testing.assert_array_equal(ds[RAIN][:3].values, generated(world, RAIN)[RAIN][:3].values)


def test_an_open_dataset_signs_each_read_with_a_token_refreshed_before_it_expires(world):
    world.files.set_config({**world.replica.server_config, "sas": {"lifetime": 120}})
    item = replica_item(world, pc_zarr.COLLECTION)
    ds = xr.open_dataset(
        item, engine="stacasset", asset=RAIN, credentials=planetary_computer(world)
    )
    first = ds[RAIN][:5].values
    world.advance_clock(90)  # within the 60 s margin of the token's end: the next read re-signs
    np.testing.assert_array_equal(ds[RAIN][:5].values, first)
    np.testing.assert_array_equal(ds[RAIN][400:405].values, generated(world, RAIN)[RAIN][400:405])
    assert world.files.requests_for(TOKENS) == 2


def test_an_expired_sas_is_an_auth_error_naming_asset_and_host_never_the_token(world, caplog):
    world.files.set_config({**world.replica.server_config, "sas": {"lifetime": -600}})
    item = replica_item(world, pc_zarr.COLLECTION)
    with caplog.at_level(logging.DEBUG), pytest.raises(errors.AuthError) as info:
        xr.open_dataset(item, engine="stacasset", asset=RAIN, credentials=planetary_computer(world))
    message = str(info.value)
    assert f"asset {RAIN!r}" in message and info.value.status == 403
    assert "cpdataeuwest.blob.core.windows.net" in message and world.endpoints.azure[7:] in message
    assert "fresh one" in message  # refreshed once, refused again
    assert world.files.requests_for(TOKENS) == 2
    for text in (message, caplog.text, repr(info.value)):
        assert "sig=" not in text and "se=" not in text


def test_no_sas_token_in_pickles_reprs_or_logs_and_a_pickle_reads_again(world, caplog):
    item = replica_item(world, pc_zarr.COLLECTION)
    with caplog.at_level(logging.DEBUG):
        ds = xr.open_dataset(item, engine="stacasset", asset=RAIN, chunks={},
                             credentials=planetary_computer(world))  # fmt: skip
        expected = ds[RAIN][:3].values
    blob = pickle.dumps(ds)
    for text in (blob, caplog.text.encode(), repr(ds).encode(), str(ds.encoding).encode()):
        assert b"sig=" not in text and b"AccountKey" not in text
    key = world.replica.server_config["azure_accounts"][0]["key"]
    assert key.encode() not in blob and key not in caplog.text
    np.testing.assert_array_equal(pickle.loads(blob)[RAIN][:3].values, expected)


def test_chunks_compute_on_dask_worker_processes_that_sign_for_themselves(world):
    from distributed import Client, LocalCluster

    item = replica_item(world, pc_zarr.COLLECTION)
    ds = xr.open_dataset(item, engine="stacasset", asset=TEMPERATURE, chunks={},
                         credentials=planetary_computer(world))  # fmt: skip
    expected = float(generated(world, TEMPERATURE)[TEMPERATURE].mean())
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        as cluster,
        Client(cluster),
    ):  # fmt: skip
        assert float(ds[TEMPERATURE].mean().compute()) == pytest.approx(expected, rel=1e-6)
    assert world.files.requests_for(TOKENS) == 1  # workers got it through the relay


@pytest.mark.parametrize("first", ["abfs fails", "abfs succeeds", "http"])
def test_opens_of_one_scheme_never_break_opens_of_another(world, first):
    """One filesystem per kind of href: an Azure open (failing or not) leaves HTTP Zarr opens
    working, and an HTTP open leaves Azure opens working, with one broker for all."""
    era5 = replica_item(world, pc_zarr.COLLECTION)
    creds = planetary_computer(world)  # a broker of this test's own: nothing cached before
    missing = copy.deepcopy(era5)
    missing["assets"][RAIN]["href"] = missing["assets"][RAIN]["href"].replace(".zarr", "-x.zarr")
    with eopf_product_over_http(world, f"_azure_{first.split()[-1]}") as (product, _):
        if first == "abfs fails":
            with pytest.raises(errors.HrefNotFoundError, match=f"asset {RAIN!r}") as info:
                xr.open_dataset(missing, engine="stacasset", asset=RAIN, credentials=creds)
            assert info.value.host == f"{pc_zarr.ACCOUNT}.blob.core.windows.net"
            assert info.value.href.endswith("/era5/ERA5/2020/12/" + RAIN + "-x.zarr")
        if first == "abfs succeeds":
            assert xr.open_dataset(era5, engine="stacasset", asset=RAIN, credentials=creds)
        tree = xr.open_datatree(product, engine="stacasset", credentials=creds)
        assert {"conditions", "measurements", "quality"} <= set(tree.children)
        r10m = tree["measurements/reflectance/r10m"]
        assert int(r10m["b04"][:10, :10].count()) == 100
    ds = xr.open_dataset(era5, engine="stacasset", asset=RAIN, credentials=creds)
    np.testing.assert_array_equal(ds[RAIN][:2].values, generated(world, RAIN)[RAIN][:2].values)


# -- without the local world ---------------------------------------------------------------


def test_an_abfs_href_without_an_account_is_a_resolve_error_naming_the_asset():
    item = offline_item(pc_zarr, pc_zarr.COLLECTION)
    del item["assets"][RAIN]["xarray:open_kwargs"]["storage_options"]
    with pytest.raises(errors.ResolveError, match=f"asset {RAIN!r}.*account_name"):
        xr.open_dataset(item, engine="stacasset", asset=RAIN)


def test_an_unknown_scheme_is_a_typed_error_naming_asset_and_host():
    item = offline_item(pc_zarr, pc_zarr.COLLECTION)
    item["assets"][RAIN]["href"] = "gs://era5-bucket/ERA5/x.zarr"
    with pytest.raises(errors.AccessError, match=f"asset {RAIN!r}.*unsupported scheme 'gs'") as e:
        xr.open_dataset(item, engine="stacasset", asset=RAIN)
    assert e.value.host == "era5-bucket"


def test_without_adlfs_an_abfs_asset_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "xstac_access.credentials._adlfs", None)  # not importable
    item = offline_item(pc_zarr, pc_zarr.COLLECTION)
    own = {"planetary_computer": {"token_url": "http://sas.invalid/{account}/{container}"}}
    with pytest.raises(errors.UnsupportedFormatError) as info:  # no filesystem cached before
        xr.open_dataset(item, engine="stacasset", asset=RAIN, credentials=own)
    message = str(info.value)
    assert f"asset {RAIN!r}" in message and "cpdataeuwest" in message
    assert "xstac-access[azure]" in message and "adlfs" in message


def test_without_npm_azurite_does_not_start_and_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no node, no azurite-blob
    azurite = Azurite(tmp_path, 1, {})
    assert azurite.start() is False and azurite.pid is None
    assert "npm" in azurite.problem and "scripts/bootstrap.sh" in azurite.problem
