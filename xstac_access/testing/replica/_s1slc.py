"""A Sentinel-1 IW SLC dual-polarisation SAFE product as files: two sub-swaths, three bursts.

Not part of the served world (nothing in the catalogue points at it): tests write it where they
need it, a folder or a zip (:func:`write_folder`, :func:`._s1safe.zip_folder`). Laid out as
ESA's: per sub-swath and polarisation an image ``measurement/s1a-iw1-slc-vv-<start>-<stop>-
<orbit>-<datatake>-004.tiff`` with its three annotation files. Small: ``IW1`` is 3 bursts of
:data:`LINES_PER_BURST` lines by 2048 samples (rows of 8 KB: a quicklook's every 32nd row lies
256 KB from the next, so a decimated read skips most of the file), ``IW2`` 3 x 512 (ESA's: 9
bursts of about 1500 lines by 21 000 samples). The TIFFs are ESA's layout: CInt16 (complex,
16-bit integer parts) in one-row strips, uncompressed, IFD last, placed by the geolocation grid
as GCPs.

Each burst's lines hold valid samples between ``firstValidSample`` and ``lastValidSample`` of
``swathTiming/burstList`` (-1 for a line with none: the first and last few of a burst); the
samples outside are 0, as in ESA's products. Inside, the values are complex Gaussian speckle
with power ``sigma0 * A^2`` (``A`` the ``sigmaNought`` table), so that calibration gives
``sigma0`` back on average.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np

from xstac_access.testing.replica import _raster, _s1annotation, _sar
from xstac_access.testing.replica._s1safe import S1Product, _iso, _members, manifest

PRODUCT = S1Product(
    "S1A_IW_SLC__1SDV_20250612T053010_20250612T053037_059600_0766B1_9C2D",
    corner=(5.402, 52.118), heading=-12.5,
)  # fmt: skip
LINES_PER_BURST = 60
BURSTS = 3
#: Per sub-swath: its number of samples and where its first sample lies across the track.
SWATHS = {"IW1": (2048, 0), "IW2": (512, 1900)}
_AZIMUTH_INTERVAL = 2.06e-3  # s per line
_INVALID_LINES = (4, 5)  # lines without valid samples at the start and end of every burst
_CAL_PIXELS = {"IW1": [*range(0, 2048, 256), 2047], "IW2": [0, 128, 256, 384, 511]}
_NUMBER = {("IW1", "VH"): 1, ("IW2", "VH"): 2, ("IW1", "VV"): 4, ("IW2", "VV"): 5}


@dataclass(frozen=True)
class Swath:
    """One sub-swath's image: its name, size and range offset."""

    name: str
    samples: int
    offset: int

    @property
    def shape(self) -> tuple[int, int]:
        return BURSTS * LINES_PER_BURST, self.samples


def swaths() -> list[Swath]:
    return [Swath(name, samples, offset) for name, (samples, offset) in SWATHS.items()]


def stem(swath: Swath, pol: str) -> str:
    """``s1a-iw1-slc-vv-20250612t053010-20250612t053037-059600-0766b1-004``."""
    p = PRODUCT.parts
    fields = (p[0], swath.name, "slc", pol, p[4], p[5], p[6], p[7])
    return "-".join([*(f.lower() for f in fields), f"{_NUMBER[swath.name, pol]:03d}"])


def valid_samples(swath: Swath, burst: int) -> tuple[list[int], list[int]]:
    """Per line of ``burst``, the first and last valid sample (-1, -1 for none)."""
    head, tail = _INVALID_LINES
    first_valid, last_valid = 24 + 6 * burst, swath.samples - 31 - 3 * burst
    lines = range(LINES_PER_BURST)
    inside = [head <= k < LINES_PER_BURST - tail for k in lines]
    return ([first_valid if i else -1 for i in inside], [last_valid if i else -1 for i in inside])


def _times(lines: list[int] | np.ndarray) -> list[str]:
    start = PRODUCT.start
    return [_iso(start + timedelta(seconds=float(k) * _AZIMUTH_INTERVAL)) for k in lines]


def geolocation_grid(swath: Swath) -> dict[str, np.ndarray]:
    """The grid at every burst's first line and past the last, on 11 pixels, row-major."""
    rows = np.array([*range(0, swath.shape[0], LINES_PER_BURST), swath.shape[0]], float)
    cols = np.linspace(0, swath.samples - 1, 11).round()
    line, pixel = (a.ravel() for a in np.meshgrid(rows, cols, indexing="ij"))
    lon, lat = _lonlat(swath, line, pixel)
    theta = 31.0 + 5.0 * (pixel + swath.offset) / 2560
    return {
        "line": line, "pixel": pixel, "latitude": lat, "longitude": lon,
        "height": _height(lon, lat), "incidenceAngle": theta,
        "elevationAngle": theta - 3.4, "slantRangeTime": 5.3e-3 + 1.6e-8 * pixel,
    }  # fmt: skip


