"""Sentinel-1 radiometric calibration and thermal noise removal, lazily, window by window.

The calibration annotation gives, at some lines and on some pixels of each, the gains ``A`` of
``sigmaNought``, ``betaNought`` and ``gamma``; the noise annotation gives the noise power ``N``
the same way (``noiseRangeLut``), scaled from IPF 2.9 on by ``noiseAzimuthLut`` inside each
azimuth block (a sub-swath's lines and samples). Both are made dense by interpolation that is
bilinear in (line, pixel): each vector linearly along its own pixels, then linearly between the
two vectors around a line (constant beyond the first and the last, as ESA's tables reach past
the image). The Sentinel-1 Level-1 calibration (ESA-EOPG-CSCOP-TN-0002) is then

    value = (|DN|^2 - N) / A^2      (noise removed; without it, |DN|^2 / A^2)

with ``DN`` the digital number (GRD) or complex value (SLC). Noise removal can make a value
negative where the signal is at the noise level: it is kept so (the mean stays unbiased) and is
NaN in dB. DN 0 is no data (GRD borders): NaN. :class:`CalibratedArray` computes this for the
window asked only: the tables at the window's lines and pixels, the image's values there.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from xarray.backends import BackendArray
from xarray.core import indexing

from ._s1annotation import AzimuthBlock, Vectors

#: ``calibration=`` -> the calibration table it divides by.
TABLES = {"sigma0": "sigmaNought", "beta0": "betaNought", "gamma0": "gamma"}


def lut(vectors: Vectors, table: str, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``table`` of ``vectors`` at every (row, col) of ``rows`` x ``cols``, bilinearly."""
    lines = vectors.lines
    lo = max(int(np.searchsorted(lines, rows.min(), "right")) - 1, 0)
    hi = min(int(np.searchsorted(lines, rows.max(), "left")) + 1, len(lines))
    across = np.stack(
        [np.interp(cols, vectors.pixels[k], vectors.values[table][k]) for k in range(lo, hi)]
    )
    near = lines[lo:hi].astype(float)
    if len(near) == 1:
        return np.repeat(across, len(rows), axis=0)
    j = np.clip(np.searchsorted(near, rows, "right") - 1, 0, len(near) - 2)
    t = np.clip((rows - near[j]) / (near[j + 1] - near[j]), 0.0, 1.0)[:, None]
    return across[j] * (1 - t) + across[j + 1] * t


def noise_power(
    ranges: Vectors, blocks: tuple[AzimuthBlock, ...], rows: np.ndarray, cols: np.ndarray
) -> np.ndarray:
    """The thermal noise power at ``rows`` x ``cols``: range LUT times, inside each azimuth
    block, the azimuth LUT interpolated at the row."""
    power = lut(ranges, "noiseRangeLut", rows, cols)
    for block in blocks:
        inside_rows = (rows >= block.first_line) & (rows <= block.last_line)
        inside_cols = (cols >= block.first_sample) & (cols <= block.last_sample)
        if inside_rows.any() and inside_cols.any():
            scale = np.interp(rows[inside_rows], block.lines, block.lut)
            power[np.ix_(inside_rows, inside_cols)] *= scale[:, None]
    return power


class Image(Protocol):
    """What is calibrated (or masked, :mod:`._s1bursts`): a lazily read measurement, indexed as
    xarray's backend arrays are."""

    @property
    def shape(self) -> tuple[int, ...]: ...

    @property
    def dtype(self) -> np.dtype: ...

    def __getitem__(self, key: indexing.ExplicitIndexer) -> Any: ...


class CalibratedArray(BackendArray):
    """A measurement calibrated (and denoised) on read: float32, linear or dB.

    ``image`` is the lazily read measurement (a backend array of DN); ``gains`` the calibration
    vectors and ``table`` the one divided by; ``noise`` the range vectors and azimuth blocks, or
    None to keep the noise. Picklable: it holds only small tables and the image's source.
    """

    def __init__(
        self,
        image: Image,
        gains: Vectors,
        table: str,
        noise: tuple[Vectors, tuple[AzimuthBlock, ...]] | None,
        db: bool,
    ) -> None:
        self.image = image
        self.gains = gains
        self.table = table
        self.noise = noise
        self.db = db
        self.shape = image.shape
        self.dtype = np.dtype("float32")

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.BASIC, self._read
        )

    def _read(self, key: tuple[int | slice, ...]) -> np.ndarray:
        positions: list[np.ndarray] = []
        squeeze: list[slice | int] = []
        for k, size in zip(key, self.shape, strict=True):
            if isinstance(k, slice):
                positions.append(np.arange(*k.indices(size), dtype=float))
                squeeze.append(slice(None))
            else:
                positions.append(np.array([k], dtype=float))
                squeeze.append(0)
        rows, cols = positions
        window = tuple(slice(int(p[0]), int(p[-1]) + 1, int(p[1] - p[0]) if len(p) > 1 else 1)
                       if len(p) else slice(0, 0) for p in positions)  # fmt: skip
        if not len(rows) or not len(cols):
            return np.empty((len(rows), len(cols)), self.dtype)[tuple(squeeze)]
        dn = np.asarray(self.image[indexing.BasicIndexer(window)])
        power = np.abs(dn).astype(np.float64) ** 2
        if self.noise is not None:
            power -= noise_power(*self.noise, rows, cols)
        value = power / lut(self.gains, self.table, rows, cols) ** 2
        value[dn == 0] = np.nan
        if self.db:
            with np.errstate(divide="ignore", invalid="ignore"):
                value = 10 * np.log10(np.where(value > 0, value, np.nan))
        return value.astype(self.dtype)[tuple(squeeze)]
