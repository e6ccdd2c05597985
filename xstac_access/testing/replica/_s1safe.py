"""A Sentinel-1 IW GRDH dual-polarisation (VV+VH) SAFE product as files, and its zip.

The folder is laid out as the Sentinel-1 Product Specification says: ``manifest.safe``; per
image (``vv`` is image 001, ``vh`` 002) ``annotation/s1a-iw-grd-<pol>-<start>-<stop>-<orbit>-
<datatake>-<n>.xml``, ``annotation/calibration/calibration-<same>.xml`` and ``noise-<same>.xml``
(:mod:`._s1annotation`) and ``measurement/<same>.tiff``; ``preview/map-overlay.kml`` and
``preview/quick-look.png``. Small: 384 lines x 512 samples of 10 m (ESA's are about 16700 x
25000). The measurement TIFFs are what the processor writes: uint16 digital numbers in one-row
strips, uncompressed, the IFD after the data, georeferenced only by GCPs, which are the
annotation's geolocation grid (10 lines x 21 pixels). The numbers are made from the look-up
tables: a backscatter field ``sigma0`` with speckle, and ``DN = sqrt(sigma0 * A^2 + N)`` with
``A`` the interpolated ``sigmaNought`` and ``N`` the noise (range times azimuth), so that a
calibrated, denoised read gives the field back.
"""

from __future__ import annotations

import hashlib
import math
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from rasterio.control import GroundControlPoint

from xstac_access.testing.replica import _raster, _s1annotation, _sar

SHAPE = (384, 512)  # lines, samples
SPACING = (10.0, 10.0)  # azimuth, range (m)
IPF = "003.91"
_AZIMUTH_INTERVAL = 1.5e-3  # s per line
_CAL_LINES = list(range(0, 385, 48))  # the last vector lies past the last line, as ESA's do
_CAL_PIXELS = np.array([*range(0, 512, 40), 511])
_NOISE_LINES = [0, 96, 192, 288, 383]
_NOISE_PIXELS = np.array([*range(0, 512, 32), 511])
_SUBSWATHS = (("IW1", 0, 170), ("IW2", 171, 340), ("IW3", 341, 511))
_GRID = (np.linspace(0, SHAPE[0] - 1, 10).round(), np.linspace(0, SHAPE[1] - 1, 21).round())


