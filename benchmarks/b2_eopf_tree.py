"""B2: open an EOPF Sentinel-2 L2A product as a DataTree (the real group and array layout).

The product is the replica's EOPF S2 L2A Zarr v2 store (36 groups, 370 metadata documents,
consolidated ``.zmetadata``; 10 m grids of 2745 px at ``bench`` scale, 1098 px in quick mode),
built from a real product's metadata. The world serves it from moto (S3), which has neither
request counters nor latency; so the benchmark serves the very same files over HTTP from a
second file server (``<server>/<bucket>/<key>``, the path-style URLs the items use for moto),
which counts and delays every request, and points the item at it. One extra case at 0 ms opens
the product on the moto S3 store itself (wall time only).

Variants (both give a DataTree of dask arrays, as the catalogue's ``chunks: {}`` hint asks):

* ``ours``: ``xr.open_datatree(item, engine="stacasset", asset="product", chunks={})``;
* ``seed``: seed 002, ``xr.open_datatree(asset.href, **asset["xarray:open_datatree_kwargs"])``
  (xarray-eopf's ``eopf-zarr`` engine, ``op_mode="native"``).

Floor: the consolidated metadata, then every chunk xarray reads at open (index coordinates,
first and last values of CF-time arrays) at once; bytes: those files.

CPU: the process's CPU time during each open (``time.process_time``: every thread, zarr's
event loop's included; the file server is another process), median of the runs. At 0 ms it is
the tree's construction, which the issue's target bounds (≤ 0.1 s).
"""

from __future__ import annotations

import itertools
import json
import statistics
import time
from pathlib import Path
from typing import Any

import xarray as xr

from benchmarks import _harness as h
from xstac_access.readers._zarrstore import PREFETCH_CONCURRENCY, index_chunk_keys

ID = "B2"
TITLE = "EOPF S2 L2A product as DataTree"
NOTES = [
    "Served over HTTP by a second file server on the S3 store's files (moto has no counters "
    "or latency); the `moto S3` row opens the same product on moto itself, wall time only.",
]
METADATA = ("zarr.json", ".zmetadata", ".zgroup", ".zarray", ".zattrs")
#: Issue 20's target for the CPU time of the open at 0 ms (the tree's construction).
CPU_TARGET_S = 0.1
LABELS = {"ours": "xstac-access", "seed": "seed 002 open_datatree(href, **kwargs)"}
CAUSES = {
    "cpu": (
        "Cause: xarray's DataTree post-processing, ~110 of the ~180 ms (ci scale, warm, "
        "process CPU at 0 ms): `_datatree_from_backend_datatree` tokenizes the item passed as "
        "`filename_or_obj` once per group to name the dask arrays (36 x 1.7 ms for the 19 KB "
        "item dict: ~60 ms, whatever the backend returns: the token is computed before the "
        "variables are looked at), then indexes and rebuilds the tree twice (~50 ms). The "
        "reader's part is ~75 ms: the metadata and 54 chunk fetches and their decoding in "
        "zarr's loop (~30 ms), the 36 Datasets (~20 ms, built once with their indexes), "
        "`DataTree.from_dict` (~11 ms). Python's full garbage collection, when it falls in an "
        "open, adds ~120 ms in this process's heap (~30 ms a run on average). What would close "
        "it: xarray tokenizing `filename_or_obj` once per open_datatree, not per group "
        "(upstream), which leaves ~120 ms; an item URL instead of the item dict costs nothing "
        "to tokenize."
    ),
    "floor": (
        "Cause: CPU, not the network (see the CPU target at 0 ms): xarray builds a 36-group "
        "DataTree of ~300 dask arrays (tokenizing the item once per group, alignment checks, "
        "index creation); the network part is the floor's own: 1 metadata request, then the 54 "
        "open-time chunks in one wave (seed 002: 4 + 58 requests, one after another: 5.2 s at "
        "80 ms against ours' 0.52 s). What would close it: less work in xarray's DataTree "
        "construction, outside this library; the floor counts no CPU."
    ),
}


SPEC = h.Spec(ID, TITLE, CAUSES, NOTES)


def eopf_s2(ctx: h.Context) -> dict[str, Any]:
    """The S2 L2A item pointed at a file server serving the world's S3 buckets over HTTP
    (started once per run, shared with B3), and what is known of its store."""
    shared = ctx.state.get("eopf-s2")
    if shared is not None:
        return shared
    world = ctx.world
    buckets = next(iter(world.replica.s3_buckets.values())).parent
    base, admin = h.file_server(ctx, buckets, "zarr-http")
    original = next(i for i in world.replica.items if i["collection"] == "eopf-sentinel-2-l2a")
    item = json.loads(json.dumps(original).replace(world.endpoints.s3, base))
    href = item["assets"]["product"]["href"]
    local = buckets / href[len(base) + 1 :]
    consolidated = json.loads((local / ".zmetadata").read_text())["metadata"]
    shared = {
        "item": item,
        "s3_item": original,
        "href": href,
        "path": href[len(base) :],
        "local": local,
        "admin": admin,
        "consolidated": consolidated,
    }
    ctx.state["eopf-s2"] = shared
    return shared


