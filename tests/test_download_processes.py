"""download() across processes: a killed download leaves no final file and resumes; two
processes fetching the same asset into one folder neither corrupt nor duplicate it."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

SIZE = 8_000_000
RATE = 2_000_000  # bytes per second the server sends: a transfer of SIZE takes ~4 s

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from xstac_access import download
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


def start(item: dict, dest: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, json.dumps(item), str(dest)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def finish(proc: subprocess.Popen) -> list:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    return json.loads(out.strip().splitlines()[-1])


def wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_killed_download_leaves_no_final_file_and_the_next_run_resumes(big, files, tmp_path):
    item, served, source = big
    files.set_faults([{"path": served, "slow_bytes_per_s": RATE, "count": 1}])
    final = tmp_path / "big-item" / "big.bin"
    part = final.with_name("big.bin.part")
    proc = start(item, tmp_path)
    wait_for(lambda: part.exists() and part.stat().st_size > SIZE // 4)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    have = part.stat().st_size
    assert not final.exists() and 0 < have < SIZE
    files.reset()
    ((status, received, error),) = finish(start(item, tmp_path))
    assert status == "resumed", error
    log = [e for e in files.stats()["log"] if e["path"] == served and e["range"]]
    # the killed process may have flushed a little more than we saw: the new range starts there
    assert len(log) == 1, log
    (request,) = log
    start_byte = int(request["range"].removeprefix("bytes=").rstrip("-"))
    assert have <= start_byte < SIZE and received == SIZE - start_byte
    assert (
        hashlib.sha256(final.read_bytes()).digest() == hashlib.sha256(source.read_bytes()).digest()
    )
    assert sorted(p.name for p in final.parent.iterdir()) == ["big.bin"]


def test_two_processes_on_one_file_fetch_it_once_and_intact(big, files, tmp_path):
    item, served, source = big
    files.set_faults([{"path": served, "slow_bytes_per_s": RATE, "count": 1}])
    first = start(item, tmp_path)
    part = tmp_path / "big-item" / "big.bin.part"
    wait_for(lambda: part.exists() and part.stat().st_size > 0)
    second = start(item, tmp_path)  # starts while the first one holds the file
    results = sorted(finish(p)[0][0] for p in (first, second))
    assert results == ["fetched", "skipped"]
    final = tmp_path / "big-item" / "big.bin"
    assert final.read_bytes() == source.read_bytes()
    assert files.bytes_for(served) == SIZE  # the file crossed the wire once
    assert sorted(p.name for p in final.parent.iterdir()) == ["big.bin"]
