"""Compiled kernels behind :mod:`xstac_access.eo.grid`: rasterise a swath, then gather values.

Geometry and values are separated so that one geometry pass serves every variable:

* ``rasterise_triangles`` walks the swath once. Each quad of neighbouring pixels
  (i, j), (i, j+1), (i+1, j+1), (i+1, j) is split along its shorter diagonal (or along the one
  that keeps a triangle alive when a corner has no geolocation) into two triangles, and every
  target cell centre inside a triangle records that triangle's id and two barycentric weights.
  A triangle id packs the quad and which of the four possible triangles it is:
  ``id = (i << (jbits + 2)) | (j << 2) | code``, where ``jbits`` is the number of bits a column
  index needs (shifts, not divisions, decode it: the gather runs once per cell and variable);
  ``_CORNERS[code]`` lists the vertices as (row, col) offsets from (i, j). ``-1`` marks a cell
  outside the swath. Where a swath overlaps itself, the triangle rasterised last wins.
* ``bin_pixels`` is the geometry of the "mean" method: the target cell of each source pixel
  centre, and per cell the source pixel whose centre lies nearest the cell centre.
* ``gather_*`` and ``bin_mean`` apply a geometry to one variable, on a window of the swath
  (``r0``/``c0`` are the window's origin) so that dask can feed each output tile only the
  source rows and columns it needs.
* ``*_windows`` compute, per output tile, that source window.

Everything is compiled once per dtype with numba (``cache=True`` keeps it across processes) and
releases the GIL, so Python threads run them side by side: dask's threads gather output tiles,
and :mod:`._parallel` gives each thread its own band of target rows of a whole grid
(``row_lo``/``row_hi`` here, or a slice of the output). No kernel is numba-``parallel``: those
compile several times slower, which a fresh environment would pay on its first call.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# Vertices of the four triangles a quad can be split into, as (row, col) offsets. Codes 0 and 1
# split along the (0,0)-(1,1) diagonal, codes 2 and 3 along (0,1)-(1,0).
_CORNERS = np.array(
    [
        [[0, 0], [0, 1], [1, 1]],
        [[0, 0], [1, 1], [1, 0]],
        [[0, 0], [0, 1], [1, 0]],
        [[0, 1], [1, 1], [1, 0]],
    ],
    dtype=np.int64,
)

# A cell centre this far outside a triangle (in barycentric units) still counts as inside it,
# so rounding never opens a crack along an edge shared by two triangles.
_EPS = 1e-9
# Weights are stored as float32: anything below this is a zero that rounding made positive.
_MIN_WEIGHT = 1e-6


@njit(cache=True, nogil=True)
def _fill_triangle(ua, va, ub, vb, uc, vc, tid, tri, wts, row_lo, row_hi):
    """Record ``tid`` and the weights of vertices b and c in every cell centre inside (a, b, c)
    on target rows ``row_lo`` ... ``row_hi`` (a band: each thread fills only its own rows).

    Coordinates are in cell-index space: the centre of cell (r, c) is at (u, v) = (c, r).
    """
    nx = tri.shape[1]
    c_lo = max(0, math.ceil(min(ua, ub, uc)))
    c_hi = min(nx - 1, math.floor(max(ua, ub, uc)))
    if c_lo > c_hi:
        return
    r_lo = max(row_lo, math.ceil(min(va, vb, vc)))
    r_hi = min(row_hi, math.floor(max(va, vb, vc)))
    if r_lo > r_hi:
        return
    det = (vb - vc) * (ua - uc) + (uc - ub) * (va - vc)
    if det == 0.0:
        return
    inv = 1.0 / det
    for r in range(r_lo, r_hi + 1):
        for c in range(c_lo, c_hi + 1):
            wa = ((vb - vc) * (c - uc) + (uc - ub) * (r - vc)) * inv
            wb = ((vc - va) * (c - uc) + (ua - uc) * (r - vc)) * inv
            wc = 1.0 - wa - wb
            if wa < -_EPS or wb < -_EPS or wc < -_EPS:
                continue
            tri[r, c] = tid
            wts[r, c, 0] = max(wb, 0.0)
            wts[r, c, 1] = max(wc, 0.0)


@njit(cache=True, nogil=True)
def _edges_ok(x, y, i, j, code, max_edge2):
    """All three edges of triangle ``code`` of quad (i, j) within ``max_edge2`` (squared, CRS
    units), or no limit (``max_edge2 <= 0``)."""
    if max_edge2 <= 0.0:
        return True
    for k in range(3):
        ia, ja = i + _CORNERS[code, k, 0], j + _CORNERS[code, k, 1]
        ib, jb = i + _CORNERS[code, (k + 1) % 3, 0], j + _CORNERS[code, (k + 1) % 3, 1]
        if (x[ia, ja] - x[ib, jb]) ** 2 + (y[ia, ja] - y[ib, jb]) ** 2 > max_edge2:
            return False
    return True


@njit(cache=True, nogil=True)
def rasterise_quads(x, y, i, j0, j1, jbits, to_cells, max_edge2, tri, wts, row_lo, row_hi):
    """Rasterise the triangles of quads (i, j0) ... (i, j1 - 1) of a swath onto target rows
    ``row_lo`` ... ``row_hi``, in that order.

    ``x``/``y`` are the swath's coordinates in the target CRS and ``to_cells`` = (su, sv, ou, ov)
    maps them to cell-index space (u = x * su + ou, v = y * sv + ov); ``jbits`` is the bits a
    column index takes in a triangle id. Each quad is split along its shorter diagonal, or along
    the one that keeps a triangle when a corner is not finite. Triangles with a non-finite
    vertex, zero area, or (when ``max_edge2 > 0``) a squared edge longer than ``max_edge2`` are
    skipped. ``tri`` (pre-set to -1) and ``wts`` (float32, (ny, nx, 2)) receive the result.
    A run of quads rather than one per call: the loop then compiles as tightly as a whole pass.
    """
    su, sv, ou, ov = to_cells
    for j in range(j0, j1):
        x00, y00, x01, y01 = x[i, j], y[i, j], x[i, j + 1], y[i, j + 1]
        x10, y10, x11, y11 = x[i + 1, j], y[i + 1, j], x[i + 1, j + 1], y[i + 1, j + 1]
        ok00 = math.isfinite(x00) and math.isfinite(y00)
        ok01 = math.isfinite(x01) and math.isfinite(y01)
        ok10 = math.isfinite(x10) and math.isfinite(y10)
        ok11 = math.isfinite(x11) and math.isfinite(y11)
        d_main = (x00 - x11) ** 2 + (y00 - y11) ** 2 if ok00 and ok11 else np.inf
        d_anti = (x01 - x10) ** 2 + (y01 - y10) ** 2 if ok01 and ok10 else np.inf
        if d_main == np.inf and d_anti == np.inf:
            continue
        u00, v00, u01, v01 = x00 * su + ou, y00 * sv + ov, x01 * su + ou, y01 * sv + ov
        u10, v10, u11, v11 = x10 * su + ou, y10 * sv + ov, x11 * su + ou, y11 * sv + ov
        base = ((i << jbits) | j) << 2
        if d_main <= d_anti:
            if ok01 and _edges_ok(x, y, i, j, 0, max_edge2):
                _fill_triangle(u00, v00, u01, v01, u11, v11, base, tri, wts, row_lo, row_hi)
            if ok10 and _edges_ok(x, y, i, j, 1, max_edge2):
                _fill_triangle(u00, v00, u11, v11, u10, v10, base | 1, tri, wts, row_lo, row_hi)
        else:
            if ok00 and _edges_ok(x, y, i, j, 2, max_edge2):
                _fill_triangle(u00, v00, u01, v01, u10, v10, base | 2, tri, wts, row_lo, row_hi)
            if ok11 and _edges_ok(x, y, i, j, 3, max_edge2):
                _fill_triangle(u01, v01, u11, v11, u10, v10, base | 3, tri, wts, row_lo, row_hi)


# Quads per block of a swath row whose reach in target rows :func:`quad_reach` notes.
QUADS = 64


@njit(cache=True, nogil=True)
def quad_reach(y, sv, ov, ny, reach, i0, i1):
    """For swath rows ``i0`` ... ``i1 - 1`` and each block of ``QUADS`` quads, the target rows
    (floor, ceil of v = y * sv + ov) the block can touch, clamped to [-1, ny], into
    ``reach[i, block]``; (0, -1) when none of its corners has a finite y. Lets a band of target
    rows skip the blocks that cannot reach it."""
    ncols = y.shape[1]
    for i in range(i0, i1):
        for k in range(reach.shape[1]):
            lo, hi = np.inf, -np.inf
            for ii in range(i, i + 2):
                for jj in range(k * QUADS, min((k + 1) * QUADS, ncols - 1) + 1):
                    v = y[ii, jj] * sv + ov
                    if math.isfinite(v):
                        lo, hi = min(lo, v), max(hi, v)
            if lo > hi:
                reach[i, k, 0], reach[i, k, 1] = 0, -1
            else:
                reach[i, k, 0] = math.floor(max(lo, -1.0))
                reach[i, k, 1] = math.ceil(min(hi, float(ny)))


@njit(cache=True, nogil=True)
def rasterise_band(x, y, jbits, to_cells, max_edge2, reach, tri, wts, row_lo, row_hi):
    """Fill target rows ``row_lo`` ... ``row_hi`` of ``tri`` (-1 outside the swath) and ``wts``
    from every quad of the swath, in swath order, skipping the blocks ``reach`` (from
    :func:`quad_reach`) says cannot touch these rows. Where a swath overlaps itself the later
    quad's triangle wins, whatever the band: bands give the whole-grid result, bit for bit."""
    ncols = x.shape[1]
    tri[row_lo : row_hi + 1] = -1
    for i in range(x.shape[0] - 1):
        for k in range(reach.shape[1]):
            if reach[i, k, 1] < row_lo or reach[i, k, 0] > row_hi:
                continue
            j1 = min((k + 1) * QUADS, ncols - 1)
            rasterise_quads(
                x, y, i, k * QUADS, j1, jbits, to_cells, max_edge2, tri, wts, row_lo, row_hi
            )


