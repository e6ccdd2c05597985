"""The XML of a Sentinel-1 Level-1 SAFE product, written from its look-up tables.

Element names and nesting follow the Sentinel-1 Product Specification (S1-RS-MDA-52-7441) for
the three annotation files of each image: the product annotation (``adsHeader``,
``generalAnnotation/productInformation``, ``imageAnnotation/imageInformation``, ``swathTiming``
with its ``burstList``, ``geolocationGrid/geolocationGridPointList``), the calibration
annotation (``calibrationVectorList``: per line, a pixel list and the ``sigmaNought``,
``betaNought``, ``gamma`` and ``dn`` values there) and the noise annotation of IPF 2.9 and later
(``noiseRangeVectorList`` and ``noiseAzimuthVectorList``). Only the elements a reader of the
geometry and the radiometry needs are written; their values come from :mod:`._s1safe`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Header:
    """What every annotation file of one image starts with (``adsHeader``)."""

    mission: str  # S1A
    product_type: str  # GRD or SLC
    polarisation: str  # VV
    mode: str  # IW
    swath: str  # IW (GRD) or IW1 (SLC)
    start: str  # ISO time, no zone
    stop: str
    absolute_orbit: int
    datatake: int
    image_number: int

    def xml(self) -> str:
        return (
            "  <adsHeader>\n"
            f"    <missionId>{self.mission}</missionId>\n"
            f"    <productType>{self.product_type}</productType>\n"
            f"    <polarisation>{self.polarisation}</polarisation>\n"
            f"    <mode>{self.mode}</mode>\n    <swath>{self.swath}</swath>\n"
            f"    <startTime>{self.start}</startTime>\n    <stopTime>{self.stop}</stopTime>\n"
            f"    <absoluteOrbitNumber>{self.absolute_orbit}</absoluteOrbitNumber>\n"
            f"    <missionDataTakeId>{self.datatake}</missionDataTakeId>\n"
            f"    <imageNumber>{self.image_number:03d}</imageNumber>\n"
            "  </adsHeader>\n"
        )


@dataclass(frozen=True)
class Burst:
    """One SLC burst: its first line's time and, per line, the first and last valid samples
    (-1 where the line holds none)."""

    azimuth_time: str
    first_valid: Sequence[int]
    last_valid: Sequence[int]


def _numbers(values: Iterable[float], fmt: str = "{:.6e}") -> str:
    return " ".join(fmt.format(v) for v in values)


def _ints(values: Iterable[int]) -> str:
    return " ".join(str(int(v)) for v in values)


def _document(root: str, header: Header, body: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}>\n{header.xml()}{body}</{root}>\n'
            ).encode()  # fmt: skip


def product(
    header: Header,
    *,
    shape: tuple[int, int],
    spacing: tuple[float, float],
    direction: str,
    azimuth_interval: float,
    grid: dict[str, np.ndarray],
    times: Sequence[str],
    bursts: Sequence[Burst] = (),
    burst_shape: tuple[int, int] = (0, 0),
) -> bytes:
    """The product annotation (``annotation/s1a-iw-grd-vv-....xml``).

    ``grid`` holds the geolocation grid's points, flat: ``line``, ``pixel``, ``latitude``,
    ``longitude``, ``height``, ``incidenceAngle``, ``elevationAngle``, ``slantRangeTime``, with
    ``times`` their azimuth times.
    """
    lines, samples = shape
    points = []
    for k, time in enumerate(times):
        fields = "".join(
            f"        <{name}>{_value(name, grid[name][k])}</{name}>\n"
            for name in ("slantRangeTime", "line", "pixel", "latitude", "longitude", "height",
                         "incidenceAngle", "elevationAngle")
        )  # fmt: skip
        points.append(
            "      <geolocationGridPoint>\n"
            f"        <azimuthTime>{time}</azimuthTime>\n{fields}      </geolocationGridPoint>\n"
        )
    burst_xml = "".join(
        "      <burst>\n"
        f"        <azimuthTime>{b.azimuth_time}</azimuthTime>\n"
        f'        <firstValidSample count="{len(b.first_valid)}">{_ints(b.first_valid)}'
        "</firstValidSample>\n"
        f'        <lastValidSample count="{len(b.last_valid)}">{_ints(b.last_valid)}'
        "</lastValidSample>\n      </burst>\n"
        for b in bursts
    )
    pixel_value = "Complex" if header.product_type == "SLC" else "Detected"
    output = "16 bit Signed Integer" if header.product_type == "SLC" else "16 bit Unsigned Integer"
    body = (
        "  <generalAnnotation>\n    <productInformation>\n"
        f"      <pass>{direction}</pass>\n"
        "      <radarFrequency>5.405000454334350e+09</radarFrequency>\n"
        "    </productInformation>\n  </generalAnnotation>\n"
        "  <imageAnnotation>\n    <imageInformation>\n"
        f"      <productFirstLineUtcTime>{header.start}</productFirstLineUtcTime>\n"
        f"      <productLastLineUtcTime>{header.stop}</productLastLineUtcTime>\n"
        f"      <pixelValue>{pixel_value}</pixelValue>\n"
        f"      <outputPixels>{output}</outputPixels>\n"
        f"      <rangePixelSpacing>{spacing[1]:.6e}</rangePixelSpacing>\n"
        f"      <azimuthPixelSpacing>{spacing[0]:.6e}</azimuthPixelSpacing>\n"
        f"      <azimuthTimeInterval>{azimuth_interval:.9e}</azimuthTimeInterval>\n"
        f"      <numberOfSamples>{samples}</numberOfSamples>\n"
        f"      <numberOfLines>{lines}</numberOfLines>\n"
        "    </imageInformation>\n  </imageAnnotation>\n"
        "  <swathTiming>\n"
        f"    <linesPerBurst>{burst_shape[0]}</linesPerBurst>\n"
        f"    <samplesPerBurst>{burst_shape[1]}</samplesPerBurst>\n"
        f'    <burstList count="{len(bursts)}">\n{burst_xml}    </burstList>\n'
        "  </swathTiming>\n"
        "  <geolocationGrid>\n"
        f'    <geolocationGridPointList count="{len(times)}">\n{"".join(points)}'
        "    </geolocationGridPointList>\n  </geolocationGrid>\n"
    )
    return _document("product", header, body)


def _value(name: str, value: float) -> str:
    if name in ("line", "pixel"):
        return str(int(value))
    precise = name in ("latitude", "longitude", "slantRangeTime")
    return f"{value:.12e}" if precise else f"{value:.6e}"


def calibration(
    header: Header, lines: Sequence[int], times: Sequence[str], pixels: np.ndarray,
    luts: dict[str, np.ndarray],
) -> bytes:  # fmt: skip
    """The calibration annotation: one ``calibrationVector`` per line of ``lines``, each on
    ``pixels``, with the rows of ``luts`` (``sigmaNought``, ``betaNought``, ``gamma``, ``dn``)."""
    vectors = []
    for k, (line, time) in enumerate(zip(lines, times, strict=True)):
        tables = "".join(
            f'      <{name} count="{len(pixels)}">{_numbers(luts[name][k])}</{name}>\n'
            for name in ("sigmaNought", "betaNought", "gamma", "dn")
        )
        vectors.append(
            "    <calibrationVector>\n"
            f"      <azimuthTime>{time}</azimuthTime>\n      <line>{line}</line>\n"
            f'      <pixel count="{len(pixels)}">{_ints(pixels)}</pixel>\n{tables}'
            "    </calibrationVector>\n"
        )
    body = (
        "  <calibrationInformation>\n"
        "    <absoluteCalibrationConstant>1.000000e+00</absoluteCalibrationConstant>\n"
        "  </calibrationInformation>\n"
        f'  <calibrationVectorList count="{len(vectors)}">\n{"".join(vectors)}'
        "  </calibrationVectorList>\n"
    )
    return _document("calibration", header, body)


@dataclass(frozen=True)
class AzimuthBlock:
    """One ``noiseAzimuthVector``: a sub-swath's block of lines and samples, and the noise
    scaling at some of its lines."""

    swath: str
    first_line: int
    last_line: int
    first_sample: int
    last_sample: int
    lines: Sequence[int]
    lut: Sequence[float]


def noise(
    header: Header, lines: Sequence[int], times: Sequence[str], pixels: np.ndarray,
    range_lut: np.ndarray, blocks: Sequence[AzimuthBlock],
) -> bytes:  # fmt: skip
    """The noise annotation (IPF 2.9 and later): range vectors per line of ``lines`` on
    ``pixels`` (rows of ``range_lut``), and the azimuth vectors of ``blocks``."""
    vectors = "".join(
        "    <noiseRangeVector>\n"
        f"      <azimuthTime>{time}</azimuthTime>\n      <line>{line}</line>\n"
        f'      <pixel count="{len(pixels)}">{_ints(pixels)}</pixel>\n'
        f'      <noiseRangeLut count="{len(pixels)}">{_numbers(range_lut[k])}</noiseRangeLut>\n'
        "    </noiseRangeVector>\n"
        for k, (line, time) in enumerate(zip(lines, times, strict=True))
    )
    azimuth = "".join(
        "    <noiseAzimuthVector>\n"
        f"      <swath>{b.swath}</swath>\n"
        f"      <firstAzimuthLine>{b.first_line}</firstAzimuthLine>\n"
        f"      <firstRangeSample>{b.first_sample}</firstRangeSample>\n"
        f"      <lastAzimuthLine>{b.last_line}</lastAzimuthLine>\n"
        f"      <lastRangeSample>{b.last_sample}</lastRangeSample>\n"
        f'      <line count="{len(b.lines)}">{_ints(b.lines)}</line>\n'
        f'      <noiseAzimuthLut count="{len(b.lut)}">{_numbers(b.lut)}</noiseAzimuthLut>\n'
        "    </noiseAzimuthVector>\n"
        for b in blocks
    )
    body = (
        f'  <noiseRangeVectorList count="{len(lines)}">\n{vectors}  </noiseRangeVectorList>\n'
        f'  <noiseAzimuthVectorList count="{len(blocks)}">\n{azimuth}'
        "  </noiseAzimuthVectorList>\n"
    )
    return _document("noise", header, body)


def map_overlay(corners: Sequence[tuple[float, float]]) -> bytes:
    """``preview/map-overlay.kml``: a GroundOverlay of ``quick-look.png`` on a gx:LatLonQuad of
    ``corners`` (lon, lat), written as ESA writes it: no default KML namespace."""
    coordinates = " ".join(f"{lon:.6f},{lat:.6f}" for lon, lat in corners)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<kml xmlns:gx="http://www.google.com/kml/ext/2.2">\n  <Document>\n'
        "    <name>Sentinel-1 Map Overlay</name>\n    <Folder>\n"
        "      <name>Sentinel-1 Scene Overlay</name>\n      <GroundOverlay>\n"
        "        <name>Sentinel-1 Image Overlay</name>\n"
        "        <Icon>\n          <href>quick-look.png</href>\n        </Icon>\n"
        f"        <gx:LatLonQuad>\n          <coordinates>{coordinates}</coordinates>\n"
        "        </gx:LatLonQuad>\n      </GroundOverlay>\n    </Folder>\n  </Document>\n</kml>\n"
    ).encode()
