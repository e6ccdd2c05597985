"""download() across processes: a killed download leaves no final file and resumes; two
processes fetching the same asset into one folder neither corrupt nor duplicate it.

The file server holds each transfer halfway until the test has done what it must while the
transfer is in flight (kill it, start a second download); nothing depends on timing."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from xstac_access.testing._procs import wait_until

SIZE = 8_000_000
HALF = SIZE // 2  # where the server holds the transfer until the test lets it go

SCRIPT = textwrap.dedent(
    """
    import json, logging, sys
    from xstac_access import download
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("xstac_access._download.partfile").setLevel(logging.INFO)
    item, dest = json.loads(sys.argv[1]), sys.argv[2]
    report = download(item, dest, progress=False, retries=0)
    print(json.dumps([[e.status, e.bytes, e.error] for e in report.entries]))
    """
)


@pytest.fixture
def big(local_world, files):
    """A served file of SIZE pseudo-random bytes and an item pointing at it."""
    folder = local_world.replica.files_root / f"_download_processes_{os.getpid()}"
    folder.mkdir()
    path = folder / "big.bin"
    path.write_bytes(hashlib.shake_256(b"big").digest(SIZE))
    served = f"/{folder.name}/big.bin"
    item = {
        "type": "Feature", "stac_version": "1.0.0", "id": "big-item",
        "geometry": None, "properties": {}, "links": [],
        "assets": {"data": {
            "href": local_world.endpoints.http + served, "roles": ["data"],
            "file:size": SIZE,
            "file:checksum": "1220" + hashlib.sha256(path.read_bytes()).hexdigest(),
        }},
    }  # fmt: skip
    yield item, served, path
    shutil.rmtree(folder, ignore_errors=True)


def start(item: dict, dest: Path, name: str = "download") -> subprocess.Popen:
    """A download of ``item`` into ``dest`` in a new process; its log goes to ``dest/<name>.log``
    (read by :func:`logged`), outside the item's folder that the tests list."""
    with open(dest / f"{name}.log", "w") as log:
        return subprocess.Popen(
            [sys.executable, "-c", SCRIPT, json.dumps(item), str(dest)],
            stdout=subprocess.PIPE, stderr=log, text=True,
        )  # fmt: skip


def logged(dest: Path, name: str = "download") -> str:
    return (dest / f"{name}.log").read_text()


def finish(proc: subprocess.Popen, dest: Path, name: str = "download") -> list:
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, logged(dest, name)[-2000:]
    return json.loads(out.strip().splitlines()[-1])


def test_a_killed_download_leaves_no_final_file_and_the_next_run_resumes(big, files, tmp_path):
    item, served, source = big
    files.set_faults([{"path": served, "hold_after_bytes": HALF, "count": 1}])
    final = tmp_path / "big-item" / "big.bin"
    part = final.with_name("big.bin.part")
    proc = start(item, tmp_path)
    files.wait_held(1)  # half the file sent, the rest held back
    wait_until(lambda: part.exists() and part.stat().st_size > HALF // 2, 60, "half in .part")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    files.clear_faults()  # lets the held response go, to a client that is gone
    have = part.stat().st_size
    assert not final.exists() and 0 < have <= HALF
    files.wait_idle()
    files.reset()
    ((status, received, error),) = finish(start(item, tmp_path), tmp_path)
    assert status == "resumed", error
    log = [e for e in files.stats()["log"] if e["path"] == served and e["range"]]
    # the killed process may have flushed a little more than we saw: the new range starts there
    assert len(log) == 1, log
    (request,) = log
    start_byte = int(request["range"].removeprefix("bytes=").rstrip("-"))
    assert have <= start_byte <= HALF and received == SIZE - start_byte
    assert (
        hashlib.sha256(final.read_bytes()).digest() == hashlib.sha256(source.read_bytes()).digest()
    )
    assert sorted(p.name for p in final.parent.iterdir()) == ["big.bin"]


def test_two_processes_on_one_file_fetch_it_once_and_intact(big, files, tmp_path):
    item, served, source = big
    files.set_faults([{"path": served, "hold_after_bytes": HALF, "count": 1}])
    first = start(item, tmp_path, "first")
    lock = tmp_path / "big-item" / "big.bin.part.lock"
    files.wait_held(1)  # the first holds the file's lock, its transfer half done
    assert lock.exists()
    second = start(item, tmp_path, "second")
    wait_until(lambda: "waiting for it" in logged(tmp_path, "second"), 60, "the second waiting")
    files.release()
    results = sorted(
        finish(p, tmp_path, n)[0][0] for p, n in ((first, "first"), (second, "second"))
    )
    assert results == ["fetched", "skipped"]
    final = tmp_path / "big-item" / "big.bin"
    assert final.read_bytes() == source.read_bytes()
    files.wait_idle()
    assert files.bytes_for(served) == SIZE  # the file crossed the wire once
    assert sorted(p.name for p in final.parent.iterdir()) == ["big.bin"]
