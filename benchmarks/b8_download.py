"""B8: download 4 assets of 200 MB, and resume after a cut, against seed 000's download loop.

The baseline is what seed 000 (ESA MAAP Biomass notebook) does: ``requests.get(stream=True)``
and an ``iter_content(8 MiB)`` loop writing the file, one file after the other. Ours is
``xstac_access.download.download(item, dest, parallel=4)`` with its defaults: ``.part`` files,
fsync and atomic rename, sha2-256 ``file:checksum`` verification of every file.

Only the HTTP file server of the local world runs (no token is needed: the cost of credentials
is the same for both). It serves a temporary tree with four files of pseudo-random bytes and
answers every request after ``--latency-ms`` (default 20). Two network conditions:

* ``capped``: each response is throttled to ``--cap-mb-s`` MB/s (the file server's
  ``slow_bytes_per_s`` fault), as a WAN or a busy object store limits each connection;
* ``loopback``: no cap, so the two CPUs of this machine (server and client share them) bound
  both ways.

Runs alternate A B A B; medians and the ratio baseline / ours are reported, with the bytes the
server sent (both must send exactly the files). The resume case cuts one file halfway
(``reset_after_bytes``, no retry), then calls ``download`` again: the server's byte counter for
the second call is compared with the bytes missing from the ``.part``.

Run: ``.venv/bin/python benchmarks/b8_download.py [--size-mb 200] [--repeat 2]``; writes
``benchmarks/results/b8_download.json`` and prints a markdown table.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

from xstac_access.download import download
from xstac_access.testing._procs import LOOPBACK, free_port, start_process
from xstac_access.testing.admin import FileServerAdmin

RESULTS = Path(__file__).parent / "results" / "b8_download.json"
FILES = 4
SEED_CHUNK = 8 * 1024 * 1024  # seed 000's iter_content chunk size


def make_files(root: Path, size: int) -> dict[str, tuple[int, str]]:
    """Write FILES files of ``size`` pseudo-random bytes; name -> (size, sha256 hex)."""
    info = {}
    block = 8 << 20
    for n in range(FILES):
        name = f"asset_{n}.bin"
        digest = hashlib.sha256()
        with open(root / name, "wb") as fh:
            for start in range(0, size, block):
                data = hashlib.shake_256(f"{n}:{start}".encode()).digest(min(block, size - start))
                fh.write(data)
                digest.update(data)
        info[name] = (size, digest.hexdigest())
    return info


def item_for(base: str, info: dict[str, tuple[int, str]]) -> dict:
    """A STAC item whose data assets are the served files, with file:size and file:checksum."""
    assets = {
        name.removesuffix(".bin"): {
            "href": f"{base}/{name}",
            "type": "application/octet-stream",
            "roles": ["data"],
            "file:size": size,
            "file:checksum": "1220" + sha,
        }
        for name, (size, sha) in info.items()
    }
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "b8-item",
        "geometry": None,
        "properties": {"datetime": "2025-01-01T00:00:00Z"},
        "links": [],
        "assets": assets,
    }


def seed_download(url: str, folder: Path) -> None:
    """Seed 000's ``download_file_with_bearer_token`` minus the token and the progress bar."""
    response = requests.get(url, stream=True, timeout=60)
    response.raise_for_status()
    path = folder / url.rsplit("/", 1)[-1]
    with open(path, "wb") as f:
        for chunk in response.iter_content(chunk_size=SEED_CHUNK):
            f.write(chunk)


def baseline(item: dict, dest: Path) -> None:
    dest.mkdir(parents=True)
    for asset in item["assets"].values():
        seed_download(asset["href"], dest)


def ours(item: dict, dest: Path) -> None:
    report = download(item, dest, parallel=4, progress=False)
    if not report.ok:
        raise RuntimeError(report.summary())


def measure(admin: FileServerAdmin, run, item: dict, work: Path) -> tuple[float, int]:
    """Wall seconds of one run and the bytes the server sent for it."""
    dest = work / "dest"
    admin.reset()
    began = time.perf_counter()
    run(item, dest)
    wall = time.perf_counter() - began
    sent = sum(admin.stats()["bytes"].values())
    shutil.rmtree(dest)
    return wall, sent