@dataclass(frozen=True)
class S1Product:
    """One Level-1 product as ESA names it:
    ``S1A_IW_GRDH_1SDV_<start>_<stop>_<orbit>_<datatake>_<id>``."""

    name: str
    corner: tuple[float, float]  # lon/lat of line 0, sample 0
    heading: float  # flight direction, degrees from north

    @property
    def parts(self) -> list[str]:
        """The name's fields (``SLC__1SDV``: the type is padded with ``_`` to four letters)."""
        return [part for part in self.name.split("_") if part]

    @property
    def start(self) -> datetime:
        return datetime.strptime(self.parts[4], "%Y%m%dT%H%M%S")

    @property
    def polarisations(self) -> tuple[str, ...]:
        return ("VV", "VH") if self.parts[3].endswith("DV") else ("HH", "HV")

    def stem(self, pol: str) -> str:
        """``s1a-iw-grd-vv-20250610t053012-20250610t053037-059571-0765a2-001``."""
        p = self.parts
        kind = p[2][:3].lower()
        number = 1 if pol[0] == pol[1] else 2  # co-polarised image first
        return "-".join((p[0].lower(), p[1].lower(), kind, pol.lower(), p[4].lower(),
                         p[5].lower(), p[6], p[7].lower(), f"{number:03d}"))  # fmt: skip

    def header(self, pol: str) -> _s1annotation.Header:
        stop = self.start + timedelta(seconds=SHAPE[0] * _AZIMUTH_INTERVAL)
        number = int(self.stem(pol)[-3:])
        return _s1annotation.Header(
            self.parts[0], "GRD", pol, self.parts[1], self.parts[1], _iso(self.start),
            _iso(stop), int(self.parts[6]), int(self.parts[7], 16), number,
        )  # fmt: skip

    def lonlat(self, line: np.ndarray, sample: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where an image position lies: along track with the lines, to the right with the
        samples (a right-looking radar), degrees per km following the latitude."""
        along, across = line * SPACING[0] / 1000, sample * SPACING[1] / 1000
        h = math.radians(self.heading)
        north = along * math.cos(h) - across * math.sin(h)
        east = along * math.sin(h) + across * math.cos(h)
        lat = self.corner[1] + north / 111.32
        return self.corner[0] + east / (111.32 * np.cos(np.radians(lat))), lat


def corners(product: S1Product) -> list[tuple[float, float]]:
    """Longitude/latitude of the image's outer corners in the KML quad's order: lower-left,
    lower-right, upper-right, upper-left of the image (last line first)."""
    rows, cols = SHAPE
    found = [product.lonlat(np.array([r], float), np.array([c], float))
             for r, c in ((rows, 0), (rows, cols), (0, cols), (0, 0))]  # fmt: skip
    return [(float(lon[0]), float(lat[0])) for lon, lat in found]


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _times(product: S1Product, lines: np.ndarray | list[int]) -> list[str]:
    return [_iso(product.start + timedelta(seconds=float(k) * _AZIMUTH_INTERVAL)) for k in lines]


def incidence(pixel: np.ndarray) -> np.ndarray:
    """Incidence angle (degrees) across the swath, near range to far range."""
    return 30.0 + 16.0 * np.asarray(pixel, float) / (SHAPE[1] - 1)


def geolocation_grid(product: S1Product) -> dict[str, np.ndarray]:
    """The geolocation grid's points, flat, row-major (line, then pixel)."""
    line, pixel = (a.ravel() for a in np.meshgrid(*_GRID, indexing="ij"))
    lon, lat = product.lonlat(line, pixel)
    theta = incidence(pixel)
    return {
        "line": line, "pixel": pixel, "latitude": lat, "longitude": lon,
        "height": 20.0 + 5.0 * np.sin(line / 50.0), "incidenceAngle": theta,
        "elevationAngle": theta - 3.5 - 0.1 * pixel / SHAPE[1],
        "slantRangeTime": 5.3e-3 + 6.6e-8 * pixel,
    }  # fmt: skip


def calibration_luts(pol: str) -> dict[str, np.ndarray]:
    """``sigmaNought``, ``betaNought``, ``gamma``, ``dn`` on (calibration line, pixel)."""
    rows = len(_CAL_LINES)
    drift = 1 + 0.002 * np.arange(rows)[:, None]  # the tables change a little along track
    theta = np.radians(incidence(_CAL_PIXELS))[None, :]
    beta = np.full((rows, len(_CAL_PIXELS)), 237.0 if pol[1] == pol[0] else 236.0)
    sigma = beta * np.sqrt(1 / np.sin(theta)) * drift
    return {"sigmaNought": sigma, "betaNought": beta, "gamma": sigma * np.sqrt(np.cos(theta)),
            "dn": beta.copy()}  # fmt: skip


def noise_tables(pol: str) -> tuple[np.ndarray, list[_s1annotation.AzimuthBlock]]:
    """The noise range LUT on (noise line, pixel) and the azimuth blocks of the sub-swaths."""
    level = 90.0 if pol[1] == pol[0] else 60.0
    scallop = 1 + 0.3 * np.cos(2 * np.pi * _NOISE_PIXELS / 170.0)
    rows = level * scallop[None, :] * (1 + 0.01 * np.arange(len(_NOISE_LINES)))[:, None]
    blocks = [
        _s1annotation.AzimuthBlock(swath, 0, SHAPE[0] - 1, first, last, [0, 128, 256, 383],
                                   [1.0 + 0.05 * k, 0.95, 1.05, 1.0 - 0.02 * k])
        for k, (swath, first, last) in enumerate(_SUBSWATHS)
    ]  # fmt: skip
    return rows, blocks


def _bilinear(lines: list[int], pixels: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``table`` (on lines x pixels) at every image element: linear in pixel, then in line."""
    across = np.array([np.interp(np.arange(SHAPE[1]), pixels, row) for row in table])
    return np.array([np.interp(np.arange(SHAPE[0]), lines, col) for col in across.T]).T


def _noise_field(pol: str) -> np.ndarray:
    rows, blocks = noise_tables(pol)
    field = _bilinear(_NOISE_LINES, _NOISE_PIXELS, rows)
    for b in blocks:
        scale = np.interp(np.arange(b.first_line, b.last_line + 1), b.lines, b.lut)
        field[b.first_line : b.last_line + 1, b.first_sample : b.last_sample + 1] *= scale[:, None]
    return field


def digital_numbers(seed: int, pol: str) -> np.ndarray:
    """The image: ``sqrt(sigma0 * A^2 + N)`` as uint16, sigma0 a speckled backscatter field."""
    rng = _raster.rng_for(seed, "s1safe", pol)
    smooth = _raster.smooth_field(_raster.rng_for(seed, "s1safe-field"), SHAPE)
    mean = (0.02 + 0.25 * smooth) * (1.0 if pol[0] == pol[1] else 0.2)
    sigma0 = mean * rng.exponential(1.0, SHAPE)
    gain = _bilinear(_CAL_LINES, _CAL_PIXELS, calibration_luts(pol)["sigmaNought"])
    dn = np.sqrt(sigma0 * gain**2 + _noise_field(pol))
    return np.clip(np.round(dn), 1, 65535).astype(np.uint16)


def write_folder(folder: Path, product: S1Product, seed: int) -> None:
    """The whole ``<NAME>.SAFE`` folder, manifest last."""
    grid = geolocation_grid(product)
    times = _times(product, grid["line"])
    gcps = [
        GroundControlPoint(row=float(r), col=float(c), x=float(x), y=float(y), z=float(z),
                                id=str(k + 1))
        for k, (r, c, x, y, z) in enumerate(zip(grid["line"], grid["pixel"], grid["longitude"],
                                                grid["latitude"], grid["height"], strict=True))
    ]  # fmt: skip
    for pol in product.polarisations:
        stem, header = product.stem(pol), product.header(pol)
        annotation = _s1annotation.product(
            header, shape=SHAPE, spacing=SPACING, direction="Ascending",
            azimuth_interval=_AZIMUTH_INTERVAL, grid=grid, times=times,
        )  # fmt: skip
        calibration = _s1annotation.calibration(
            header, _CAL_LINES, _times(product, _CAL_LINES), _CAL_PIXELS, calibration_luts(pol)
        )
        range_lut, blocks = noise_tables(pol)
        noise = _s1annotation.noise(
            header, _NOISE_LINES, _times(product, _NOISE_LINES), _NOISE_PIXELS, range_lut, blocks
        )
        _raster.write_bytes(folder / f"annotation/{stem}.xml", annotation)
        _raster.write_bytes(folder / f"annotation/calibration/calibration-{stem}.xml", calibration)
        _raster.write_bytes(folder / f"annotation/calibration/noise-{stem}.xml", noise)
        _sar.write_gcp_tiff(
            folder / f"measurement/{stem}.tiff", digital_numbers(seed, pol)[None], gcps,
            tile=None, compress=None, trailing_ifd=True,
        )  # fmt: skip
    kml = _s1annotation.map_overlay(corners(product))
    _raster.write_bytes(folder / "preview/map-overlay.kml", kml)
    picture = (digital_numbers(seed, product.polarisations[0])[::4, ::4] // 4).clip(0, 255)
    rgb = np.repeat(picture.astype(np.uint8)[None], 3, axis=0)
    _raster.write_bytes(folder / "preview/quick-look.png", _raster.image_bytes(rgb, "PNG"))
    (folder / "manifest.safe").write_bytes(manifest(product, _members(folder)))


def _members(folder: Path) -> dict[str, bytes]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "manifest.safe")
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in files}


def manifest(product: S1Product, members: dict[str, bytes]) -> bytes:
    """An XFDU ``manifest.safe``: the platform and the IPF version in its metadataSection, one
    dataObject (size, MD5 as ESA's Sentinel-1 manifests give) per member."""
    objects = "".join(
        f'    <dataObject ID="{path.rsplit("/", 1)[-1].split(".")[0]}">\n'
        f'      <byteStream mimeType="application/octet-stream" size="{len(blob)}">\n'
        f'        <fileLocation locatorType="URL" href="./{path}"/>\n'
        f'        <checksum checksumName="MD5">{_md5(blob)}</checksum>\n'
        "      </byteStream>\n    </dataObject>\n"
        for path, blob in sorted(members.items())
    )
    mission, mode, kind = product.parts[0], product.parts[1], product.parts[2][:3]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<xfdu:XFDU xmlns:xfdu="urn:ccsds:schema:xfdu:1" '
        'xmlns:safe="http://www.esa.int/safe/sentinel-1.0" version="esa/safe/sentinel-1.0/'
        'sentinel-1/sar/level-1/standard/iwdp">\n'
        '  <informationPackageMap>\n    <xfdu:contentUnit unitType="SAFE Archive Information '
        f'Package" textInfo="Sentinel-1 {mode} Level-1 {kind} Product"/>\n'
        "  </informationPackageMap>\n"
        '  <metadataSection>\n    <metadataObject ID="processing">\n      <metadataWrap>\n'
        f'        <xmlData>\n          <safe:processing name="{kind} Post Processing">\n'
        '            <safe:facility name="Copernicus S1 Core Ground Segment - DPA">\n'
        f'              <safe:software name="Sentinel-1 IPF" version="{IPF}"/>\n'
        "            </safe:facility>\n          </safe:processing>\n        </xmlData>\n"
        '      </metadataWrap>\n    </metadataObject>\n    <metadataObject ID="platform">\n'
        "      <metadataWrap>\n        <xmlData>\n          <safe:platform>\n"
        "            <safe:familyName>SENTINEL-1</safe:familyName>\n"
        f"            <safe:number>{mission[-1]}</safe:number>\n"
        "          </safe:platform>\n        </xmlData>\n      </metadataWrap>\n"
        "    </metadataObject>\n  </metadataSection>\n"
        f"  <dataObjectSection>\n{objects}  </dataObjectSection>\n</xfdu:XFDU>\n"
    ).encode()


def _md5(blob: bytes) -> str:
    return hashlib.md5(blob, usedforsecurity=False).hexdigest()


def zip_folder(folder: Path, target: Path) -> None:
    """Zip the folder under ``<NAME>.SAFE/``: manifest first, then in path order, TIFFs and the
    PNG stored, XML and KML deflated, at a fixed time stamp."""
    members = {"manifest.safe": (folder / "manifest.safe").read_bytes(), **_members(folder)}
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w") as zf:
        for path, blob in members.items():
            info = zipfile.ZipInfo(f"{folder.name}/{path}", date_time=(2025, 6, 10, 6, 40, 0))
            stored = path.endswith((".tiff", ".png"))
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            zf.writestr(info, blob)
