"""Eight threads opening and reading the same and different assets at once read exactly what
sequential reads do: GDAL datasets, credentials (one token for all), fsspec sessions and the
engine's HTTP sessions are safe to share."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import xarray as xr
from conftest import replica_item

from xstac_access import credentials

THREADS = 8


@pytest.fixture
def reads(local_world):
    """Read jobs over four formats and two credentials: ``name -> () -> ndarray``."""
    credentials.reset()
    local_world.oidc.reset()
    creds = {"maap": local_world.credentials()["maap"]}
    s2 = replica_item(local_world, "sentinel-2-l2a")
    biomass = replica_item(local_world, "BiomassLevel1a")
    eopf = replica_item(local_world, "eopf-sentinel-2-l2a")

    def cog(asset: str, window: slice):
        ds = xr.open_dataset(s2, engine="stacasset", asset=asset)
        return ds[asset][window, window].values

    def sar():
        ds = xr.open_dataset(biomass, engine="stacasset", asset="enclosure_i_abs_tiff",
                             credentials=creds)  # fmt: skip
        return ds["HV"][100:200, 50:150].values

    def zarr():
        ds = xr.open_dataset(eopf, engine="stacasset", asset="SR_20m")
        return ds["b05"][:64, :64].values

    def kml():
        return xr.open_dataset(biomass, engine="stacasset", asset="quicklook_kml")[
            "latitude"
        ].values

    yield {
        "red": lambda: cog("red", slice(0, 300)),
        "red-again": lambda: cog("red", slice(0, 300)),
        "nir": lambda: cog("nir", slice(700, 1100)),
        "sar": sar,
        "sar-again": sar,
        "zarr": zarr,
        "kml": kml,
        "blue": lambda: cog("blue", slice(1500, 1830)),
    }
    credentials.reset()


def test_eight_threads_read_what_sequential_reads_read(local_world, reads):
    sequential = {name: job() for name, job in reads.items()}
    tokens_before = local_world.oidc.token_requests("maap", "refresh_token")
    for _ in range(3):  # several rounds: races show up as differences, not as luck
        with ThreadPoolExecutor(THREADS) as pool:
            futures = {name: pool.submit(job) for name, job in reads.items()}
            together = {name: f.result(timeout=120) for name, f in futures.items()}
        for name, values in together.items():
            np.testing.assert_array_equal(values, sequential[name], err_msg=name)
    assert sequential["red"].shape == (300, 300) and np.isfinite(sequential["sar"]).all()
    # one MAAP token served every thread: the credential is cached per call's content
    assert local_world.oidc.token_requests("maap", "refresh_token") == tokens_before