def sizes(local: Path, keys: list[str]) -> tuple[int, int]:
    """(how many of ``keys`` exist as files under ``local``, their bytes): missing chunks of a
    Zarr store are fill values, answered 404 by the server."""
    found = [local / k for k in keys if (local / k).is_file()]
    return len(found), sum(p.stat().st_size for p in found)


def prepare(ctx: h.Context) -> dict[str, Any]:
    return eopf_s2(ctx)


def metadata_requests(admin: Any, path: str) -> int:
    """Requests for metadata documents (not chunks) under ``path`` since the last reset."""
    return sum(
        1
        for e in admin.stats()["log"]
        if e["path"].startswith(path) and e["path"].endswith(METADATA)
    )


def waves(admin: Any, path: str, latency_ms: float) -> int | None:
    """How many waves the chunk requests of one open came in (1: all at once), from the
    completion times the server logged: requests sent one after another finish a latency
    apart, requests sent together within a few milliseconds. None at 0 ms."""
    times = sorted(
        e["t"]
        for e in admin.stats()["log"]
        if e["path"].startswith(path) and not e["path"].endswith(METADATA)
    )
    if not times or latency_ms <= 0:
        return None
    gap = latency_ms / 2000
    return 1 + sum(1 for a, b in itertools.pairwise(times) if b - a > gap)


def measure(ctx: h.Context, s: dict[str, Any]) -> list[dict[str, Any]]:
    admin, path, item = s["admin"], s["path"], s["item"]
    asset = item["assets"]["product"]
    extra: dict[str, dict[str, Any]] = {}

    def probe(name: str, tree: xr.DataTree) -> dict[str, Any]:
        extra[name] = {
            "metadata_requests": metadata_requests(admin, path),
            "chunk_waves": waves(admin, path, ctx.latency_ms),
        }
        return {"groups": len(tree.groups), **extra[name]}

    def ours() -> dict[str, Any]:
        began = time.process_time()
        tree = xr.open_datatree(item, engine="stacasset", asset="product", chunks={})
        cpu_s = time.process_time() - began
        return {**probe("ours", tree), "cpu_s": cpu_s}

    def seed() -> dict[str, Any]:
        began = time.process_time()
        tree = xr.open_datatree(asset["href"], **asset["xarray:open_datatree_kwargs"])
        cpu_s = time.process_time() - began
        return {**probe("seed", tree), "cpu_s": cpu_s}

    runs = h.alternate(
        ctx, {"ours": ours, "seed": seed}, h.file_counter(admin, h.under(path)), reset=[admin]
    )
    summaries = {name: h.summary(r, LABELS[name]) for name, r in runs.items()}
    cpu = {
        name: round(statistics.median(r.info["cpu_s"] for r in rs), 4) for name, rs in runs.items()
    }
    keys = index_chunk_keys(s["consolidated"], subtree=True)
    found, chunk_bytes = sizes(s["local"], keys)
    bytes_min = (s["local"] / ".zmetadata").stat().st_size + chunk_bytes
    stages = [(1, 1), (len(keys), PREFETCH_CONCURRENCY)]
    fl = h.floor(stages, bytes_min, ctx.latency_ms, ctx.bandwidth)
    ours_info = summaries["ours"]["info"]
    targets = [
        h.target(
            "metadata",
            "one metadata request",
            ours_info["metadata_requests"],
            1,
            deterministic=True,
        ),
        h.target(
            "floor",
            "wall ≤ 1.5 x floor",
            h.ratio(summaries["ours"]["median_s"], fl["seconds"]),
            1.5,
        ),
    ]
    if ctx.latency_ms == 0:
        targets.insert(
            1, h.target("cpu", "tree construction CPU ≤ 0.1 s", cpu["ours"], CPU_TARGET_S)
        )
    if ctx.latency_ms > 0:
        targets.insert(
            1,
            h.target(
                "concurrent",
                "index coordinates in one wave of requests",
                ours_info["chunk_waves"],
                1,
            ),
        )
    rows = [
        SPEC.record(
            ctx,
            summaries,
            floor_=fl,
            targets=targets,
            open_chunks={"keys": len(keys), "present": found, "bytes": chunk_bytes},
            cpu_s=cpu,
        )
    ]
    if ctx.latency_ms == 0:
        rows.append(on_s3(ctx, s))
    return rows


def on_s3(ctx: h.Context, s: dict[str, Any]) -> dict[str, Any]:
    """The same two opens on the moto S3 store (the items' own hrefs): wall time only."""
    item = s["s3_item"]
    asset = item["assets"]["product"]

    def ours() -> None:
        xr.open_datatree(item, engine="stacasset", asset="product", chunks={})

    def seed() -> None:
        xr.open_datatree(asset["href"], **asset["xarray:open_datatree_kwargs"])

    runs = h.alternate(ctx, {"ours": ours, "seed": seed}, lambda: (0, 0))
    summaries = {name: h.summary(r, LABELS[name]) for name, r in runs.items()}
    return SPEC.record(ctx, summaries, case="moto S3", counted=False)
