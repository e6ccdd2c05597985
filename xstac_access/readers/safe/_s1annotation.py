"""What the annotation XML of a Sentinel-1 Level-1 image says, as numbers.

Three files describe each image (Sentinel-1 Product Specification, S1-RS-MDA-52-7441): the
product annotation ``annotation/<stem>.xml`` (``adsHeader``, ``imageAnnotation/
imageInformation`` with the image size, ``swathTiming`` with the SLC bursts, and
``geolocationGrid``), the calibration annotation ``annotation/calibration/calibration-<stem>.xml``
(``calibrationVector``: at a line, on a list of pixels, ``sigmaNought``, ``betaNought``,
``gamma`` and ``dn``) and the noise annotation ``noise-<stem>.xml`` (``noiseRangeVector`` per
line and, from IPF 2.9, ``noiseAzimuthVector`` blocks; before, ``noiseVector``). Each is parsed
once, at open, into the small arrays below; nothing image-sized.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ... import errors
from .._xmlmeta import local_name

#: The geolocation grid's per-point fields, in the annotation's names.
GRID_FIELDS = ("line", "pixel", "latitude", "longitude", "height", "incidenceAngle",
               "elevationAngle", "slantRangeTime")  # fmt: skip


@dataclass(frozen=True)
class Vectors:
    """Look-up tables given at some lines, each on its own list of pixels."""

    lines: np.ndarray  # (n,) int
    pixels: tuple[np.ndarray, ...]  # n arrays of pixel positions
    values: dict[str, tuple[np.ndarray, ...]]  # table name -> n arrays, one per line


@dataclass(frozen=True)
class AzimuthBlock:
    """A ``noiseAzimuthVector``: inside lines/samples ``[first, last]``, the noise is scaled by
    ``lut`` interpolated along ``lines``."""

    first_line: int
    last_line: int
    first_sample: int
    last_sample: int
    lines: np.ndarray
    lut: np.ndarray


@dataclass(frozen=True)
class Burst:
    """One SLC burst as ``swathTiming/burstList`` gives it."""

    azimuth_time: str
    first_valid: np.ndarray
    last_valid: np.ndarray


@dataclass(frozen=True)
class Image:
    """The product annotation of one image (one swath, one polarisation)."""

    polarisation: str
    swath: str
    product_type: str
    shape: tuple[int, int]  # lines, samples
    grid: dict[str, np.ndarray]  # GRID_FIELDS, flat, plus "azimuthTime" (datetime64)
    header: dict[str, str]
    lines_per_burst: int = 0
    samples_per_burst: int = 0
    bursts: tuple[Burst, ...] = field(default=())


def _first(root: Any, name: str) -> Any:
    return next((e for e in root.iter() if local_name(e.tag) == name), None)


def _text(root: Any, name: str, what: str) -> str:
    element = _first(root, name)
    if element is None or element.text is None:
        raise errors.FormatError(f"{what} has no <{name}>: not a Sentinel-1 annotation")
    return element.text.strip()


def _children(root: Any, name: str) -> list[Any]:
    return [e for e in root.iter() if local_name(e.tag) == name]


def _array(element: Any, name: str, dtype: type = float) -> np.ndarray:
    child = next((c for c in element if local_name(c.tag) == name), None)
    if child is None or child.text is None:
        return np.array([], dtype=dtype)
    return np.array(child.text.split(), dtype=dtype)


def _value(element: Any, name: str) -> str:
    child = next((c for c in element if local_name(c.tag) == name), None)
    return "" if child is None or child.text is None else child.text.strip()


def image(root: Any, what: str) -> Image:
    """The product annotation in ``root`` (``what`` names the file in messages)."""
    header_element = _first(root, "adsHeader")
    if header_element is None:
        raise errors.FormatError(f"{what} has no <adsHeader>: not a Sentinel-1 annotation")
    header = {local_name(c.tag): (c.text or "").strip() for c in header_element}
    shape = (int(_text(root, "numberOfLines", what)), int(_text(root, "numberOfSamples", what)))
    points = _children(root, "geolocationGridPoint")
    if not points:
        raise errors.FormatError(f"{what} has an empty geolocationGrid: no GCPs to place it")
    grid = {name: np.array([float(_value(p, name)) for p in points]) for name in GRID_FIELDS}
    grid["line"], grid["pixel"] = grid["line"].astype(int), grid["pixel"].astype(int)
    grid["azimuthTime"] = np.array([_value(p, "azimuthTime") for p in points], "datetime64[ns]")
    timing = _first(root, "swathTiming")
    bursts = tuple(
        Burst(_value(b, "azimuthTime"), _array(b, "firstValidSample", int),
              _array(b, "lastValidSample", int))
        for b in _children(timing, "burst")
    ) if timing is not None else ()  # fmt: skip
    return Image(
        polarisation=header.get("polarisation", "").upper(),
        swath=header.get("swath", ""),
        product_type=header.get("productType", ""),
        shape=shape,
        grid=grid,
        header=header,
        lines_per_burst=int(_value(timing, "linesPerBurst") or 0) if timing is not None else 0,
        samples_per_burst=int(_value(timing, "samplesPerBurst") or 0) if timing is not None else 0,
        bursts=bursts,
    )


def _vectors(root: Any, vector: str, tables: tuple[str, ...], what: str) -> Vectors:
    elements = _children(root, vector)
    if not elements:
        raise errors.FormatError(f"{what} has no <{vector}>")
    lines = np.array([int(_value(e, "line")) for e in elements])
    pixels = tuple(_array(e, "pixel") for e in elements)
    values = {t: tuple(_array(e, t) for e in elements) for t in tables}
    for name, rows in values.items():
        if any(len(r) != len(p) for r, p in zip(rows, pixels, strict=True)):
            raise errors.FormatError(f"{what}: a <{name}> does not have one value per pixel")
    return Vectors(lines, pixels, values)


def calibration(root: Any, what: str) -> Vectors:
    """The calibration vectors: ``sigmaNought``, ``betaNought``, ``gamma``, ``dn``."""
    return _vectors(root, "calibrationVector", ("sigmaNought", "betaNought", "gamma", "dn"), what)


def noise(root: Any, what: str) -> tuple[Vectors, tuple[AzimuthBlock, ...]]:
    """The noise range vectors (``noiseRangeLut``; ``noiseLut`` before IPF 2.9) and the
    azimuth blocks (none before IPF 2.9)."""
    if _children(root, "noiseRangeVector"):
        ranges = _vectors(root, "noiseRangeVector", ("noiseRangeLut",), what)
    else:
        old = _vectors(root, "noiseVector", ("noiseLut",), what)
        ranges = Vectors(old.lines, old.pixels, {"noiseRangeLut": old.values["noiseLut"]})
    blocks = tuple(
        AzimuthBlock(
            int(_value(e, "firstAzimuthLine")), int(_value(e, "lastAzimuthLine")),
            int(_value(e, "firstRangeSample")), int(_value(e, "lastRangeSample")),
            _array(e, "line", int), _array(e, "noiseAzimuthLut"),
        )
        for e in _children(root, "noiseAzimuthVector")
    )  # fmt: skip
    return ranges, blocks
