"""What every benchmark shares: A B A B rounds, server-side counts, the floor, the result files.

A data benchmark is a set of *variants* (ours and its baselines), each a callable doing the whole
user-visible job (href or item in, values out). :func:`alternate` runs them in turn, round after
round (A B A B ..., after one untimed warm-up round that pays imports, token fetches and
connection set-up), starting every run cold: GDAL's caches and the reader's open datasets are
forgotten and the file server's counters reset. What the file server counted for the paths the
benchmark reads (requests, bytes) is stored with each run's wall time, and :func:`summary` keeps
the medians.

The floor is PERFORMANCE.md's ``ceil(R_min / C) * latency + bytes_min / bandwidth``, applied per
*stage* of requests that depend on each other (a header must arrive before the tiles it points
to can be asked for): ``sum(ceil(R_i / C_i)) * latency + bytes_min / bandwidth``. ``bandwidth``
is measured once per run: one stream from the local file server at 0 ms (:func:`bandwidth`).

Results are plain dicts (one per benchmark, latency and case) collected by ``run.py`` and
written by :func:`write_results` as ``latest.json`` and the markdown table of ``RESULTS.md``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from xstac_access.readers._gdal import forget_datasets
from xstac_access.readers._zipfile import forget_archives
from xstac_access.testing.world import LocalWorld, default_cache_dir

MB = 1_000_000
HERE = Path(__file__).parent
RESULTS_DIR = HERE / "results"
#: Where generated benchmark data (COGs, zips, download files) is kept between runs.
DATA_DIR = default_cache_dir() / "bench-data"
#: Where the served copies of generated files appear under the file server's root.
SERVED_PREFIX = "/_bench"


# -- running variants -----------------------------------------------------------------------


@dataclass
class Context:
    """What a benchmark gets from ``run.py``: the running world and the mode of this run."""

    world: LocalWorld
    quick: bool
    rounds: int
    bandwidth: float  # bytes/s of one stream from the file server at 0 ms
    latency_ms: float = 0.0
    warm_up: bool = True
    #: What benchmarks set up for the whole run (served files, extra servers), undone at the end.
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    #: What one benchmark set up for all its latencies (a dask cluster), undone when that
    #: benchmark is done: ``run.py`` gives each benchmark a new one.
    own: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    #: Admin clients of the file servers started by :func:`file_server`.
    servers: list[Any] = field(default_factory=list)
    #: What benchmarks prepared and share (a server, an item), by name.
    state: dict[str, Any] = field(default_factory=dict)

    def set_latency(self, ms: float) -> None:
        """Delay every answer of the file servers (the world's, both ports, and ours) by ``ms``."""
        for admin in (self.world.files, *self.servers):
            admin.set_latency(ms)
        self.latency_ms = ms


@dataclass
class Run:
    """One timed run of a variant: wall seconds, what the server counted, and what it returned
    (a few numbers describing the result, to check that variants did the same job)."""

    seconds: float
    requests: int
    bytes: int
    info: dict[str, Any]


Counter = Callable[[], tuple[int, int]]


def file_counter(admin: Any, keep: Callable[[dict[str, Any]], bool]) -> Counter:
    """A function returning (requests, bytes) the file server logged for entries ``keep``
    accepts since the last reset (``admin`` is a :class:`FileServerAdmin`)."""

    def count() -> tuple[int, int]:
        log = [entry for entry in admin.stats()["log"] if keep(entry)]
        return len(log), sum(entry["bytes"] for entry in log)

    return count


def under(*prefixes: str) -> Callable[[dict[str, Any]], bool]:
    """A log filter: requests whose path starts with one of ``prefixes``."""
    return lambda entry: entry["path"].startswith(prefixes)


def cold() -> None:
    """Start the next run as a new process would: no open dataset, nothing in GDAL's caches,
    no zip directory remembered."""
    forget_datasets()
    forget_archives()


def alternate(
    ctx: Context,
    variants: Mapping[str, Callable[[], dict[str, Any] | None]],
    count: Counter,
    *,
    reset: Sequence[Any] = (),
    before: Callable[[], None] | None = None,
    after: Callable[[str], None] | None = None,
) -> dict[str, list[Run]]:
    """Run ``variants`` in turn for ``ctx.rounds`` rounds (after an untimed warm-up round
    unless ``ctx.warm_up`` is false); every run starts cold. ``count`` reads the server's
    counters; ``reset`` are the admin clients whose counters are cleared before each run;
    ``before()`` runs untimed just before each run (starting other processes cold, say),
    ``after(name)`` cleans up after each run (a download's files, say)."""
    runs: dict[str, list[Run]] = {name: [] for name in variants}
    rounds = ctx.rounds + (1 if ctx.warm_up else 0)
    for index in range(rounds):
        for name, variant in variants.items():
            cold()
            for admin in reset or (ctx.world.files,):
                admin.reset()
            if before is not None:
                before()
            began = time.perf_counter()
            info = variant() or {}
            seconds = time.perf_counter() - began
            requests_, bytes_ = count()
            if after is not None:
                after(name)
            if index or not ctx.warm_up:
                runs[name].append(Run(seconds, requests_, bytes_, info))
    return runs


def summary(runs: list[Run], label: str) -> dict[str, Any]:
    """Medians of a variant's runs (and every run's seconds, for the spread)."""
    return {
        "label": label,
        "median_s": round(statistics.median(r.seconds for r in runs), 4),
        "seconds": [round(r.seconds, 4) for r in runs],
        "requests": int(statistics.median(r.requests for r in runs)),
        "bytes": int(statistics.median(r.bytes for r in runs)),
        "info": runs[-1].info,
    }


def paired(a: list[Run], b: list[Run]) -> float | None:
    """The median over rounds of ``a``'s seconds over ``b``'s in the same round: the runs of a
    round are side by side in time, so the machine's drift (other work on shared cores) is
    mostly divided out, which a ratio of the two medians does not do."""
    ratios = [x.seconds / y.seconds for x, y in zip(a, b, strict=True) if y.seconds]
    return round(statistics.median(ratios), 3) if ratios else None


def same(summaries: Mapping[str, dict[str, Any]], key: str) -> bool:
    """Whether every variant's last run returned the same ``info[key]`` (the same values)."""
    return len({repr(v["info"].get(key)) for v in summaries.values()}) == 1


# -- the floor, ratios and targets ----------------------------------------------------------


def floor(
    stages: Sequence[tuple[int, int]], bytes_min: int, latency_ms: float, bandwidth: float
) -> dict[str, Any]:
    """PERFORMANCE.md's floor for requests in dependent ``stages`` of ``(R_min, C)``."""
    trips = sum(math.ceil(r / max(1, c)) for r, c in stages if r)
    return {
        "stages": [list(s) for s in stages],
        "requests_min": sum(r for r, _ in stages),
        "round_trips": trips,
        "bytes_min": int(bytes_min),
        "bandwidth_mb_s": round(bandwidth / MB, 1),
        "seconds": round(trips * latency_ms / 1000 + bytes_min / bandwidth, 4),
    }


def ratio(a: float, b: float) -> float | None:
    """``a / b`` rounded, or None when ``b`` is 0."""
    return round(a / b, 3) if b else None


def target(
    key: str,
    what: str,
    value: float | None,
    limit: float,
    *,
    at_most: bool = True,
    deterministic: bool = False,
) -> dict[str, Any]:
    """One target of PERFORMANCE.md checked: ``value <= limit`` (or ``>=``). ``deterministic``
    targets (bytes, requests) do not depend on timing: the tests assert them."""
    met = value is not None and (value <= limit if at_most else value >= limit)
    return {
        "key": key,
        "what": what,
        "value": value,
        "limit": limit,
        "at_most": at_most,
        "met": bool(met),
        "deterministic": deterministic,
    }


@dataclass(frozen=True)
class Spec:
    """What a benchmark module says of itself once: id, title, the causes found for targets it
    misses (keyed by target key) and notes for RESULTS.md; :meth:`record` fills them in."""

    id: str
    title: str
    causes: Mapping[str, str] = field(default_factory=dict)
    notes: Sequence[str] = ()

    def record(
        self, ctx: Context | None, variants: Mapping[str, dict[str, Any]], **kwargs: Any
    ) -> dict[str, Any]:
        """:func:`record` for this benchmark."""
        kwargs.setdefault("notes", list(self.notes))
        return record(self.id, self.title, ctx, variants, causes=self.causes, **kwargs)


def vs_seed(ctx: Context, seed_s: float, ours_s: float, times: float) -> list[dict]:
    """PERFORMANCE.md's "≥ ``times`` x faster than the seed" target, checked at 20 ms (the
    latency the targets are stated for); none at other latencies."""
    if ctx.latency_ms != 20:
        return []
    what = f"≥ {times:g} x faster than seed"
    return [target("vs_seed", what, ratio(seed_s, ours_s), times, at_most=False)]


def record(
    bench: str,
    title: str,
    ctx: Context | None,
    variants: Mapping[str, dict[str, Any]],
    *,
    case: str = "",
    floor_: dict[str, Any] | None = None,
    targets: Sequence[dict[str, Any]] = (),
    causes: Mapping[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One row of the results: ``variants`` summaries (ours: the names starting with
    ``ours``), ratios of each of ours to each baseline and to the floor, targets, and the known
    cause of each missed target."""
    ours = [n for n in variants if n.startswith("ours")]
    ratios = {
        f"{o}/{n}": ratio(variants[o]["median_s"], variants[n]["median_s"])
        for o in ours
        for n in variants
        if n not in ours
    }
    if floor_ is not None:
        for o in ours:
            ratios[f"{o}/floor"] = ratio(variants[o]["median_s"], floor_["seconds"])
    missed = {t["key"] for t in targets if not t["met"]}
    return {
        "id": bench,
        "title": title,
        "case": case,
        "latency_ms": None if ctx is None else ctx.latency_ms,
        "rounds": None if ctx is None else ctx.rounds,
        "variants": dict(variants),
        "ratios": ratios,
        "floor": floor_,
        "targets": list(targets),
        "causes": {k: v for k, v in (causes or {}).items() if k in missed},
        **extra,
    }


# -- data the benchmarks generate and serve ------------------------------------------------


def cached(name: str, build: Callable[[Path], None]) -> Path:
    """``DATA_DIR / name``, built once by ``build(tmp_path)`` and renamed into place."""
    path = DATA_DIR / name
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        build(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


@contextlib.contextmanager
def served(world: LocalWorld, files: Mapping[str, Path]) -> Iterator[dict[str, str]]:
    """Put ``files`` (URL path under the file server's root -> local file) where the file
    server serves them, as hard links (no copy; a copy where links cannot be made), and yield
    their URLs on the main host. They are removed on exit: the replica stays as generated."""
    root = world.replica.files_root
    placed: list[Path] = []
    try:
        urls = {}
        for url_path, source in files.items():
            target_path = root / url_path.lstrip("/")
            target_path.parent.mkdir(parents=True, exist_ok=True)
            target_path.unlink(missing_ok=True)
            try:
                os.link(source, target_path)
            except OSError:
                import shutil

                shutil.copyfile(source, target_path)
            placed.append(target_path)
            urls[url_path] = f"{world.endpoints.http}{url_path}"
        yield urls
    finally:
        for path in placed:
            path.unlink(missing_ok=True)


def random_file(path: Path, size: int, key: str) -> str:
    """Write ``size`` pseudo-random (incompressible, reproducible) bytes; return their sha256."""
    digest = hashlib.sha256()
    block = 8 << 20
    with open(path, "wb") as fh:
        for start in range(0, size, block):
            data = hashlib.shake_256(f"{key}:{start}".encode()).digest(min(block, size - start))
            fh.write(data)
            digest.update(data)
    return digest.hexdigest()


def bandwidth(world: LocalWorld, size: int = 256 * MB, repeats: int = 3) -> float:
    """Bytes/s of one GET stream from the file server at 0 ms latency (best of ``repeats``):
    the bandwidth of the floor. Both processes share the machine's cores, as in every run."""
    source = cached(f"bandwidth-{size}.bin", lambda p: random_file(p, size, "bandwidth"))
    world.files.set_latency(0)
    best = 0.0
    with served(world, {f"{SERVED_PREFIX}/bandwidth.bin": source}) as urls, requests.Session() as s:
        for _ in range(repeats):
            began = time.perf_counter()
            with s.get(urls[f"{SERVED_PREFIX}/bandwidth.bin"], stream=True, timeout=60) as r:
                got = sum(len(c) for c in r.iter_content(1 << 20))
            best = max(best, got / (time.perf_counter() - began))
    world.files.reset()
    return best


@contextlib.contextmanager
def faults(admin: Any, rules: list[dict[str, Any]]) -> Iterator[None]:
    """The file server's fault ``rules`` for a block (a throttle, a cut), cleared after it."""
    admin.set_faults(rules)
    try:
        yield
    finally:
        admin.clear_faults()


def file_server(ctx: Context, root: Path, name: str) -> tuple[str, Any]:
    """Start another file server of the local world's kind on ``root`` (stopped when the run
    ends) with the current latency; return its base URL and admin client. It serves what the
    world's S3 store holds over plain HTTP, with the counters and latency moto does not have."""
    import sys

    from xstac_access.testing._procs import LOOPBACK, free_port, start_process
    from xstac_access.testing.admin import FileServerAdmin

    port, alt = free_port(), free_port()
    argv = [
        sys.executable,
        "-m",
        "xstac_access.testing.fileserver",
        "--root",
        str(root),
        "--port",
        str(port),
        "--alt-port",
        str(alt),
        "--latency-ms",
        str(ctx.latency_ms),
    ]
    base = f"http://{LOOPBACK}:{port}"
    proc = start_process(name, argv, log_dir=ctx.world.log_dir, ready_url=f"{base}/__admin__/stats")
    ctx.stack.callback(proc.stop)
    admin = FileServerAdmin(base)
    ctx.servers.append(admin)
    return base, admin


def geotiff_blocks(
    path: Path, overview_level: int | None = None
) -> dict[tuple[int, int, int], tuple[int, int]]:
    """``(band, tile row, tile col) -> (offset, size)`` of every tile of a local GeoTIFF (of one
    of its overviews), from GDAL's ``TIFF`` metadata domain: what a window or an overview read
    must fetch at the least."""
    import rasterio

    kwargs = {} if overview_level is None else {"overview_level": overview_level}
    with rasterio.open(path, **kwargs) as src:
        by, bx = src.block_shapes[0]
        rows, cols = -(-src.height // by), -(-src.width // bx)
        return {
            (b, r, c): (
                int(src.get_tag_item(f"BLOCK_OFFSET_{c}_{r}", "TIFF", bidx=b)),
                int(src.get_tag_item(f"BLOCK_SIZE_{c}_{r}", "TIFF", bidx=b)),
            )
            for b in src.indexes
            for r in range(rows)
            for c in range(cols)
        }


def cog_header_bytes(path: Path) -> int:
    """Bytes before the first tile of a COG (of any level): its header, IFDs and tag arrays."""
    import rasterio

    with rasterio.open(path) as src:
        levels = [None, *range(len(src.overviews(1)))]
    return min(o for lv in levels for o, _ in geotiff_blocks(path, lv).values())


def runs_of(blocks: Sequence[tuple[int, int]], gap: int = 64) -> int:
    """How many runs of consecutive ``(offset, size)`` blocks there are: what one merged range
    read each can fetch (a COG puts 8 bytes of leader and trailer between its tiles)."""
    ordered = sorted(set(blocks))
    return sum(1 for i, (o, _) in enumerate(ordered) if i == 0 or o > sum(ordered[i - 1]) + gap)


class BearerToken:
    """An access token fetched the way the seed notebooks do (an OIDC POST), refetched when it
    is older than half its lifetime; the baselines put it into their own headers."""

    def __init__(self, world: LocalWorld, preset: str) -> None:
        self._preset = world.credentials()[preset]
        self._world, self._name = world, preset
        self._value, self._at = "", 0.0

    @property
    def value(self) -> str:
        if time.monotonic() - self._at > 120:
            p = self._preset
            if self._name == "cdse":
                data = {
                    "grant_type": "password",
                    "client_id": "cdse-public",
                    "username": p["username"],
                    "password": p["password"],
                }
            else:  # MAAP: an offline token is a refresh token (a fresh one: they rotate)
                data = {
                    "grant_type": "refresh_token",
                    "client_id": "offline-token",
                    "client_secret": p["client_secret"],
                    "refresh_token": self._world.oidc.offline_token("maap", "maap-user"),
                }
            response = requests.post(p["token_url"], data=data, timeout=30)
            response.raise_for_status()
            self._value, self._at = response.json()["access_token"], time.monotonic()
        return self._value


# -- CPU benchmarks ------------------------------------------------------------------------


def timed(func: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    """Wall seconds of one call and its result."""
    began = time.perf_counter()
    result = func(*args, **kwargs)
    return time.perf_counter() - began, result


def median_time(run: Callable[[], Any], repeats: int, warm_up: bool = True) -> tuple[float, Any]:
    """Median wall time of ``repeats`` calls (after one untimed call unless ``warm_up`` is
    false) and the last result."""
    if warm_up:
        run()
    times, result = [], None
    for _ in range(repeats):
        seconds, result = timed(run)
        times.append(seconds)
    return statistics.median(times), result


# -- writing the results -------------------------------------------------------------------


def machine() -> dict[str, Any]:
    import rasterio

    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "gdal": rasterio.__gdal_version__,
    }


def write_results(out_dir: Path, report: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``latest.json`` into ``out_dir`` and the markdown table next to it
    (``RESULTS.md`` in ``out_dir``'s parent for the committed results, else in ``out_dir``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "latest.json"
    json_path.write_text(json.dumps(report, indent=1, default=str) + "\n")
    md_dir = out_dir.parent if out_dir.resolve() == RESULTS_DIR.resolve() else out_dir
    md_path = md_dir / "RESULTS.md"
    md_path.write_text(markdown(report))
    return json_path, md_path


def _s(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _mb(n: int) -> str:
    return f"{n / MB:.3f}" if n < 10 * MB else f"{n / MB:.1f}"


def _value(t: dict[str, Any]) -> str:
    v = t["value"]
    return "–" if v is None else f"{v:.3g}"


def markdown(report: dict[str, Any]) -> str:
    """The results as markdown: one table row per benchmark, case and latency, then each
    target not met with its measured gap and the cause found."""
    lines = [
        "# Benchmark results",
        "",
        f"Written by `{report['command']}` on {report['date']} "
        f"({report['machine']['cpus']} CPUs, GDAL {report['machine']['gdal']}, "
        f"Python {report['machine']['python']}); mode **{report['mode']}**, "
        f"{report['rounds']} A B round(s) (medians)"
        f"{' after an untimed warm-up round' if report.get('warm_up') else ', no warm-up'}, "
        f"loopback bandwidth {report['bandwidth_mb_s']:.0f} MB/s (one stream, measured). "
        "Definitions and targets: `../shared/docs/PERFORMANCE.md`; how each benchmark is run: "
        "the docstring of its module. Seconds drift by 30 % on this shared machine: compare "
        "ratios. `ours/x` below 1 means ours is faster; the floor is what the format makes "
        "unavoidable at that latency.",
        "",
    ]
    lines += report.get("preamble", [])
    lines += [
        "| bench | latency | ours | baselines | ours / baseline | ours / floor | "
        "requests (ours; baselines) | MB (ours; baselines) | targets |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        ours = [n for n in r["variants"] if n.startswith("ours")]
        rest = [n for n in r["variants"] if n not in ours]
        v = r["variants"]
        lat = "–" if r["latency_ms"] is None else f"{r['latency_ms']:g} ms"
        mine = "<br>".join(f"{v[n]['label']}: {_s(v[n]['median_s'])}" for n in ours)
        base = "<br>".join(f"{v[n]['label']}: {_s(v[n]['median_s'])}" for n in rest)
        ratios = "<br>".join(f"{o}/{n}: {r['ratios'][f'{o}/{n}']}" for o in ours for n in rest)
        fl = "<br>".join(str(r["ratios"].get(f"{o}/floor", "–")) for o in ours)
        counted = r.get("counted", True)
        reqs = "; ".join(str(v[n]["requests"]) for n in (*ours, *rest)) if counted else "–"
        mbs = "; ".join(_mb(v[n]["bytes"]) for n in (*ours, *rest)) if counted else "–"
        tgs = "<br>".join(
            f"{'✅' if t['met'] else '❌'} {t['what']} ({_value(t)})" for t in r["targets"]
        )
        name = f"**{r['id']}** {r['case']}".strip()
        lines.append(
            f"| {name} | {lat} | {mine} | {base} | {ratios} | {fl if r['floor'] else '–'} | "
            f"{reqs} | {mbs} | {tgs or '–'} |"
        )
    for error in report.get("errors", []):
        lines.append(f"\n**{error['id']} failed**: {error['error']}")
    missed: dict[tuple[str, str, str], list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for r in report["results"]:
        for t in r["targets"]:
            if not t["met"]:
                missed.setdefault((r["id"], r["case"], t["key"]), []).append((r, t))
    lines += ["", "## Targets not met", ""]
    if not missed:
        lines.append("None: every target of PERFORMANCE.md is met.")
    for (bench, case, key), found in missed.items():
        r, t = found[0]
        at = ", ".join(
            _value(t) + ("" if r["latency_ms"] is None else f" at {r['latency_ms']:g} ms")
            for r, t in found
        )
        op = "≤" if t["at_most"] else "≥"
        cause = next((r["causes"][key] for r, _ in found if key in r["causes"]), None)
        lines.append(
            f"- **{bench}**{' ' + case if case else ''}: {t['what']} (target {op} "
            f"{t['limit']:g}): measured {at}. "
            f"{cause or 'Cause not analysed.'}"
        )
    lines += ["", *report.get("notes", [])]
    return "\n".join(lines).rstrip() + "\n"
