"""A multi-file download that outlives its access tokens: every file completes, each refresh is
one token request (no storm), and no request reached the server with an expired token (no 401).

The tokens expire mid-download on the world's shared clock: the file server holds the first
two transfers mid-body, the test moves the clock past the token's lifetime and lets them go, so
the next two files must start with a fresh token; then it does the same once more.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading

import pytest

from xstac_access import credentials, download

FILES, PARALLEL, SIZE = 4, 2, 300_000
LIFETIME = 300  # seconds an access token lives at the local token server


@pytest.fixture
def protected(local_world, files):
    """FILES files under the MAAP-protected prefix and one item listing them."""
    folder = local_world.replica.files_root / "maap" / "data" / f"_expiry_{os.getpid()}"
    folder.mkdir(parents=True)
    assets = {}
    for n in range(FILES):
        (folder / f"f{n}.bin").write_bytes(hashlib.shake_256(f"{n}".encode()).digest(SIZE))
        assets[f"f{n}"] = {
            "href": f"{local_world.endpoints.http}/maap/data/{folder.name}/f{n}.bin",
            "roles": ["data"],
            "file:size": SIZE,
        }
    item = {"type": "Feature", "stac_version": "1.0.0", "id": "expiry", "geometry": None,
            "properties": {}, "links": [], "assets": assets}  # fmt: skip
    credentials.reset()
    local_world.oidc.reset()
    files.set_faults([{"path": f"/maap/data/{folder.name}/*", "hold_after_bytes": SIZE // 2}])
    yield item, folder
    files.clear_faults()
    shutil.rmtree(folder)


def test_a_long_download_refreshes_its_token_without_a_storm(local_world, files, protected,
                                                               tmp_path):  # fmt: skip
    item, folder = protected
    creds = {"maap": local_world.credentials()["maap"]}
    done = {}
    worker = threading.Thread(
        target=lambda: done.update(report=download(
            item, tmp_path, parallel=PARALLEL, progress=False, credentials=creds
        ))
    )  # fmt: skip
    worker.start()
    try:
        for _ in range(FILES // PARALLEL):  # two files in flight, then their token expires
            files.wait_held(PARALLEL)
            local_world.advance_clock(LIFETIME + 1)
            files.release()
    finally:
        files.clear_faults()  # a failed wait must not leave the download hanging
        worker.join(timeout=120)
    report = done["report"]
    assert report.ok, report.summary()
    for n in range(FILES):
        assert (tmp_path / "expiry" / f"f{n}.bin").read_bytes() == (
            folder / f"f{n}.bin"
        ).read_bytes()
    files.wait_idle()
    log = [e for e in files.stats()["log"] if e["path"].startswith(f"/maap/data/{folder.name}/")]
    assert [e["status"] for e in log] == [200] * FILES  # no refusal, no retry
    assert all(e["fault"] == ["hold_after_bytes"] for e in log)  # each was held in flight
    # the first two files went with the first token, the last two with one fresh token: one
    # grant at the start and one after the expiry, never one per file or per thread
    assert len({e["auth_sha256"] for e in log}) == 2
    assert local_world.oidc.token_requests("maap", "refresh_token") == 2
