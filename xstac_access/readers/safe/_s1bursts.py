"""The bursts of a Sentinel-1 SLC image: one group per burst, its valid samples only.

An IW or EW SLC sub-swath image is its bursts one below the other, ``linesPerBurst`` lines
each (``swathTiming``); within a burst, each line holds valid samples from
``firstValidSample`` to ``lastValidSample`` (both -1 for a line with none: the first and last
lines of a burst, which the next and the previous burst cover). The samples outside are zeros
of no meaning; ESA's processors and the interferometric tools (ESA SNAP's TOPS deburst, ISCE's
burst extraction) cut or mask them. A burst group here is its lines of the image, with a
``line`` coordinate saying which, its valid-sample arrays, and, when decoding
(``mask_and_scale``, the default), the values outside them NaN: masked on read, per window.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from xarray.backends import BackendArray
from xarray.core import indexing

from ._s1annotation import Burst
from ._s1calibration import Image


class ValidSamplesArray(BackendArray):
    """Lines ``first_line ...`` of ``image`` (a complex or float backend array) with NaN
    outside each line's valid samples ``[first_valid, last_valid]`` (none where -1)."""

    def __init__(
        self, image: Image, first_line: int, first_valid: np.ndarray,
        last_valid: np.ndarray,
    ) -> None:  # fmt: skip
        self.image = image
        self.first_line = first_line
        self.first_valid = first_valid
        self.last_valid = last_valid
        self.shape = (len(first_valid), image.shape[1])
        self.dtype = image.dtype

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.BASIC, self._read
        )

    def _read(self, key: tuple[int | slice, ...]) -> np.ndarray:
        slices = [k if isinstance(k, slice) else slice(k, k + 1) for k in key]
        rows, cols = (np.arange(*s.indices(n)) for s, n in zip(slices, self.shape, strict=True))
        squeeze = tuple(slice(None) if isinstance(k, slice) else 0 for k in key)
        if not rows.size or not cols.size:
            return np.empty((rows.size, cols.size), self.dtype)[squeeze]
        step = int(rows[1] - rows[0]) if rows.size > 1 else 1
        down = slice(self.first_line + int(rows[0]), self.first_line + int(rows[-1]) + 1, step)
        data = np.asarray(self.image[indexing.BasicIndexer((down, slices[1]))])
        lo, hi = self.first_valid[rows][:, None], self.last_valid[rows][:, None]
        valid = (lo >= 0) & (cols[None, :] >= lo) & (cols[None, :] <= hi)
        data = np.where(valid, data, np.nan).astype(self.dtype)
        return data[squeeze]


def burst_group(
    measurements: xr.Dataset, arrays: dict[str, Image], lines: int, k: int,
    burst: Burst, mask: bool,
) -> xr.Dataset:  # fmt: skip
    """Burst ``k`` of ``measurements`` (whose variables read ``arrays``): see the module."""
    first = k * lines
    ds = measurements.isel(y=slice(first, first + lines))
    if mask:
        for name, array in arrays.items():
            masked = ValidSamplesArray(array, first, burst.first_valid, burst.last_valid)
            ds[name] = xr.Variable(("y", "x"), indexing.LazilyIndexedArray(masked), ds[name].attrs)
    ds = ds.assign(first_valid_sample=("y", burst.first_valid),
                   last_valid_sample=("y", burst.last_valid))  # fmt: skip
    ds = ds.assign_coords(line=("y", np.arange(first, first + lines)))
    ds.attrs.update(azimuth_time=burst.azimuth_time, first_line=first, last_line=first + lines - 1)
    return ds