@njit(cache=True, nogil=True)
def finite_extent(x, y):
    """(xmin, xmax, ymin, ymax) over the points where both ``x`` and ``y`` are finite."""
    xmin, xmax, ymin, ymax = np.inf, -np.inf, np.inf, -np.inf
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            xv, yv = x[i, j], y[i, j]
            if math.isfinite(xv) and math.isfinite(yv):
                xmin, xmax = min(xmin, xv), max(xmax, xv)
                ymin, ymax = min(ymin, yv), max(ymax, yv)
    return xmin, xmax, ymin, ymax


@njit(cache=True, nogil=True)
def _vertex(t, k, jbits):
    """(row, col) in the swath of vertex ``k`` of triangle ``t``."""
    code = t & 3
    q = t >> 2
    return (q >> jbits) + _CORNERS[code, k, 0], (q & ((1 << jbits) - 1)) + _CORNERS[code, k, 1]


@njit(cache=True, nogil=True)
def gather_linear(values, r0, c0, jbits, tri, wts, fill, out):
    """Barycentric interpolation of ``values`` (a swath window at ``r0``, ``c0``) into ``out``.

    Vertices without weight (below ``_MIN_WEIGHT``: float32 rounding of an exact zero) are
    skipped, so a NaN there does not reach the cell; a NaN at any vertex with weight gives NaN.
    Cells outside the swath get ``fill``.
    """
    ny, nx = tri.shape
    for r in range(ny):
        for c in range(nx):
            t = tri[r, c]
            if t < 0:
                out[r, c] = fill
                continue
            wb = np.float64(wts[r, c, 0])
            wc = np.float64(wts[r, c, 1])
            ws = (1.0 - wb - wc, wb, wc)
            acc = 0.0
            total = 0.0
            for k in range(3):
                if ws[k] > _MIN_WEIGHT:
                    vi, vj = _vertex(t, k, jbits)
                    acc += ws[k] * values[vi - r0, vj - c0]
                    total += ws[k]
            out[r, c] = acc / total


