"""A multi-file download that outlives several 3-second access tokens: every file completes,
each refresh is one token request (no storm), and no request reached the server with an
expired token (no 401)."""

from __future__ import annotations

import hashlib
import shutil
import time

import pytest

from xstac_access import credentials, download

LIFETIME = 3  # seconds an access token lives
FILES, SIZE, RATE = 4, 3_000_000, 1_000_000  # each file takes ~3 s: the set outlives 2 tokens


@pytest.fixture
def protected(local_world, files):
    """FILES files under the MAAP-protected prefix and one item listing them."""
    folder = local_world.replica.files_root / "maap" / "data" / "_expiry_download"
    folder.mkdir(parents=True)
    assets = {}
    for n in range(FILES):
        (folder / f"f{n}.bin").write_bytes(hashlib.shake_256(f"{n}".encode()).digest(SIZE))
        assets[f"f{n}"] = {
            "href": f"{local_world.endpoints.http}/maap/data/_expiry_download/f{n}.bin",
            "roles": ["data"],
            "file:size": SIZE,
        }
    item = {"type": "Feature", "stac_version": "1.0.0", "id": "expiry", "geometry": None,
            "properties": {}, "links": [], "assets": assets}  # fmt: skip
    credentials.reset()
    local_world.oidc.reset()
    local_world.oidc.set_access_token_lifetime(LIFETIME)
    files.set_faults([{"path": "/maap/data/_expiry_download/*", "slow_bytes_per_s": RATE}])
    yield item, folder
    files.clear_faults()
    local_world.oidc.set_access_token_lifetime(300)
    shutil.rmtree(folder)


def served(files) -> list[dict]:
    """The server's log of the files, once it has logged all (it does after the last byte)."""
    deadline = time.monotonic() + 10
    while True:
        log = [e for e in files.stats()["log"] if "/_expiry_download/" in e["path"]]
        if len(log) >= FILES or time.monotonic() > deadline:
            return log
        time.sleep(0.05)


def test_a_long_download_refreshes_its_token_without_a_storm(local_world, files, protected,
                                                               tmp_path):  # fmt: skip
    item, folder = protected
    creds = {"maap": local_world.credentials()["maap"]}
    report = download(item, tmp_path, parallel=2, progress=False, credentials=creds)
    assert report.ok, report.summary()
    assert report.seconds > 2 * LIFETIME  # the set outlived two tokens
    for n in range(FILES):
        assert (tmp_path / "expiry" / f"f{n}.bin").read_bytes() == (
            folder / f"f{n}.bin"
        ).read_bytes()
    log = served(files)
    assert {e["status"] for e in log} == {200} and len(log) == FILES  # no refusal, no retry
    grants = local_world.oidc.token_requests("maap", "refresh_token")
    # one grant at the start plus about one per token lifetime, never one per file or per thread
    assert 2 <= grants <= report.seconds / (LIFETIME * 0.75) + 2
