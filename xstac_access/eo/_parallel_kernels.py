"""The kernels of :mod:`._raster_kernels` on every core, for a whole grid at once.

Each function here splits the *target rows* into bands and gives every band to one thread, so no
two threads ever write the same cell, and every cell sees exactly the writes, in exactly the
order, that one thread would make: the result is bit-identical to the one-thread result,
whatever the number of threads (``numba.set_num_threads``).

* ``rasterise_triangles``: a first pass (parallel over swath rows) notes, per swath row and
  block of ``_QUADS`` quads, the target rows the block can touch; then each band walks the
  swath in order, skips the blocks that cannot reach it, and fills the rest clipped to its rows.
  A triangle straddling two bands is set up twice and filled half by each.
* ``finite_extent``: the extent of each swath row in parallel, then of those.
* ``gather_*``: every band gathers its own output rows (no writes are shared at all).
* ``bin_pixels`` / ``bin_mean`` (method "mean"): each band scans every source pixel and keeps
  those falling on its rows, so a cell's sum runs in source order as on one thread.

``nthreads`` is the number of threads to use (:func:`threads`: compiled code that asks numba
itself cannot be cached). Bands are dealt out round robin (thread ``w`` takes bands ``w``,
``w + n``, ...), which evens out a swath that covers only part of the grid. The dask path does
not come here: dask already runs one output tile per thread, with the one-thread kernels
(threads inside threads would oversubscribe the cores, and numba's workqueue threading layer
may not be entered from several threads at once).
"""

from __future__ import annotations

import math

import numpy as np
from numba import get_num_threads, njit, prange

from . import _raster_kernels as _rk

# Quads per block of a swath row whose reach in target rows is noted by the first pass.
_QUADS = 64
# Bands per thread: more even out uneven rows, fewer repeat less of the setup of straddling work.
_BANDS_PER_THREAD = 4


def threads() -> int:
    """The ``nthreads`` to pass: numba's thread count for the calling thread."""
    return int(get_num_threads())


@njit(cache=True, nogil=True)
def _band(b, nbands, n):
    """Rows ``lo`` ... ``hi`` (inclusive) of band ``b`` when ``n`` rows are cut into ``nbands``."""
    return b * n // nbands, (b + 1) * n // nbands - 1


@njit(cache=True, nogil=True)
def _reach(y, i, j0, j1, sv, ov, ny):
    """The target rows (floor, ceil of v) that quads ``j0`` ... ``j1 - 1`` of swath row ``i`` can
    touch, clamped to [-1, ny]; (0, -1) when none of their corners has a finite y."""
    lo, hi = np.inf, -np.inf
    for ii in range(i, i + 2):
        for jj in range(j0, j1 + 1):
            v = y[ii, jj] * sv + ov
            if math.isfinite(v):
                lo, hi = min(lo, v), max(hi, v)
    if lo > hi:
        return 0, -1
    return math.floor(max(lo, -1.0)), math.ceil(min(hi, float(ny)))


@njit(cache=True, nogil=True, parallel=True)
def rasterise_triangles(x, y, jbits, x0, y0, dx, dy, max_edge2, tri, wts, nthreads):
    """Fill ``tri`` (-1 outside the swath) and ``wts`` (float32, (ny, nx, 2)) from a swath.

    ``x``/``y`` are the swath's coordinates in the target CRS; ``x0``/``y0`` the grid's left and
    top edges, ``dx``/``dy`` its (positive) cell sizes; ``jbits`` and ``max_edge2`` as for
    :func:`._raster_kernels.rasterise_quads`. Quads are taken in swath order (row by row), so
    where a swath overlaps itself the triangle of the later quad wins, as on one thread.
    """
    nrows, ncols = x.shape
    ny = tri.shape[0]
    to_cells = (1.0 / dx, -1.0 / dy, -x0 / dx - 0.5, y0 / dy - 0.5)
    nblocks = (ncols - 2) // _QUADS + 1
    reach = np.empty((nrows - 1, nblocks, 2), dtype=np.int64)
    for i in prange(nrows - 1):
        for k in range(nblocks):
            j1 = min((k + 1) * _QUADS, ncols - 1)
            lo, hi = _reach(y, i, k * _QUADS, j1, to_cells[1], to_cells[3], ny)
            reach[i, k, 0], reach[i, k, 1] = lo, hi
    nbands = min(ny, _BANDS_PER_THREAD * nthreads)
    for w in prange(nthreads):
        for b in range(w, nbands, nthreads):
            lo, hi = _band(b, nbands, ny)
            tri[lo : hi + 1] = -1
            for i in range(nrows - 1):
                for k in range(nblocks):
                    if reach[i, k, 1] < lo or reach[i, k, 0] > hi:
                        continue
                    j0, j1 = k * _QUADS, min((k + 1) * _QUADS, ncols - 1)
                    _rk.rasterise_quads(
                        x, y, i, j0, j1, jbits, to_cells, max_edge2, tri, wts, lo, hi
                    )