def _lonlat(swath: Swath, line: np.ndarray, pixel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where a sample of ``swath`` lies (2.5 m slant-range samples, 10 m on the ground)."""
    return PRODUCT.lonlat(line, (pixel + swath.offset) / 4)


def _height(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return np.full(lon.shape, 12.0)


def calibration_luts(swath: Swath, pol: str) -> dict[str, np.ndarray]:
    """``sigmaNought``, ``betaNought``, ``gamma``, ``dn`` at every burst's first line."""
    pixels = np.array(_CAL_PIXELS[swath.name], float)
    theta = np.radians(31.0 + 5.0 * (pixels + swath.offset) / 2560)
    beta = np.full((BURSTS + 1, pixels.size), 640.0 if pol[0] == pol[1] else 630.0)
    sigma = beta * np.sqrt(1 / np.sin(theta))[None] * (1 + 0.01 * np.arange(BURSTS + 1))[:, None]
    return {"sigmaNought": sigma, "betaNought": beta, "gamma": sigma * np.sqrt(np.cos(theta)),
            "dn": beta.copy()}  # fmt: skip


def complex_values(seed: int, swath: Swath, pol: str) -> np.ndarray:
    """The image (complex64 of integer parts), 0 outside every burst's valid samples."""
    rng = _raster.rng_for(seed, "s1slc", swath.name, pol)
    rows, cols = swath.shape
    sigma0 = 0.05 + 0.2 * _raster.smooth_field(_raster.rng_for(seed, "s1slc-field"), (rows, cols))
    sigma0 *= 1.0 if pol[0] == pol[1] else 0.25
    luts, lines = calibration_luts(swath, pol), list(range(0, rows + 1, LINES_PER_BURST))
    across = [np.interp(np.arange(cols), _CAL_PIXELS[swath.name], r) for r in luts["sigmaNought"]]
    gain = np.array([np.interp(np.arange(rows), lines, c) for c in np.array(across).T]).T
    scale = np.sqrt(sigma0 * gain**2 / 2)
    z = np.round(rng.normal(0, scale)) + 1j * np.round(rng.normal(0, scale))
    for burst in range(BURSTS):
        first, last = valid_samples(swath, burst)
        for k, (lo, hi) in enumerate(zip(first, last, strict=True)):
            row = z[burst * LINES_PER_BURST + k]
            outside = (
                np.ones(cols, bool) if lo < 0 else (np.arange(cols) < lo) | (np.arange(cols) > hi)
            )
            row[outside] = 0
    return np.clip(z.real, -32768, 32767) + 1j * np.clip(z.imag, -32768, 32767)


def write_folder(folder: Path, seed: int) -> None:
    """The whole ``<NAME>.SAFE`` folder of :data:`PRODUCT`, manifest last."""
    for swath in swaths():
        grid = geolocation_grid(swath)
        gcps = _sar.grid_gcps(sorted(set(grid["line"])), sorted(set(grid["pixel"])),
                              functools.partial(_lonlat, swath), _height)  # fmt: skip
        lines = list(range(0, swath.shape[0] + 1, LINES_PER_BURST))
        bursts = [_s1annotation.Burst(_times([b * LINES_PER_BURST])[0], *valid_samples(swath, b))
                  for b in range(BURSTS)]  # fmt: skip
        for pol in PRODUCT.polarisations:
            name, header = stem(swath, pol), _header(swath, pol)
            annotation = _s1annotation.product(
                header, shape=swath.shape, spacing=(13.9, 2.33), direction="Ascending",
                azimuth_interval=_AZIMUTH_INTERVAL, grid=grid, times=_times(grid["line"]),
                bursts=bursts, burst_shape=(LINES_PER_BURST, swath.samples),
            )  # fmt: skip
            pixels = np.array(_CAL_PIXELS[swath.name])
            calibration = _s1annotation.calibration(
                header, lines, _times(lines), pixels, calibration_luts(swath, pol)
            )
            noise_lut = np.full((len(lines), pixels.size), 40.0 if pol[0] == pol[1] else 25.0)
            block = _s1annotation.AzimuthBlock(swath.name, 0, swath.shape[0] - 1, 0,
                                               swath.samples - 1, [0, swath.shape[0] - 1],
                                               [1.0, 1.1])  # fmt: skip
            noise = _s1annotation.noise(header, lines, _times(lines), pixels, noise_lut, [block])
            _raster.write_bytes(folder / f"annotation/{name}.xml", annotation)
            tables = folder / "annotation/calibration"
            _raster.write_bytes(tables / f"calibration-{name}.xml", calibration)
            _raster.write_bytes(tables / f"noise-{name}.xml", noise)
            values = complex_values(seed, swath, pol).astype(np.complex64)
            _sar.write_gcp_tiff(folder / f"measurement/{name}.tiff", values[None], gcps,
                                tile=None, compress=None, trailing_ifd=True,
                                dtype="complex_int16")  # fmt: skip
    (folder / "manifest.safe").write_bytes(manifest(PRODUCT, _members(folder)))


def _header(swath: Swath, pol: str) -> _s1annotation.Header:
    p = PRODUCT.parts
    stop = PRODUCT.start + timedelta(seconds=swath.shape[0] * _AZIMUTH_INTERVAL)
    number = _NUMBER[swath.name, pol]
    return _s1annotation.Header(p[0], "SLC", pol, p[1], swath.name, _iso(PRODUCT.start),
                                _iso(stop), int(p[6]), int(p[7], 16), number)  # fmt: skip
