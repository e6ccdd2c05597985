"""B5: grid a curved swath onto a regular grid, against scipy griddata (seed 002's way).

Two cases, both gridded to EPSG:4326 at "matching density" (cell size = the swath's mean pixel
spacing, so the swath covers about as many cells as it has pixels):

* a 2000 x 2000 curved analytic swath: ``xstac_access.eo.grid`` (median of several runs) and
  ``scipy.interpolate.griddata(method="linear")`` on the same target cell centres (run once: it
  takes minutes). Accuracy is RMSE against the analytic field at the cell centres, on the cells
  both fill; "extra cells" are cells filled whose centre lies outside the swath outline.
* an OLCI-size swath (4091 x 4865) with one float band and one flag band: wall time and peak
  resident-memory growth (sampled from /proc/self/statm in a background thread), plus the cost
  of each further band gridded through the same lookup table.

Compile time is measured in a child process with an empty numba cache; the warm-up call of this
process (numba's on-disk cache loading) is reported separately. Absolute seconds drift on shared
machines: ratios are what to compare. Run through ``benchmarks/run.py`` (``--only B5``), or
``.venv/bin/python -m benchmarks.b5_grid [--quick] [--out DIR]``, which does the same.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading

import numpy as np
import shapely
import xarray as xr
from scipy.interpolate import griddata

from benchmarks import _harness as h
from benchmarks._harness import timed
from xstac_access.eo.grid import build_lookup, grid

ID = "B5"
TITLE = "grid a curved swath"
CAUSES: dict[str, str] = {}
NOTES = [
    "pyresample, PERFORMANCE.md's second baseline, is not installed in this environment: "
    "only scipy griddata is compared.",
]
OLCI_SHAPE = (4091, 4865)


SPEC = h.Spec(ID, TITLE, CAUSES, NOTES)


def curved_swath(nrows: int, ncols: int) -> tuple[np.ndarray, np.ndarray]:
    """A bent swath (about 15 deg x 10 deg) whose pixels grow towards its edges, like a scanner."""
    t = np.linspace(0.0, 1.0, nrows)[:, None]
    s = np.linspace(-1.0, 1.0, ncols)[None, :]
    s = s + 0.15 * s**3
    lat = 40.0 + 15.0 * t + 1.5 * s + 0.8 * s**2
    lon = 10.0 + 2.0 * np.sin(np.pi * t) + 5.0 * s / np.cos(np.radians(lat))
    return lat, lon


def truth(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """A smooth field with a few dozen waves across the swath."""
    return np.sin(np.radians(lat) * 60.0) * np.cos(np.radians(lon) * 45.0)


def outline(lat: np.ndarray, lon: np.ndarray) -> shapely.Polygon:
    """The swath's boundary (its outer rows and columns) as a polygon in lon/lat."""
    ring = np.concatenate(
        [
            np.stack([lon[0, :], lat[0, :]], axis=1),
            np.stack([lon[1:, -1], lat[1:, -1]], axis=1),
            np.stack([lon[-1, -2::-1], lat[-1, -2::-1]], axis=1),
            np.stack([lon[-2:0:-1, 0], lat[-2:0:-1, 0]], axis=1),
        ]
    )
    return shapely.Polygon(ring)


def matching_resolution(lat: np.ndarray, lon: np.ndarray) -> float:
    """The cell size at which the swath covers about as many cells as it has pixels."""
    return float(np.sqrt(outline(lat, lon).area / lat.size))


def swath_dataset(lat: np.ndarray, lon: np.ndarray, dtype: str = "float64") -> xr.Dataset:
    return xr.Dataset(
        {
            "field": (("rows", "columns"), truth(lat, lon).astype(dtype)),
            "quality_flags": (
                ("rows", "columns"),
                (lat * 2 % 3).astype("uint8"),
                {"flag_values": [0, 1, 2], "flag_meanings": "land water cloud"},
            ),
        },
        coords={"latitude": (("rows", "columns"), lat), "longitude": (("rows", "columns"), lon)},
    )


class PeakRSS:
    """Peak resident-memory growth over a block, sampled every 2 ms from /proc/self/statm."""

    def __init__(self) -> None:
        self._page = os.sysconf("SC_PAGE_SIZE")
        self._stop = threading.Event()
        self.peak_bytes = 0

    def _rss(self) -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self._page

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            self.peak_bytes = max(self.peak_bytes, self._rss() - self._base)

    def __enter__(self) -> PeakRSS:
        self._base = self._rss()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, self._rss() - self._base)