@njit(cache=True, nogil=True)
def gather_nearest(values, r0, c0, jbits, tri, wts, fill, out):
    """The value of the triangle vertex with the largest weight (no arithmetic on values)."""
    ny, nx = tri.shape
    for r in range(ny):
        for c in range(nx):
            t = tri[r, c]
            if t < 0:
                out[r, c] = fill
                continue
            wb = wts[r, c, 0]
            wc = wts[r, c, 1]
            wa = 1.0 - wb - wc
            k = 0
            if wb > wa and wb >= wc:
                k = 1
            elif wc > wa and wc > wb:
                k = 2
            vi, vj = _vertex(t, k, jbits)
            out[r, c] = values[vi - r0, vj - c0]


@njit(cache=True, nogil=True)
def triangle_windows(tri, jbits, tile_h, tile_w, win):
    """Per output tile, the source rows/cols its triangles touch: ``win[ty, tx] = r0, r1, c0, c1``.

    ``win`` is pre-set to (big, -1, big, -1); a tile with no triangle keeps ``r1 == -1``.
    """
    ny, nx = tri.shape
    jmask = (1 << jbits) - 1
    for r in range(ny):
        ty = r // tile_h
        for c in range(nx):
            t = tri[r, c]
            if t < 0:
                continue
            tx = c // tile_w
            i = t >> (jbits + 2)
            j = (t >> 2) & jmask
            win[ty, tx, 0] = min(win[ty, tx, 0], i)
            win[ty, tx, 1] = max(win[ty, tx, 1], i + 2)
            win[ty, tx, 2] = min(win[ty, tx, 2], j)
            win[ty, tx, 3] = max(win[ty, tx, 3], j + 2)


