"""B9: load 20 items x 4 bands into one cube, against odc-stac with a hand-made configure_rio.

The baseline is what a user writes today for a protected catalogue: fetch a token, put it in
GDAL's process-wide ``GDAL_HTTP_HEADERS`` with ``odc.stac.configure_rio`` and call
``odc.stac.load``. Ours is ``xstac_access.load(items, credentials=...)``: the token is looked up
per read and never set process-wide. Both read the same COG stack (``testing.stack``) from the
local file server behind a MAAP bearer token, with a per-request latency (default 20 ms) so
request counts show in wall time. GDAL's block cache is cleared before every run; runs
alternate and the median is reported, with the bytes and requests the file server counted.
Run: ``.venv/bin/python benchmarks/b9_load.py [--size 1024] [--latency-ms 20] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import odc.stac
import pystac
import requests

from xstac_access import credentials
from xstac_access.load import load
from xstac_access.readers._gdal import clear_vsicurl_cache
from xstac_access.testing.stack import BANDS, write_stack
from xstac_access.testing.world import LocalWorld

RESULTS = Path(__file__).parent / "results" / "b9_load.json"
N_ITEMS = 20


def _forget(items: list[dict[str, Any]]) -> None:
    for item in items:
        for asset in item["assets"].values():
            clear_vsicurl_cache("/vsicurl/" + asset["href"])


def _measure(world: LocalWorld, items: list[dict[str, Any]], run) -> dict[str, float]:
    _forget(items)
    world.files.reset()
    began = time.perf_counter()
    cube = run()
    seconds = time.perf_counter() - began
    log = [e for e in world.files.stats()["log"] if "/_bench_stack/" in e["path"]]
    return {
        "seconds": seconds,
        "requests": len(log),
        "bytes": sum(e["bytes"] for e in log),
        "checksum": int(cube["nir"].sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024, help="pixels per side of each COG")
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with LocalWorld(Path(tempfile.mkdtemp()), latency_ms=args.latency_ms) as world:
        e = world.endpoints
        root = world.replica.files_root / "maap" / "data" / "_bench_stack"
        items = write_stack(
            root, f"{e.http}/maap/data/_bench_stack", n_items=N_ITEMS, size=args.size
        )
        try:
            token_url = f"{e.oidc}/realms/maap/protocol/openid-connect/token"
            offline = world.oidc.offline_token("maap", "maap-user")
            broker = credentials.broker_from({"maap": {
                "offline_token": offline, "client_secret": "offline-token-public-secret",
                "token_url": token_url, "hosts": [f"{e.http}/maap/data/*"],
            }})  # fmt: skip
            stac_items = [pystac.Item.from_dict(i) for i in items]

            def baseline():  # its own offline token: refresh tokens rotate when used
                token = requests.post(token_url, timeout=30, data={
                    "grant_type": "refresh_token",
                    "refresh_token": world.oidc.offline_token("maap", "maap-user"),
                    "client_id": "offline-token", "client_secret": "offline-token-public-secret",
                }).json()["access_token"]  # fmt: skip
                odc.stac.configure_rio(
                    cloud_defaults=True, GDAL_HTTP_HEADERS=f"Authorization: Bearer {token}"
                )
                return odc.stac.load(stac_items, bands=list(BANDS))

            def ours():
                return load(items, bands=list(BANDS), credentials=broker)

            runs: dict[str, list[dict[str, float]]] = {"baseline": [], "xstac_access": []}
            for _ in range(args.repeat):
                runs["baseline"].append(_measure(world, items, baseline))
                odc.stac.configure_rio()  # the token leaves the process-wide settings
                runs["xstac_access"].append(_measure(world, items, ours))
        finally:
            shutil.rmtree(root)

    summary = {
        name: {
            "median_seconds": round(statistics.median(r["seconds"] for r in rs), 3),
            "requests": rs[-1]["requests"],
            "bytes": rs[-1]["bytes"],
            "checksum": rs[-1]["checksum"],
        }
        for name, rs in runs.items()
    }
    ratio = summary["xstac_access"]["median_seconds"] / summary["baseline"]["median_seconds"]
    report = {
        "benchmark": "B9 load 20 items x 4 bands",
        "machine": platform.platform(),
        "size": args.size,
        "latency_ms": args.latency_ms,
        "runs": runs,
        "summary": summary,
        "time_ratio_ours_over_baseline": round(ratio, 3),
        "target": "<= 1.1 x baseline wall time, same bytes",
        "same_values": summary["baseline"]["checksum"] == summary["xstac_access"]["checksum"],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"B9: {N_ITEMS} items x {len(BANDS)} bands of {args.size}^2, {args.latency_ms} ms")
    for name, s in summary.items():
        print(
            f"  {name:13s} {s['median_seconds']:7.3f} s  {s['requests']:5d} requests  "
            f"{s['bytes'] / 1e6:8.2f} MB"
        )
    print(f"  ratio ours/baseline: {ratio:.3f} (target <= 1.1); same values: "
          f"{report['same_values']}")  # fmt: skip


if __name__ == "__main__":
    main()