@njit(cache=True, nogil=True, parallel=True)
def gather_linear(values, r0, c0, jbits, tri, wts, fill, out, nthreads):
    """:func:`._raster_kernels.gather_linear` on every core."""
    ny = tri.shape[0]
    nbands = min(ny, _BANDS_PER_THREAD * nthreads)
    for w in prange(nthreads):
        for b in range(w, nbands, nthreads):
            lo, hi = _band(b, nbands, ny)
            rows = slice(lo, hi + 1)
            _rk.gather_linear(values, r0, c0, jbits, tri[rows], wts[rows], fill, out[rows])


@njit(cache=True, nogil=True, parallel=True)
def gather_nearest(values, r0, c0, jbits, tri, wts, fill, out, nthreads):
    """:func:`._raster_kernels.gather_nearest` on every core."""
    ny = tri.shape[0]
    nbands = min(ny, _BANDS_PER_THREAD * nthreads)
    for w in prange(nthreads):
        for b in range(w, nbands, nthreads):
            lo, hi = _band(b, nbands, ny)
            rows = slice(lo, hi + 1)
            _rk.gather_nearest(values, r0, c0, jbits, tri[rows], wts[rows], fill, out[rows])


@njit(cache=True, nogil=True, parallel=True)
def gather_flat(values, r0, c0, ncols, src, fill, out, nthreads):
    """:func:`._raster_kernels.gather_flat` on every core."""
    ny = src.shape[0]
    nbands = min(ny, _BANDS_PER_THREAD * nthreads)
    for w in prange(nthreads):
        for b in range(w, nbands, nthreads):
            lo, hi = _band(b, nbands, ny)
            rows = slice(lo, hi + 1)
            _rk.gather_flat(values, r0, c0, ncols, src[rows], fill, out[rows])


@njit(cache=True, nogil=True, parallel=True)
def bin_pixels(x, y, x0, y0, dx, dy, cell, nearest, nthreads):
    """:func:`._raster_kernels.bin_pixels` for the whole grid, one band of rows per thread
    (``cell`` and ``nearest`` pre-set to -1)."""
    ny = nearest.shape[0]
    nthreads = min(ny, nthreads)
    for b in prange(nthreads):
        lo, hi = _band(b, nthreads, ny)
        _rk.bin_pixels(x, y, x0, y0, dx, dy, cell, nearest, lo, hi)


@njit(cache=True, nogil=True, parallel=True)
def bin_mean(values, cell, nx, fill, out, nthreads):
    """:func:`._raster_kernels.bin_mean` for the whole grid ``out``, one band of rows per thread."""
    ny = out.shape[0]
    nthreads = min(ny, nthreads)
    for b in prange(nthreads):
        lo, hi = _band(b, nthreads, ny)
        _rk.bin_mean(values, cell, nx, lo, 0, fill, out[lo : hi + 1])


@njit(cache=True, nogil=True, parallel=True)
def finite_extent(x, y):
    """(xmin, xmax, ymin, ymax) over the points where both ``x`` and ``y`` are finite."""
    rows = np.empty((x.shape[0], 4))
    for i in prange(x.shape[0]):
        xmin, xmax, ymin, ymax = np.inf, -np.inf, np.inf, -np.inf
        for j in range(x.shape[1]):
            xv, yv = x[i, j], y[i, j]
            if math.isfinite(xv) and math.isfinite(yv):
                xmin, xmax = min(xmin, xv), max(xmax, xv)
                ymin, ymax = min(ymin, yv), max(ymax, yv)
        rows[i, 0], rows[i, 1], rows[i, 2], rows[i, 3] = xmin, xmax, ymin, ymax
    return rows[:, 0].min(), rows[:, 1].max(), rows[:, 2].min(), rows[:, 3].max()
