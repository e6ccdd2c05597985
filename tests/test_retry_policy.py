"""One retry policy on every path: one fault script, the same retries everywhere.

The script: 503 with ``Retry-After`` twice, then 429, then a body cut mid-read, then the clean
answer. The engine's own read (a KML), a catalogue search, a download and a GDAL tile read each
meet it on a path of their own, and each makes the same attempts, counted at the server: the
three statuses retried, the cut body read again, five requests in all (the policy's budget of
four retries, spent to the last). The library's retries are logged on ``xstac_access.retry``
with the waits the server asked for. GDAL retries the statuses itself (its options come from
the same policy; it does not read ``Retry-After``) and takes a body cut short for the end of
the file: that read is tried once more by the reader.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from dataclasses import replace

import numpy as np
import pytest
import xarray as xr
from conftest import replica_item

from xstac_access import credentials, download, errors, search
from xstac_access.http import policy
from xstac_access.readers._gdal import BASE_CONFIG, forget_datasets

WAIT = 0.05  # the server's Retry-After, seconds
CUT = 100  # bytes of the answer sent before the connection is reset


def script(path: str, cut: str = "reset_after_bytes") -> list[dict]:
    """The fault script for ``path`` (rules are taken in order: each ends after its count)."""
    return [
        {"path": path, "status": 503, "retry_after": WAIT, "count": 2},
        {"path": path, "status": 429, "retry_after": WAIT, "count": 1},
        {"path": path, cut: CUT, "count": 1},
    ]


def seen(log: list[dict], path: str) -> list[tuple[int, bool]]:
    """(status, cut by a fault) of every request the server logged for ``path``."""
    return [(e["status"], bool(e.get("fault"))) for e in log if e["path"] == path]


def retries(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "xstac_access.retry"]


#: What every path sends, as the server sees it: the statuses, the cut answer, the clean one.
EXPECTED = [(503, False), (503, False), (429, False), (200, True)]


@pytest.fixture
def logged(caplog):
    caplog.set_level(logging.INFO, logger="xstac_access.retry")
    return caplog


@pytest.fixture
def scratch(local_world):
    """A served folder of our own, removed afterwards: files no cache has seen."""
    folder = local_world.replica.files_root / f"_tests_policy_{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    yield folder
    shutil.rmtree(folder)


def copy_served(world, href: str, folder) -> str:
    """A copy of a served file under ``folder``, as an href."""
    source = world.replica.files_root / href.removeprefix(world.endpoints.http).lstrip("/")
    shutil.copyfile(source, folder / source.name)
    return f"{world.endpoints.http}/{folder.name}/{source.name}"


def test_the_engines_own_read(local_world, files, logged):
    item = replica_item(local_world, "BiomassLevel1a")
    clean = xr.open_dataset(item, engine="stacasset", asset="quicklook_kml")
    path = item["assets"]["quicklook_kml"]["href"].removeprefix(local_world.endpoints.http)
    files.reset()
    files.set_faults(script(path))
    fp = xr.open_dataset(item, engine="stacasset", asset="quicklook_kml")
    np.testing.assert_array_equal(fp["latitude"].values, clean["latitude"].values)
    assert seen(files.stats()["log"], path) == [*EXPECTED, (200, False)]
    said = retries(logged)
    assert len(said) == 4 and all(f"in {WAIT:.2f} s" in m for m in said[:3])
    assert ["503" in said[0], "503" in said[1], "429" in said[2], "broke" in said[3]] == [True] * 4


def test_a_search(local_world, logged):
    quirks = local_world.stac_quirks
    quirks.reset()
    quirks.set_faults(script("/pgstac/search", cut="cut_after_bytes"))
    try:
        result = search(quirks.url("pgstac"), max_items=2)
    finally:
        quirks.clear_faults()
    assert len(result) == 2
    log = [e for e in quirks.requests("pgstac") if e["path"] == "/search"]
    assert [(e["status"], bool(e["fault"])) for e in log] == [*EXPECTED, (200, False)]
    assert len(retries(logged)) == 4


def test_a_download(local_world, files, scratch, tmp_path, logged):
    credentials.reset()
    href = copy_served(local_world, replica_item(local_world, "sentinel-2-l2a")["assets"]["red"][
        "href"], scratch)  # fmt: skip
    path = href.removeprefix(local_world.endpoints.http)
    files.set_faults(script(path))
    (entry,) = download(href, tmp_path, progress=False).entries
    assert (entry.status, entry.attempts) == ("resumed", 5), entry.error
    log = [e for e in files.stats()["log"] if e["path"] == path]
    assert [(e["status"], bool(e["fault"])) for e in log] == [*EXPECTED, (206, False)]
    assert log[-1]["range"] == f"bytes={CUT}-"  # the cut transfer resumed, not restarted
    assert entry.path.read_bytes() == (scratch / entry.path.name).read_bytes()
    assert len(retries(logged)) == 4


def test_a_gdal_tile_read(local_world, files, scratch, logged):
    item = replica_item(local_world, "sentinel-2-l2a")
    clean = xr.open_dataset(item, engine="stacasset", asset="red")["red"][:256, :256].values
    item["assets"]["red"]["href"] = copy_served(local_world, item["assets"]["red"]["href"], scratch)
    path = item["assets"]["red"]["href"].removeprefix(local_world.endpoints.http)
    forget_datasets()
    files.reset()
    files.set_faults(script(path))
    flaky = xr.open_dataset(item, engine="stacasset", asset="red")["red"][:256, :256].values
    np.testing.assert_array_equal(flaky, clean)
    log = [e for e in files.stats()["log"] if e["path"] == path]
    statuses = [e["status"] for e in log]
    assert (statuses.count(503), statuses.count(429)) == (2, 1)  # GDAL retried them
    assert sum(bool(e["fault"]) for e in log) == 1  # and the read cut short was tried again
    assert statuses[:3] == [503, 503, 429] and statuses[-1] == 206
    (said,) = retries(logged)  # GDAL's own retries are GDAL's warnings; this one is ours
    assert "GDAL's read failed; retry 1 of 1" in said


def test_the_budget_is_the_same_number_on_every_path():
    """urllib3's Retry, the GDAL options and the aiohttp loop read one value."""
    rule = policy.POLICY
    retry = rule.urllib3_retry()
    assert set(retry.status_forcelist) == rule.statuses and retry.allowed_methods is None
    assert rule.gdal_options() == {
        "GDAL_HTTP_MAX_RETRY": "4",
        "GDAL_HTTP_RETRY_DELAY": "0.25",
        "GDAL_HTTP_RETRY_CODES": "408,425,429,502,503,504",
    }
    assert not {"GDAL_HTTP_MAX_RETRY", "GDAL_HTTP_RETRY_DELAY"} & set(BASE_CONFIG)
    assert rule.wait(0, retry_after=7.5) == 7.5 and rule.wait(0, retry_after=1e6) == rule.cap
    assert all(0 <= rule.wait(n) <= min(rule.backoff * 2**n, rule.cap) for n in range(8))
    assert replace(rule, jitter=False).wait(3) == 2.0


def test_a_spent_budget_on_a_search_is_a_typed_error(local_world, monkeypatch):
    monkeypatch.setattr(policy, "POLICY", replace(policy.POLICY, backoff=0.01))
    quirks = local_world.stac_quirks
    quirks.reset()
    quirks.set_faults([{"path": "/pgstac/search", "status": 503}])  # never recovers
    try:
        with pytest.raises(errors.SearchError, match="answered HTTP 503"):
            search(quirks.url("pgstac"), max_items=2)
    finally:
        quirks.clear_faults()
    log = [e for e in quirks.requests("pgstac") if e["path"] == "/search"]
    assert [e["status"] for e in log] == [503] * (policy.POLICY.retries + 1)