def compile_seconds() -> float:
    """First grid call (linear + flags) in a fresh process whose numba cache is empty."""
    code = (
        "import time, numpy as np, xarray as xr\n"
        "from xstac_access.eo.grid import grid\n"
        "lat, lon = np.meshgrid(np.linspace(0, 1, 20), np.linspace(0, 1, 30), indexing='ij')\n"
        "ds = xr.Dataset({'v': (('r', 'c'), lat), 'f': (('r', 'c'), (lat > .5).astype('u1'))},\n"
        "                coords={'lat': (('r', 'c'), lat), 'lon': (('r', 'c'), lon)})\n"
        "t = time.perf_counter(); grid(ds, resolution=0.05); print(time.perf_counter() - t)\n"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
    return float(out.stdout.split()[-1])


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


def against_griddata(size: int, repeat: int) -> dict:
    lat, lon = curved_swath(size, size)
    ds = swath_dataset(lat, lon)
    res = matching_resolution(lat, lon)
    fld = ds[["field"]]
    ours_times = []
    for _ in range(repeat):
        seconds, out = timed(grid, fld, resolution=res)
        ours_times.append(seconds)
    xs, ys = np.meshgrid(out.x.values, out.y.values)
    ref = truth(ys, xs)
    ours = out["field"].values
    gd_seconds, gd = timed(
        griddata,
        np.column_stack([lon.ravel(), lat.ravel()]),
        ds["field"].values.ravel(),
        (xs, ys),
        method="linear",
    )
    inside = shapely.contains_xy(outline(lat, lon), xs, ys)
    ours_filled, gd_filled = np.isfinite(ours), np.isfinite(gd)
    both, extra = ours_filled & gd_filled, gd_filled & ~ours_filled
    median = statistics.median(ours_times)
    return {
        "swath": [size, size],
        "grid": list(ours.shape),
        "resolution_deg": res,
        "xstac_seconds": ours_times,
        "xstac_median_s": median,
        "griddata_s": gd_seconds,
        "speedup": gd_seconds / median,
        "rmse_xstac": rmse(ours[both], ref[both]),
        "rmse_griddata": rmse(gd[both], ref[both]),
        "rmse_griddata_extra_cells": rmse(gd[extra], ref[extra]),
        "cells_filled_xstac": int(ours_filled.sum()),
        "cells_filled_griddata": int(gd_filled.sum()),
        "cells_outside_swath_xstac": int((ours_filled & ~inside).sum()),
        "cells_outside_swath_griddata": int((gd_filled & ~inside).sum()),
        "cells_inside_swath_unfilled_xstac": int((~ours_filled & inside).sum()),
    }


def olci_size(shape: tuple[int, int], repeat: int) -> dict:
    lat, lon = curved_swath(*shape)
    ds = swath_dataset(lat, lon, dtype="float32")
    res = matching_resolution(lat, lon)
    runs = []
    for _ in range(repeat):
        with PeakRSS() as mem:
            seconds, out = timed(grid, ds, resolution=res)
        runs.append((seconds, mem.peak_bytes))
        del out
    table_s, table = timed(build_lookup, lat, lon, res)
    band = ds[["field"]]
    band_s = statistics.median(timed(grid, band, lookup=table)[0] for _ in range(repeat))
    return {
        "swath": list(shape),
        "grid": list(table.shape),
        "variables": ["field (float32, linear)", "quality_flags (uint8 flags, nearest)"],
        "seconds": [r[0] for r in runs],
        "median_s": statistics.median(r[0] for r in runs),
        "peak_extra_rss_gb": [r[1] / 1e9 for r in runs],
        "max_peak_extra_rss_gb": max(r[1] for r in runs) / 1e9,
        "lookup_only_s": table_s,
        "per_extra_float_band_s": band_s,
    }


def cpu(quick: bool, repeat: int = 5) -> list[dict]:
    """B5's rows of the results: the 2000² swath against griddata, and the OLCI-size swath."""
    size, shape = (400, (800, 950)) if quick else (2000, OLCI_SHAPE)
    repeat = 1 if quick else repeat
    cold = compile_seconds()
    lat, lon = curved_swath(50, 40)
    warm, _ = timed(grid, swath_dataset(lat, lon), resolution=0.5)
    g = against_griddata(size, repeat)
    o = olci_size(shape, max(1, repeat // 2))
    vs = {
        "ours": {
            "label": "xstac-access .eo.grid",
            "median_s": g["xstac_median_s"],
            "seconds": g["xstac_seconds"],
        },
        "griddata": {
            "label": "scipy griddata linear (1 run)",
            "median_s": g["griddata_s"],
            "seconds": [g["griddata_s"]],
        },
    }
    targets = [
        h.target(
            "speedup",
            "≥ 100 x faster than griddata linear",
            round(g["speedup"], 1),
            100,
            at_most=False,
        ),
        h.target(
            "rmse", "RMSE ≤ griddata's (ratio)", h.ratio(g["rmse_xstac"], g["rmse_griddata"]), 1.0
        ),
        h.target(
            "outside",
            "no cell filled outside the swath",
            g["cells_outside_swath_xstac"],
            0,
            deterministic=True,
        ),
    ]
    olci = {
        "ours": {
            "label": "xstac-access .eo.grid, 2 variables",
            "median_s": o["median_s"],
            "seconds": o["seconds"],
        }
    }
    olci_targets = [
        h.target("olci_time", "OLCI size < 5 s", round(o["median_s"], 2), 5.0),
        h.target(
            "olci_memory",
            "OLCI size < 1.5 GB extra memory (GB)",
            round(o["max_peak_extra_rss_gb"], 2),
            1.5,
        ),
    ]
    common = {"compile_s": cold, "warmup_cache_load_s": warm, "counted": False}
    return [
        SPEC.record(None, vs, case=f"{size}² swath", targets=targets, details=g, **common),
        SPEC.record(
            None,
            olci,
            case=f"OLCI {shape[0]} x {shape[1]}",
            targets=olci_targets,
            details=o,
            **common,
        ),
    ]


if __name__ == "__main__":
    from benchmarks.run import main

    main(["--only", ID, *sys.argv[1:]])
