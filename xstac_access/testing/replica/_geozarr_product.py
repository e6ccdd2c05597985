"""What a Sentinel-2 L2A GeoZarr product is about: its MGRS tile and the MSI bands.

A product's name carries its platform, sensing start, processing baseline, relative orbit, MGRS
tile and processing time; :class:`Tile` adds the UTM zone and the upper-left corner of the 10 m
grid, from which every grid, footprint and bounding box of the replica follows. :data:`BANDS`
is the MSI band table (native resolution, S2A central wavelength, STAC common name and
description, centre and width as the Explorer's items state them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rasterio.warp import transform as warp_transform

from xstac_access.testing.replica import _stac

TILE_M = 109800.0  # side of an MGRS tile (m)


@dataclass(frozen=True)
class Tile:
    """Where a product lies: its name, UTM zone (EPSG) and 10 m grid's upper-left corner."""

    name: str
    epsg: int
    x0: float
    y0: float

    def _stamp(self, field: int) -> datetime:
        return datetime.strptime(self.name.split("_")[field], "%Y%m%dT%H%M%S")

    @property
    def sensing(self) -> datetime:
        """Start of the datatake (the name's first date)."""
        return self._stamp(2)

    @property
    def processed(self) -> datetime:
        """Processing time (the name's last date)."""
        return self._stamp(6)

    @property
    def footprint(self) -> dict[str, Any]:
        """The tile's GeoJSON Polygon (longitude, latitude)."""
        return _stac.utm_footprint(self.epsg, self.x0, self.y0, TILE_M)

    @property
    def diagonal(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """(lon, lat) of the tile's upper-left and lower-right corners."""
        lons, lats = warp_transform(
            f"EPSG:{self.epsg}",
            "EPSG:4326",
            [self.x0, self.x0 + TILE_M],
            [self.y0, self.y0 - TILE_M],
        )
        return (lons[0], lats[0]), (lons[1], lats[1])

    @property
    def bbox(self) -> list[float]:
        """[xmin, ymin, xmax, ymax] of the tile in its UTM zone."""
        return [self.x0, self.y0 - TILE_M, self.x0 + TILE_M, self.y0]

    def transform(self, n: int) -> list[float]:
        """The 3x3 affine (row-major, 9 numbers) of an n x n grid over the tile."""
        res = TILE_M / n
        return [res, 0.0, self.x0, 0.0, -res, self.y0, 0.0, 0.0, 1.0]


@dataclass(frozen=True)
class Band:
    """An MSI band: native resolution (m), S2A central wavelength (nm) and STAC description."""

    name: str
    native: int
    nm: float
    common_name: str
    description: str
    center: float  # µm, as the Explorer's items state it
    fwhm: float  # µm


BANDS = (
    Band("b01", 60, 442.7, "coastal", "Coastal aerosol (band 1)", 0.443, 0.027),
    Band("b02", 10, 492.7, "blue", "Blue (band 2)", 0.49, 0.098),
    Band("b03", 10, 559.8, "green", "Green (band 3)", 0.56, 0.045),
    Band("b04", 10, 664.6, "red", "Red (band 4)", 0.665, 0.038),
    Band("b05", 20, 704.1, "rededge", "Red edge 1 (band 5)", 0.704, 0.019),
    Band("b06", 20, 740.5, "rededge", "Red edge 2 (band 6)", 0.74, 0.018),
    Band("b07", 20, 782.8, "rededge", "Red edge 3 (band 7)", 0.783, 0.028),
    Band("b08", 10, 832.8, "nir", "NIR 1 (band 8)", 0.842, 0.145),
    Band("b8a", 20, 864.7, "nir08", "NIR 2 (band 8A)", 0.865, 0.033),
    Band("b09", 60, 945.1, "nir09", "NIR 3 (band 9)", 0.945, 0.026),
    Band("b10", 60, 1373.5, "cirrus", "Cirrus (band 10)", 1.374, 0.075),
    Band("b11", 20, 1613.7, "swir16", "SWIR 1 (band 11)", 1.61, 0.143),
    Band("b12", 20, 2202.4, "swir22", "SWIR 2 (band 12)", 2.19, 0.242),
)
#: L2A reflectances: every band but the cirrus one (b10 only serves L1C cloud screening).
REFLECTANCE = tuple(b.name for b in BANDS if b.name != "b10")