def condition(admin: FileServerAdmin, item: dict, work: Path, repeat: int, cap: float | None):
    """A B A B runs of the baseline and ours under one network condition."""
    admin.set_faults([{"path": "/*", "slow_bytes_per_s": cap}] if cap else [])
    runs: dict[str, list[float]] = {"baseline": [], "ours": []}
    sent: dict[str, int] = {}
    for _ in range(repeat):
        for name, func in (("baseline", baseline), ("ours", ours)):
            wall, nbytes = measure(admin, func, item, work)
            runs[name].append(round(wall, 3))
            sent[name] = nbytes
            print(f"  {name:8s} {wall:7.2f} s  {nbytes / 1e6:8.1f} MB", file=sys.stderr)
    admin.clear_faults()
    medians = {name: round(statistics.median(walls), 3) for name, walls in runs.items()}
    return {
        "cap_bytes_per_s": cap,
        "runs_s": runs,
        "median_s": medians,
        "ratio_baseline_over_ours": round(medians["baseline"] / medians["ours"], 2),
        "bytes_sent": sent,
    }


def resume_case(admin: FileServerAdmin, item: dict, work: Path, size: int) -> dict:
    """Cut one file halfway (no retry), then download again: what does the second call fetch?"""
    dest = work / "dest"
    victim = "/asset_0.bin"
    admin.reset()
    admin.set_faults([{"path": victim, "reset_after_bytes": size // 2, "count": 1}])
    first = download(item, dest, parallel=4, progress=False, retries=0)
    admin.clear_faults()
    part = dest / item["id"] / "asset_0.bin.part"
    have = part.stat().st_size if part.exists() else 0
    admin.reset()
    began = time.perf_counter()
    second = download(item, dest, parallel=4, progress=False)
    wall = time.perf_counter() - began
    stats = admin.stats()
    shutil.rmtree(dest)
    return {
        "first_call": first.counts,
        "part_bytes": have,
        "missing_bytes": size - have,
        "second_call": second.counts,
        "second_call_server_bytes": sum(stats["bytes"].values()),
        "second_call_victim_bytes": stats["bytes"].get(f"main:{victim}", 0),
        "second_call_requests": sum(stats["requests"].values()),
        "second_call_ranges": [e["range"] for e in stats["log"]],
        "second_call_s": round(wall, 3),
    }


def table(result: dict) -> str:
    lines = [
        f"B8 download: {FILES} x {result['size_mb']} MB, latency {result['latency_ms']} ms",
        "",
        "| condition | baseline (s) | ours (s) | baseline / ours | server MB (baseline, ours) |",
        "|---|---|---|---|---|",
    ]
    for name, c in result["conditions"].items():
        cap = c["cap_bytes_per_s"]
        label = f"{name} ({cap / 1e6:.0f} MB/s per response)" if cap else name
        lines.append(
            f"| {label} | {c['median_s']['baseline']:.2f} | {c['median_s']['ours']:.2f} | "
            f"{c['ratio_baseline_over_ours']:.2f} x | {c['bytes_sent']['baseline'] / 1e6:.1f}, "
            f"{c['bytes_sent']['ours'] / 1e6:.1f} |"
        )
    r = result["resume"]
    lines += [
        "",
        f"Resume: .part held {r['part_bytes']} B, missing {r['missing_bytes']} B; second call "
        f"received {r['second_call_victim_bytes']} B for it ({r['second_call_requests']} "
        f"request(s), ranges {r['second_call_ranges']}), {r['second_call']} in "
        f"{r['second_call_s']:.2f} s.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200, help="size of each file")
    parser.add_argument("--repeat", type=int, default=2, help="A B pairs per condition")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--cap-mb-s", type=float, default=50.0, help="per-response cap")
    args = parser.parse_args(argv)
    size = args.size_mb * 1_000_000
    with tempfile.TemporaryDirectory(prefix="xstac-b8-") as tmp:
        work = Path(tmp)
        served = work / "served"
        served.mkdir()
        info = make_files(served, size)
        port, alt = free_port(), free_port()
        argv_server = [
            sys.executable, "-m", "xstac_access.testing.fileserver", "--root", str(served),
            "--port", str(port), "--alt-port", str(alt), "--latency-ms", str(args.latency_ms),
        ]  # fmt: skip
        base = f"http://{LOOPBACK}:{port}"
        server = start_process(
            "b8-fileserver", argv_server, log_dir=work / "logs", ready_url=f"{base}/__admin__/stats"
        )
        try:
            admin = FileServerAdmin(base)
            item = item_for(base, info)
            conditions = {}
            for name, cap in (("capped", args.cap_mb_s * 1e6), ("loopback", None)):
                print(f"{name}:", file=sys.stderr)
                conditions[name] = condition(admin, item, work, args.repeat, cap)
            resume = resume_case(admin, item, work, size)
        finally:
            server.stop()
    result = {
        "benchmark": "B8 download",
        "size_mb": args.size_mb,
        "files": FILES,
        "latency_ms": args.latency_ms,
        "repeat": args.repeat,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "conditions": conditions,
        "resume": resume,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1))
    print(table(result))
    return result


if __name__ == "__main__":
    main()
