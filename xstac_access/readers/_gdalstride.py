"""Strided reads (``band[::4, ::4]``) that read only the rows and columns they keep.

Reading the whole window and striding it in numpy reads every row: on a Sentinel-1 measurement
TIFF (one-row strips, no overviews, 25 000 x 16 700) a quicklook's ``[::24, ::24]`` would fetch
the whole image. GDAL reads a window into a smaller buffer with nearest resampling fetching only
the strips (or tiles) holding the pixels it samples, but it samples each output pixel at its
centre: output ``k`` takes source ``floor(offset + (k + 0.5) * length / count)``. A window that
starts half a step early, ``offset = first - (step - 1) / 2`` with ``length = count * step``,
(GDAL takes fractional windows) makes that ``first + k * step`` exactly, i.e. what numpy's
stride keeps. Such a window does not fit inside the image for an index within half a step of
either edge: that index (at most one at each end) is read on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Segment:
    """Part of one axis of a strided read: GDAL's window (``offset``, ``length``, fractional)
    read into ``count`` samples, which land at ``at`` in the result."""

    offset: float
    length: float
    count: int
    at: int


def segments(start: int, stop: int, step: int, size: int) -> list[Segment]:
    """How to read ``range(start, stop, step)`` of an axis of ``size`` pixels exactly."""
    count = len(range(start, stop, step))
    if step == 1:
        return [Segment(start, count, count, 0)] if count else []
    half = (step - 1) / 2
    parts: list[Segment] = []
    run: list[int] = []  # positions (in the result) whose centred window fits
    for k, index in enumerate(range(start, stop, step)):
        if index - half >= 0 and index + half + 1 <= size:
            run.append(k)
        else:
            parts.append(Segment(index, 1, 1, k))
    if run:
        first = start + run[0] * step
        parts.append(Segment(first - half, len(run) * step, len(run), run[0]))
    return sorted(parts, key=lambda s: s.at)


def read_strided(
    dataset: Any,
    band: int | list[int],
    rows: tuple[int, int, int],
    cols: tuple[int, int, int],
    mask: bool,
) -> np.ndarray:
    """``band`` of the open rasterio ``dataset`` at ``rows`` x ``cols`` (each ``(start, stop,
    step)``, steps positive), equal to reading the window and striding it; the mask (True where
    valid) instead of the values with ``mask=True``. A list of bands reads them in one call,
    band axis first."""
    from rasterio.enums import Resampling
    from rasterio.windows import Window

    height, width = dataset.height, dataset.width
    down, across = segments(*rows, height), segments(*cols, width)
    shape = (sum(s.count for s in down), sum(s.count for s in across))
    out: np.ndarray | None = None
    read = dataset.read_masks if mask else dataset.read
    for r, c in product(down, across):
        window = Window(c.offset, r.offset, c.length, r.length)
        if r.length == r.count and c.length == c.count:
            block = read(band, window=window)  # no resampling: a plain window
        else:
            block = read(band, window=window, out_shape=(r.count, c.count),
                         resampling=Resampling.nearest)  # fmt: skip
        if mask:
            block = block != 0
        if out is None:  # rasterio's dtype for the band (complex64 for GDAL's CInt16)
            out = np.empty(block.shape[:-2] + shape, block.dtype)
        out[..., r.at : r.at + r.count, c.at : c.at + c.count] = block
    assert out is not None, "an empty read: the caller returns those itself"
    return out
