"""Run the benchmarks of PERFORMANCE.md against the local world and write the results.

``python benchmarks/run.py [--quick] [--only B1,B7] [--latency 0,20,80] [--rounds N] [--out DIR]``

Full mode (``make bench``) starts the local world at ``bench`` scale (the 225 MB Biomass image,
the larger EOPF and CDSE products) and runs every data benchmark at 0, 20 and 80 ms per request,
5 A B rounds each after a warm-up round, then the CPU benchmarks B5 and B6 once; it writes
``benchmarks/results/latest.json`` and ``benchmarks/RESULTS.md``. Quick mode (``make
bench-quick``, and ``tests/test_benchmarks.py``) uses the ``ci`` replica and small sizes, one
round without warm-up at 20 ms: it keeps the benchmarks runnable and their byte and request
counts checked, and its timings mean nothing. ``--out`` writes elsewhere (CI must never overwrite
the committed results); quick runs without ``--out`` write to ``benchmarks/results/quick/``.
Every server started is stopped at the end, and all traffic stays on 127.0.0.1. With
``$XSTAC_WORLD`` naming a running world's state file (the test suite does that), the benchmarks
borrow that world (its scale must match) instead of starting one, and leave it as they found it:
latency 0, no faults, counters cleared, the replica's server config.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import _harness as h
from xstac_access.testing.shared import world_from_env

#: Data benchmarks, in the order they run: module names under benchmarks/.
NETWORK = {
    "B1": "b1_gcp_window",
    "B2": "b2_eopf_tree",
    "B3": "b3_tci_quicklook",
    "B4": "b4_cog_quicklook",
    "B7": "b7_safe_members",
    "B8": "b8_download",
    "B9": "b9_load",
    "B10": "b10_safe_tree",
    "B11": "b11_open_overhead",
}
#: CPU benchmarks: no server, no latency.
CPU = {"B5": "b5_grid", "B6": "b6_geocode"}
#: What the measurements led to change in the library (the first section of RESULTS.md).
FIXES = [
    "## What the measurements changed in the library",
    "",
    "- **B9 bytes**: `readers/_gdal.py` set `VSI_CACHE=TRUE` (whose 32 KB blocks made GDAL's "
    "first read of every file 32 KB) and `GDAL_INGESTED_BYTES_AT_OPEN=32768`; GDAL's own first "
    "read is 16 KB, which holds the IFDs of these COGs, and /vsicurl/ caches what it fetched "
    "anyway. Those 16 KB a file were the 7.5 % of extra bytes against odc-stac (18.7 vs "
    "17.4 MB). The loader now runs without either and moves the same bytes as odc-stac; "
    "the readers of one file keep `VSI_CACHE` (`READER_CONFIG`): its 32 KB blocks fetch the "
    "Biomass TIFF's 17 KB trailing IFD in one request instead of two in a row (B1).",
    "- **B7 correctness**: a JPEG 2000 member of a protected zip came back as zeros: GDAL's "
    "JPEG 2000 decoder reads from worker threads, which do not see the thread-local "
    "`GDAL_HTTP_HEADERS` of the read, so their requests were refused (401). Reads now run with "
    "`GDAL_NUM_THREADS=1`; the benchmark checks the TCI equals the unzipped one.",
    "- **B7 round trips**: the zip reader remembers a located archive (where its redirect "
    "lands, its central directory) for a minute per href and credential: the second and third "
    "member of one product skip the redirect walk and the directory read (3 requests each).",
    "- **B2/B3 round trips**: the Zarr store asks for `.zmetadata` first and answers every v2 "
    "metadata key from it (1 request instead of zarr.json, .zgroup, .zattrs, .zmetadata), and "
    "fetches every index coordinate chunk (and first/last CF-time chunks) of the opened "
    "group(s) at once before xarray reads them one by one: 55 requests in 2 round trips "
    "instead of 62 in 62 for the S2 L2A tree.",
    "- **B1 bands at once**: `RasterBandArray.async_getitem`, so `await ds.load_async()` reads "
    "the bands of a window concurrently (`.load()` reads xarray variables one after another).",
    "- **B1 `.load()`**: xarray loads a Dataset's variables one after another, and every band "
    "is a variable, so a 4-band window was 4 dependent reads. The first band read inside a "
    "running `Dataset.load()` now reads the sibling bands that Dataset still holds lazily at the "
    "same window side by side, in threads, and keeps them for their own reads "
    "(`readers/_gdalbatch.py`); bands dropped or not selected are not read, a band read alone "
    "reads only itself. One GDAL call for the bands would not do: with one GDAL thread GDAL "
    "reads a band-interleaved file's bands one after another too.",
    "- **B11 per open**: rioxarray's `write_crs`/`write_transform` deep-copied the new Dataset "
    "and translated the CRS to CF with pyproj on every open, and `xr.decode_cf` built a second "
    "Dataset: about half of the Python an open of a small COG cost. The grid-mapping attributes "
    "are now worked out once per CRS and go into the one Dataset with x and y; each band is "
    "decoded before it is built (same attributes and encodings).",
    "- Benchmark support: `readers._gdal.forget_datasets()` and "
    "`readers._zipfile.forget_archives()` start a measurement cold.",
    "",
]


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, 1 round, 20 ms (CI)")
    parser.add_argument("--only", help="comma-separated ids, e.g. B1,B7 (default: all)")
    parser.add_argument("--latency", help="comma-separated ms per request (default 0,20,80)")
    parser.add_argument("--rounds", type=int, help="A B rounds (default 5; quick: 1)")
    parser.add_argument("--out", type=Path, help="results directory (default benchmarks/results)")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the other benchmarks' rows of the directory's latest.json (rerun a few)",
    )
    parser.add_argument(
        "--render",
        action="store_true",
        help="measure nothing: rewrite RESULTS.md from the directory's latest.json, with the "
        "causes and notes the benchmark modules give now",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse(argv)
    if args.render:
        return render(args.out or (h.RESULTS_DIR / "quick" if args.quick else h.RESULTS_DIR))
    wanted = [b.strip().upper() for b in args.only.split(",")] if args.only else [*NETWORK, *CPU]
    unknown = [b for b in wanted if b not in NETWORK and b not in CPU]
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {unknown}; known: {[*NETWORK, *CPU]}")
    default_latency = "20" if args.quick else "0,20,80"
    latencies = [float(ms) for ms in (args.latency or default_latency).split(",")]
    rounds = args.rounds or (1 if args.quick else 5)
    out = args.out or (h.RESULTS_DIR / "quick" if args.quick else h.RESULTS_DIR)
    began = time.monotonic()
    results: list[dict[str, Any]] = []
    report: dict[str, Any] = {
        "command": " ".join(
            ["python benchmarks/run.py", *(sys.argv[1:] if argv is None else argv)]
        ),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "mode": "quick" if args.quick else "full",
        "rounds": rounds,
        "warm_up": not args.quick,
        "latencies_ms": latencies,
        "machine": h.machine(),
        "bandwidth_mb_s": 0.0,
        "preamble": FIXES,
        "results": results,
        "errors": [],
    }
    network = [b for b in NETWORK if b in wanted]
    if args.merge and (out / "latest.json").is_file():
        import json

        kept = json.loads((out / "latest.json").read_text())["results"]
        results.extend(row for row in kept if row["id"] not in wanted)

    def save(bench: str, run: Any) -> None:
        """Run one benchmark; keep what it measured, or its error, and write the files so far
        (a long run that breaks keeps every benchmark done before)."""
        try:
            results.extend(run())
        except Exception as exc:  # one broken benchmark must not cost the others' results
            report["errors"].append({"id": bench, "error": f"{type(exc).__name__}: {exc}"})
            print(f"{bench} failed: {exc!r}", file=sys.stderr)
        report["seconds"] = round(time.monotonic() - began, 1)
        report["notes"] = notes(report)
        h.write_results(out, report)

    if network:
        scale = "ci" if args.quick else "bench"
        with world_from_env(latency_ms=0, scale=scale) as world:
            print(f"local world ({scale}) up in {world.start_seconds:.1f} s", file=sys.stderr)
            ctx = h.Context(world, args.quick, rounds, 0.0, warm_up=not args.quick)
            with ctx.stack:
                ctx.bandwidth = h.bandwidth(world, size=(16 if args.quick else 256) * h.MB)
                report["bandwidth_mb_s"] = ctx.bandwidth / h.MB
                for bench in network:
                    save(bench, lambda b=bench: run_network(ctx, b, latencies))
    for bench in (b for b in CPU if b in wanted):
        save(bench, lambda b=bench: run_cpu(b, args.quick))
    results.sort(key=lambda row: [*NETWORK, *CPU].index(row["id"]))  # merged rows in order
    json_path, md_path = h.write_results(out, report)
    print(f"written {json_path} and {md_path} in {report['seconds']:.0f} s", file=sys.stderr)
    if report["errors"]:
        raise SystemExit(f"benchmarks failed: {report['errors']}")
    return report


def run_cpu(bench: str, quick: bool) -> list[dict[str, Any]]:
    """One CPU benchmark, once."""
    module = importlib.import_module(f"benchmarks.{CPU[bench]}")
    print(f"{bench}: {module.__doc__.splitlines()[0]}", file=sys.stderr)
    return module.cpu(quick)


def render(out: Path) -> dict[str, Any]:
    """Rewrite ``out``'s RESULTS.md (and latest.json) from its latest.json, taking the causes
    of missed targets and the notes from the benchmark modules as they are now."""
    import json

    report = json.loads((out / "latest.json").read_text())
    for row in report["results"]:
        spec = importlib.import_module(
            f"benchmarks.{NETWORK.get(row['id']) or CPU[row['id']]}"
        ).SPEC
        missed = {t["key"] for t in row["targets"] if not t["met"]}
        row["causes"] = {k: v for k, v in spec.causes.items() if k in missed}
        row["notes"] = list(spec.notes)
    report["results"].sort(key=lambda row: [*NETWORK, *CPU].index(row["id"]))
    report["preamble"] = FIXES
    report["notes"] = notes(report)
    json_path, md_path = h.write_results(out, report)
    print(f"rewritten {md_path} from {json_path}", file=sys.stderr)
    return report


def run_network(ctx: h.Context, bench: str, latencies: list[float]) -> list[dict[str, Any]]:
    """Prepare one benchmark, then measure it at every latency."""
    module = importlib.import_module(f"benchmarks.{NETWORK[bench]}")
    print(f"{bench}: {module.__doc__.splitlines()[0]}", file=sys.stderr)
    ctx.set_latency(0)
    out = []
    ctx.own = contextlib.ExitStack()  # what this benchmark starts for all its latencies
    with ctx.own:
        state = module.prepare(ctx)
        for ms in latencies:
            ctx.set_latency(ms)
            began = time.monotonic()
            rows = module.measure(ctx, state)
            for row in rows:
                ours = next(iter(row["variants"].values()))
                print(
                    f"  {ms:g} ms {row['case']:<10} ours {ours['median_s']:.3f} s  "
                    f"{row['ratios']}  targets met: {[t['met'] for t in row['targets']]}"
                    f"  ({time.monotonic() - began:.0f} s)",
                    file=sys.stderr,
                )
            out += rows
    ctx.set_latency(0)
    return out


def notes(report: dict[str, Any]) -> list[str]:
    """The closing lines of RESULTS.md: what each benchmark's module says about its data."""
    seen: dict[str, Any] = {}
    for row in report["results"]:
        seen.setdefault(row["id"], row)
    lines = ["## Notes", ""]
    for bench, row in seen.items():
        for note in row.get("notes", []):
            lines.append(f"- **{bench}**: {note}")
    lines.append(f"\nThe whole run took {report.get('seconds', 0):.0f} s.")
    return lines


if __name__ == "__main__":
    main()