@njit(cache=True, nogil=True)
def bin_pixels(x, y, x0, y0, dx, dy, cell, nearest, row_lo, row_hi):
    """For the source pixel centres falling on target rows ``row_lo`` ... ``row_hi`` (a band:
    each thread bins only into its own rows), their target cell (flat index) into ``cell``
    (pre-set to -1), and per cell of the band the flat source index of the pixel nearest the
    cell centre into ``nearest`` (pre-set to -1). Ties go to the first pixel in source order.
    """
    nrows, ncols = x.shape
    nx = nearest.shape[1]
    best = np.full((row_hi + 1 - row_lo, nx), np.inf)
    for i in range(nrows):
        for j in range(ncols):
            if not (math.isfinite(x[i, j]) and math.isfinite(y[i, j])):
                continue
            fc = (x[i, j] - x0) / dx
            fr = (y0 - y[i, j]) / dy
            if not (0.0 <= fc < nx and row_lo <= fr < row_hi + 1):
                continue
            r = int(fr)
            c = int(fc)
            cell[i, j] = r * nx + c
            d2 = (fc - c - 0.5) ** 2 + (fr - r - 0.5) ** 2
            if d2 < best[r - row_lo, c]:
                best[r - row_lo, c] = d2
                nearest[r, c] = i * ncols + j


@njit(cache=True, nogil=True)
def bin_windows(cell, nx, tile_h, tile_w, win):
    """Per output tile, the source rows/cols whose pixel centres fall into it (as ``win`` above)."""
    nrows, ncols = cell.shape
    for i in range(nrows):
        for j in range(ncols):
            k = cell[i, j]
            if k < 0:
                continue
            ty = (k // nx) // tile_h
            tx = (k % nx) // tile_w
            win[ty, tx, 0] = min(win[ty, tx, 0], i)
            win[ty, tx, 1] = max(win[ty, tx, 1], i + 1)
            win[ty, tx, 2] = min(win[ty, tx, 2], j)
            win[ty, tx, 3] = max(win[ty, tx, 3], j + 1)


@njit(cache=True, nogil=True)
def bin_mean(values, cell, nx, tr0, tc0, fill, out):
    """Mean of the non-NaN source pixels of ``values`` whose centres fall into each cell of the
    tile ``out`` (origin ``tr0``, ``tc0`` in a grid ``nx`` cells wide); ``fill`` where there is
    none. ``cell`` is the window of the source-cell table matching ``values``.
    """
    th, tw = out.shape
    total = np.zeros((th, tw))
    count = np.zeros((th, tw), dtype=np.int64)
    nrows, ncols = values.shape
    for i in range(nrows):
        for j in range(ncols):
            k = cell[i, j]
            if k < 0:
                continue
            r = k // nx - tr0
            c = k % nx - tc0
            if r < 0 or r >= th or c < 0 or c >= tw:
                continue
            v = values[i, j]
            if v != v:
                continue
            total[r, c] += v
            count[r, c] += 1
    for r in range(th):
        for c in range(tw):
            out[r, c] = total[r, c] / count[r, c] if count[r, c] > 0 else fill


@njit(cache=True, nogil=True)
def gather_flat(values, r0, c0, ncols, src, fill, out):
    """``out`` = the source pixel whose flat swath index is ``src`` (``fill`` where ``src < 0``)."""
    th, tw = src.shape
    for r in range(th):
        for c in range(tw):
            s = src[r, c]
            out[r, c] = values[s // ncols - r0, s % ncols - c0] if s >= 0 else fill
