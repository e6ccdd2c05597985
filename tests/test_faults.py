"""Flaky servers: 429/503 bursts with Retry-After, connections cut mid-body, truncated bodies.

The file server injects each fault; the tests check at the server how many attempts were made,
that the values read equal a clean read, that every retry was logged, and that a spent budget
is a typed error naming the href. Each I/O path is covered: the engine's own HTTP (KML, item
JSON, sniffing), GDAL (COG tiles) and fsspec/zarr (an EOPF product over HTTP).
"""

from __future__ import annotations

import logging
import shutil
import uuid
from dataclasses import replace

import numpy as np
import pytest
import xarray as xr
from conftest import eopf_product_over_http, replica_item

from xstac_access import errors
from xstac_access.http import policy


@pytest.fixture
def kml(local_world, files):
    """The Biomass KML footprint (public, fetched by the engine's own HTTP) and its path."""
    item = replica_item(local_world, "BiomassLevel1a")
    href = item["assets"]["quicklook_kml"]["href"]
    return item, href.removeprefix(local_world.endpoints.http)


def attempts(files, path: str) -> list[int]:
    return [e["status"] for e in files.stats()["log"] if e["path"] == path]


def test_a_503_burst_with_retry_after_is_waited_out(kml, files, caplog):
    item, path = kml
    files.set_faults([{"path": path, "status": 503, "retry_after": 0.07, "count": 3}])
    caplog.set_level(logging.INFO, logger="xstac_access.retry")
    fp = xr.open_dataset(item, engine="stacasset", asset="quicklook_kml")
    assert fp.sizes["corner"] == 4
    assert attempts(files, path)[:4] == [503, 503, 503, 200]
    retries = [r.getMessage() for r in caplog.records if r.name == "xstac_access.retry"]
    # each wait is the server's Retry-After, not the library's own backoff
    assert len(retries) == 3 and all("503" in m and "in 0.07 s" in m for m in retries)


def test_429_is_retried_with_backoff_when_no_wait_is_given(kml, files):
    item, path = kml
    files.set_faults([{"path": path, "status": 429, "count": 2}])
    fp = xr.open_dataset(item, engine="stacasset", asset="quicklook_kml")
    assert fp.sizes["corner"] == 4 and attempts(files, path)[:3] == [429, 429, 200]


@pytest.mark.parametrize("fault", ["reset_after_bytes", "truncate_after_bytes"])
def test_a_body_cut_or_truncated_is_read_again(kml, files, fault):
    item, path = kml
    files.set_faults([{"path": path, fault: 100, "count": 1}])
    fp = xr.open_dataset(item, engine="stacasset", asset="quicklook_kml")
    clean = xr.open_dataset(item, engine="stacasset", asset="quicklook_kml")
    np.testing.assert_array_equal(fp["latitude"].values, clean["latitude"].values)
    assert len(attempts(files, path)) >= 3  # the cut read, its retry, the clean read


def test_a_spent_budget_is_a_typed_error_naming_the_href(kml, files, monkeypatch):
    item, path = kml
    monkeypatch.setattr(policy, "POLICY", replace(policy.POLICY, backoff=0.01))
    files.set_faults([{"path": path, "status": 503}])  # no count: never recovers
    with pytest.raises(errors.AccessError) as caught:
        xr.open_dataset(item, engine="stacasset", asset="quicklook_kml")
    assert caught.value.status == 503 and caught.value.href.endswith(path)
    assert "quicklook_kml" in str(caught.value)
    assert f"gave up after {policy.POLICY.retries + 1} attempts" in str(caught.value)
    assert attempts(files, path) == [503] * (policy.POLICY.retries + 1)


def test_refusals_and_missing_files_are_not_retried(kml, files):
    item, path = kml
    files.set_faults([{"path": path, "status": 404}])
    with pytest.raises(errors.HrefNotFoundError):
        xr.open_dataset(item, engine="stacasset", asset="quicklook_kml")
    assert attempts(files, path) == [404]


def test_gdal_tile_reads_ride_out_a_503_burst(local_world, files):
    item = replica_item(local_world, "sentinel-2-l2a")
    href = item["assets"]["red"]["href"]
    clean = xr.open_dataset(item, engine="stacasset", asset="red")["red"][:256, :256].values
    source = local_world.replica.files_root / href.removeprefix(local_world.endpoints.http)[1:]
    path = f"/_tests_faults_cog/{uuid.uuid4().hex}.tif"  # a URL no GDAL cache has seen
    copy_to = local_world.replica.files_root / path[1:]
    copy_to.parent.mkdir(exist_ok=True)
    shutil.copyfile(source, copy_to)
    item["assets"]["red"]["href"] = local_world.endpoints.http + path
    try:
        files.set_faults([{"path": path, "status": 503, "count": 2}])
        flaky = xr.open_dataset(item, engine="stacasset", asset="red")["red"][:256, :256].values
    finally:
        shutil.rmtree(copy_to.parent)
    np.testing.assert_array_equal(flaky, clean)
    assert attempts(files, path).count(503) == 2 and attempts(files, path)[-1] in (200, 206)


@pytest.fixture
def http_product(local_world):
    with eopf_product_over_http(local_world, "_tests_faults") as (item, _):
        yield item


def test_zarr_metadata_and_chunks_ride_out_503_and_429(http_product, files):
    clean = xr.open_datatree(http_product, engine="stacasset")
    expected = clean["measurements/reflectance/r10m"]["b04"][:100, :100].values
    files.reset()
    files.set_faults([
        {"path": "*/.zmetadata", "status": 503, "retry_after": 0.1, "count": 2},
        {"path": "*/r10m/b04/*", "status": 429, "count": 2},
    ])  # fmt: skip
    tree = xr.open_datatree(http_product, engine="stacasset")
    values = tree["measurements/reflectance/r10m"]["b04"][:100, :100].values
    np.testing.assert_array_equal(values, expected)
    log = files.stats()["log"]
    assert [e["status"] for e in log if e["path"].endswith("/.zmetadata")][:3] == [503, 503, 200]
    assert sum(e["status"] == 429 for e in log if "/r10m/b04/" in e["path"]) == 2
