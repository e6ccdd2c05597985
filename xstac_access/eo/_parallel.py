"""The one-thread kernels of :mod:`._raster_kernels` on every core, for a whole grid at once.

The *target rows* are cut into bands dealt out to Python threads (the calling one and helpers
kept for the process; the kernels release the GIL), so no two threads ever write the same
cell, and every cell sees exactly the writes, in exactly the order, that one thread would make:
the result is bit-identical to the one-thread result, whatever the number of threads.

* ``rasterise_triangles``: a first pass (over blocks of swath rows) notes, per swath row and
  block of quads, the target rows the block can touch; then each band walks the swath in order,
  skips the blocks that cannot reach it, and fills the rest clipped to its rows. A triangle
  straddling two bands is set up twice and filled half by each.
* ``finite_extent``: the extent of blocks of swath rows, then of those.
* ``gather_*``: every band gathers its own output rows (no writes are shared at all).
* ``bin_pixels`` / ``bin_mean`` (method "mean"): each band scans every source pixel and keeps
  those falling on its rows, so a cell's sum runs in source order as on one thread.

Threads rather than numba's ``parallel=True``: the same kernels serve dask's tiles and these
bands, nothing compiles twice, and a fresh environment's first call compiles in about the time
the one-thread version took (``parallel`` functions compiled 5x slower). The number of threads
is numba's for the calling thread (``NUMBA_NUM_THREADS``, ``numba.set_num_threads``); grids too
small to pay for threads run on the calling thread, in one band. A dask tile is gathered here
on one thread: dask already runs one output tile per thread.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from numba import config as numba_config
from numba import get_num_threads

from . import _raster_kernels as _rk

# Bands per thread: more even out uneven rows, fewer repeat less of the setup of straddling work.
_BANDS_PER_THREAD = 4
# Below this many cells (target or source) a grid runs on the calling thread.
_MIN_CELLS = 1 << 18


def threads(cells: int) -> int:
    """Threads worth using for work over ``cells`` cells (1 below ``_MIN_CELLS``)."""
    return 1 if cells < _MIN_CELLS else int(get_num_threads())


def _bands(n: int, nbands: int) -> list[tuple[int, int]]:
    """``n`` rows cut into ``nbands`` (at most ``n``) runs ``(lo, hi)``, ``hi`` inclusive."""
    nbands = max(1, min(n, nbands))
    return [(b * n // nbands, (b + 1) * n // nbands - 1) for b in range(nbands)]


def _run(task: Callable[[int, int], object], n: int, nthreads: int, per_thread: int = 1) -> list:
    """``task(lo, hi)`` for every band of ``n`` rows, on ``nthreads`` threads (the calling one
    and helpers of a pool kept for the process); the results in band order. Thread ``w`` takes
    bands ``w``, ``w + nthreads``, ... (dealt round robin, which evens out a swath covering only
    part of the grid)."""
    bands = _bands(n, nthreads * per_thread if nthreads > 1 else 1)  # one thread: one band
    nthreads = min(nthreads, len(bands))
    results: list[object] = [None] * len(bands)

    def work(w: int) -> None:
        for b in range(w, len(bands), nthreads):
            results[b] = task(*bands[b])

    helpers = [_pool().submit(work, w) for w in range(1, nthreads)]
    try:
        work(0)
    finally:
        for helper in helpers:
            helper.result()
    return results


@functools.cache
def _pool() -> ThreadPoolExecutor:
    """The helper threads (made once, as many as numba may use; a grid asks for its number)."""
    return ThreadPoolExecutor(
        max(1, int(getattr(numba_config, "NUMBA_NUM_THREADS", 2)) - 1),
        thread_name_prefix="xstac-grid",
    )


def finite_extent(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """(xmin, xmax, ymin, ymax) over the points where both ``x`` and ``y`` are finite."""
    parts = _run(
        lambda lo, hi: _rk.finite_extent(x[lo : hi + 1], y[lo : hi + 1]),
        x.shape[0],
        threads(x.size),
    )
    return (
        min(p[0] for p in parts),
        max(p[1] for p in parts),
        min(p[2] for p in parts),
        max(p[3] for p in parts),
    )


def rasterise_triangles(
    x: np.ndarray,
    y: np.ndarray,
    jbits: int,
    x0: float,
    y0: float,
    dx: float,
    dy: float,
    max_edge2: float,
    tri: np.ndarray,
    wts: np.ndarray,
) -> None:
    """Fill ``tri`` (-1 outside the swath) and ``wts`` (float32, (ny, nx, 2)) from a swath.

    ``x``/``y`` are the swath's coordinates in the target CRS; ``x0``/``y0`` the grid's left and
    top edges, ``dx``/``dy`` its (positive) cell sizes; ``jbits`` and ``max_edge2`` as for
    :func:`._raster_kernels.rasterise_quads`.
    """
    nrows, ncols = x.shape
    ny = tri.shape[0]
    to_cells = (1.0 / dx, -1.0 / dy, -x0 / dx - 0.5, y0 / dy - 0.5)
    reach = np.empty((nrows - 1, (ncols - 2) // _rk.QUADS + 1, 2), dtype=np.int64)
    n = threads(max(x.size, tri.size))
    _run(
        lambda lo, hi: _rk.quad_reach(y, to_cells[1], to_cells[3], ny, reach, lo, hi + 1),
        nrows - 1,
        n,
    )
    _run(
        lambda lo, hi: _rk.rasterise_band(
            x, y, jbits, to_cells, max_edge2, reach, tri, wts, lo, hi
        ),
        ny,
        n,
        _BANDS_PER_THREAD,
    )


def gather(
    mode: str,
    values: np.ndarray,
    parts: dict[str, Any],
    window: tuple[int, int, int, int],
    origin: tuple[int, int],
    layout: tuple[int, int, int],
    fill: Any,
    out: np.ndarray,
    nthreads: int,
) -> None:
    """One variable of one output tile (at ``origin`` in the grid) into ``out``, from a source
    ``window`` of it in ``values``, on ``nthreads`` threads (1: the calling thread).

    ``mode`` names the gather of the method, ``parts`` are the lookup table's arrays for the tile
    and ``layout`` its (jbits, source columns, grid columns), as in :func:`.grid._gather`.
    """
    r0, c0 = window[0], window[2]
    jbits, ncols, nx = layout

    tri: Any = parts.get("triangle")
    wts: Any = parts.get("weights")

    def band(lo: int, hi: int) -> None:
        rows = slice(lo, hi + 1)
        if mode == "linear":
            _rk.gather_linear(values, r0, c0, jbits, tri[rows], wts[rows], fill, out[rows])
        elif mode == "nearest":
            _rk.gather_nearest(values, r0, c0, jbits, tri[rows], wts[rows], fill, out[rows])
        elif mode == "mean":
            _rk.bin_mean(values, parts["cell"], nx, origin[0] + lo, origin[1], fill, out[rows])
        else:
            _rk.gather_flat(values, r0, c0, ncols, parts["nearest"][rows], fill, out[rows])

    per_thread = 1 if mode == "mean" else _BANDS_PER_THREAD  # mean: each band scans every pixel
    _run(band, out.shape[0], nthreads, per_thread)


def bin_pixels(
    x: np.ndarray,
    y: np.ndarray,
    x0: float,
    y0: float,
    dx: float,
    dy: float,
    cell: np.ndarray,
    nearest: np.ndarray,
) -> None:
    """:func:`._raster_kernels.bin_pixels` for the whole grid, one band of rows per thread
    (``cell`` and ``nearest`` pre-set to -1)."""
    _run(
        lambda lo, hi: _rk.bin_pixels(x, y, x0, y0, dx, dy, cell, nearest, lo, hi),
        nearest.shape[0],
        threads(max(x.size, nearest.size)),
    )
