"""A credential refused after the file is open: the token was revoked server-side while it is
still unexpired on the client's clock (Keycloak's not-before revocation, a logout).

Every read path (GDAL tiles, Zarr chunks through fsspec, netCDF ranges, downloads) refreshes the
credential once and reads on; a second refusal is an :class:`~xstac_access.errors.AuthError`
naming the asset and host, never a format error. The file server revokes (``revoke_tokens``),
answering a revoked token with 401 or, as gateways do, 403; the token server counts grants.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import xarray as xr
from conftest import eopf_product_over_http, replica_item
from test_netcdf import write_grouped

from xstac_access import _clock, credentials, download, errors
from xstac_access.readers._gdal import clear_vsicurl_cache

STATUSES = [401, 403]


@pytest.fixture
def world(local_world, files):
    """Fresh providers, counters and GDAL cache; revocation lifted afterwards."""
    clear_vsicurl_cache()
    credentials.reset()
    local_world.oidc.reset()
    yield local_world
    files.revoke_tokens(before=0, status=401)
    credentials.reset()


def maap(world) -> dict:
    return {"maap": world.credentials()["maap"]}


def revoke_issued_tokens(world, status: int) -> None:
    """Revoke every token issued so far (they stay unexpired on the client's clock)."""
    world.advance_clock(2)  # not-before has one-second resolution: the old tokens are older
    world.files.revoke_tokens(status=status)


def revoke_every_token(world, status: int) -> None:
    """Refuse every token, the ones the refresh will bring too."""
    world.files.revoke_tokens(before=_clock.now() + 86400, status=status)


def refusals(world, prefix: str) -> list[dict]:
    return [e for e in world.files.stats()["log"] if e["path"].startswith(prefix)
            and e["status"] in (401, 403)]  # fmt: skip


def assert_names_asset_and_host(error: Exception, asset: str, world) -> None:
    message = str(error)
    assert asset in message and world.endpoints.http.split("//")[1] in message, message
    assert isinstance(error, errors.AuthError) and not isinstance(error, errors.FormatError)


# -- GDAL tiles --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", STATUSES)
def test_gdal_tiles_are_read_on_after_a_revocation(world, status):
    item = replica_item(world, "BiomassLevel1a")
    ds = xr.open_dataset(
        item, engine="stacasset", asset="enclosure_i_abs_tiff", credentials=maap(world)
    )
    assert np.isfinite(ds["HH"][:64, :64].values).all()
    revoke_issued_tokens(world, status)
    after = ds["VV"][-64:, -64:].values  # tiles no cache holds: read with the revoked token
    fresh = xr.open_dataset(
        item, engine="stacasset", asset="enclosure_i_abs_tiff", credentials=maap(world)
    )
    np.testing.assert_array_equal(after, fresh["VV"][-64:, -64:].values)
    assert len(refusals(world, "/maap/data/")) >= 1
    assert world.oidc.token_requests("maap", "refresh_token") >= 2


@pytest.mark.parametrize("status", STATUSES)
def test_a_second_refusal_of_a_gdal_tile_is_an_auth_error(world, status):
    item = replica_item(world, "BiomassLevel1a")
    ds = xr.open_dataset(
        item, engine="stacasset", asset="enclosure_i_abs_tiff", credentials=maap(world)
    )
    ds["HH"][:64, :64].values  # noqa: B018 (the dataset is open and has read)
    revoke_every_token(world, status)
    with pytest.raises(errors.AuthError) as caught:
        ds["VV"][-64:, -64:].values  # noqa: B018
    assert_names_asset_and_host(caught.value, "enclosure_i_abs_tiff", world)


# -- Zarr chunks (fsspec) ----------------------------------------------------------------------


@pytest.fixture
def protected_product(local_world):
    """The S2 EOPF product under the bearer-protected ``/maap/data/`` prefix."""
    with eopf_product_over_http(local_world, "maap/data/_tests_refusal") as (item, path):
        yield item, path


@pytest.mark.parametrize("status", STATUSES)
def test_zarr_chunks_are_read_on_after_a_revocation(world, protected_product, status):
    item, path = protected_product
    tree = xr.open_datatree(item, engine="stacasset", credentials=maap(world))
    b04 = tree["measurements/reflectance/r10m"]["b04"]
    first = b04[:100, :100].values
    revoke_issued_tokens(world, status)
    later = b04[-100:, -100:].values
    fresh = xr.open_datatree(item, engine="stacasset", credentials=maap(world))
    fresh_b04 = fresh["measurements/reflectance/r10m"]["b04"]
    np.testing.assert_array_equal(later, fresh_b04[-100:, -100:].values)
    np.testing.assert_array_equal(first, fresh_b04[:100, :100].values)
    assert len(refusals(world, path)) >= 1


@pytest.mark.parametrize("status", STATUSES)
def test_a_second_refusal_of_a_zarr_chunk_is_an_auth_error(world, protected_product, status):
    item, path = protected_product
    tree = xr.open_datatree(item, engine="stacasset", credentials=maap(world))
    b04 = tree["measurements/reflectance/r10m"]["b04"]
    revoke_every_token(world, status)
    with pytest.raises(errors.AuthError) as caught:
        b04[-100:, -100:].values  # noqa: B018
    assert_names_asset_and_host(caught.value, path, world)


# -- netCDF ranges -----------------------------------------------------------------------------


@pytest.fixture
def protected_netcdf(local_world):
    """An 8 MB netCDF4 file under ``/maap/data/``: (href, counts)."""
    folder = local_world.replica.files_root / "maap" / "data" / "_tests_refusal_nc"
    folder.mkdir(exist_ok=True)
    counts = write_grouped(folder / "grouped.nc")
    yield f"{local_world.endpoints.http}/maap/data/_tests_refusal_nc/grouped.nc", counts
    (folder / "grouped.nc").unlink()
    folder.rmdir()


@pytest.mark.parametrize("status", STATUSES)
def test_netcdf_ranges_are_read_on_after_a_revocation(world, protected_netcdf, status):
    href, counts = protected_netcdf
    ds = xr.open_dataset(href, engine="stacasset", credentials=maap(world))
    revoke_issued_tokens(world, status)
    window = ds["refl"][1800:1900, 1800:1900].values
    np.testing.assert_allclose(window, counts[1800:1900, 1800:1900] * 0.0001 - 0.1, rtol=1e-6)
    assert len(refusals(world, "/maap/data/_tests_refusal_nc/")) >= 1


@pytest.mark.parametrize("status", STATUSES)
def test_a_second_refusal_of_a_netcdf_range_is_an_auth_error(world, protected_netcdf, status):
    href, _ = protected_netcdf
    ds = xr.open_dataset(href, engine="stacasset", credentials=maap(world))
    revoke_every_token(world, status)
    with pytest.raises(errors.AuthError) as caught:
        ds["refl"][1800:1900, 1800:1900].values  # noqa: B018
    assert_names_asset_and_host(caught.value, "grouped.nc", world)


# -- downloads ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", STATUSES)
def test_a_download_cut_after_a_revocation_resumes_with_a_new_token(world, files, tmp_path, status):
    item = replica_item(world, "BiomassLevel1a")
    href = item["assets"]["enclosure_i_abs_tiff"]["href"]
    path = href.removeprefix(world.endpoints.http)
    files.set_faults([{"path": path, "hold_after_bytes": 4096, "reset_after_bytes": 8192,
                       "count": 1}])  # fmt: skip
    result: dict = {}

    def fetch() -> None:
        result["report"] = download(
            item, tmp_path, assets="enclosure_i_abs_tiff", progress=False, credentials=maap(world)
        )

    runner = threading.Thread(target=fetch)
    runner.start()
    files.wait_held(1)
    revoke_issued_tokens(world, status)  # revoked while the first transfer is in flight
    files.release()
    runner.join(120)
    report = result["report"]
    assert report.ok, report.summary()
    served = world.replica.files_root / path.lstrip("/")
    assert report.paths[0].read_bytes() == served.read_bytes()
    attempts = [e["status"] for e in files.stats()["log"] if e["path"] == path]
    assert attempts == [200, status, 206]  # cut, refused with the revoked token, resumed


def test_a_second_refusal_of_a_download_is_an_auth_error(world, tmp_path):
    item = replica_item(world, "BiomassLevel1a")
    revoke_every_token(world, 403)
    with pytest.raises(errors.DownloadError) as caught:
        download(item, tmp_path, assets="enclosure_i_abs_tiff", progress=False,
                 credentials=maap(world), raise_on_error=True)  # fmt: skip
    error = caught.value.report.failed[0].exception
    assert_names_asset_and_host(error, "enclosure_i_abs_tiff", world)
