"""Sentinel-2 MSI facts shared by the Earth Search and Planetary Computer generators.

One table of the 13 MSI bands (what each catalogue calls them, centre wavelength and FWHM in
micrometres, native resolution), the SAFE naming rules of an L2A product (product URI, granule,
datatake and datastrip ids), the sun and Earth-Sun geometry of a scene, the pixel values of an
L2A raster drawn from a scene's seeded fields, and the scene classification statistics
(``s2:*_percentage``) measured on those same fields. Both catalogues publish the same ESA
metadata under their own names; only the names and the layout differ, so they are built from
these facts, not copied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from rasterio.warp import transform as warp_transform

from xstac_access.testing.replica import _raster

#: Side of an MGRS tile in metres (109.8 km, 10980 px of 10 m).
TILE_M = 109800


@dataclass(frozen=True)
class Band:
    """One MSI band and the names the catalogues give it."""

    band: str  # ESA name, also PC's asset key: B01 ... B12, B8A
    key: str  # Earth Search v1 asset key
    label: str  # Earth Search description: "<label> (band <n>)"
    pc_label: str  # PC description: "Band <n> - <pc_label>"
    common: str  # eo common_name on Earth Search
    pc_common: str | None  # eo common_name on PC (PC calls B8A "rededge" and B09 nothing)
    v0_named: bool  # Earth Search v0 titles name the common name: "Band 1 (coastal)"
    wavelength: float  # centre, micrometres
    fwhm: float  # full width at half maximum, micrometres
    res: int  # native resolution, metres

    @property
    def number(self) -> str:
        """``1`` ... ``12``, ``8A``."""
        return self.band[1:].lstrip("0")

    @property
    def description(self) -> str:
        return f"{self.label} (band {self.number})"

    @property
    def pc_description(self) -> str:
        return f"Band {self.number} - {self.pc_label}"

    @property
    def family(self) -> int:
        """Reflectance family of ``_raster``: coastal/blue, green, red, red edge, NIR, SWIR."""
        return sum(self.wavelength > edge for edge in (0.5, 0.6, 0.7, 0.8, 1.0))


# fmt: off
BANDS = (  # band; ES key, label; PC label; common names (ES, PC); v0; centre, FWHM (um); res (m)
    Band("B01", "coastal", "Coastal aerosol", "Coastal aerosol", "coastal", "coastal", True,
         0.443, 0.027, 60),
    Band("B02", "blue", "Blue", "Blue", "blue", "blue", True, 0.49, 0.098, 10),
    Band("B03", "green", "Green", "Green", "green", "green", True, 0.56, 0.045, 10),
    Band("B04", "red", "Red", "Red", "red", "red", True, 0.665, 0.038, 10),
    Band("B05", "rededge1", "Red edge 1", "Vegetation red edge 1", "rededge", "rededge", False,
         0.704, 0.019, 20),
    Band("B06", "rededge2", "Red edge 2", "Vegetation red edge 2", "rededge", "rededge", False,
         0.74, 0.018, 20),
    Band("B07", "rededge3", "Red edge 3", "Vegetation red edge 3", "rededge", "rededge", False,
         0.783, 0.028, 20),
    Band("B08", "nir", "NIR 1", "NIR", "nir", "nir", True, 0.842, 0.145, 10),
    Band("B8A", "nir08", "NIR 2", "Vegetation red edge 4", "nir08", "rededge", False,
         0.865, 0.033, 20),
    Band("B09", "nir09", "NIR 3", "Water vapor", "nir09", None, False, 0.945, 0.026, 60),
    Band("B10", "cirrus", "Cirrus", "SWIR - Cirrus", "cirrus", "cirrus", False, 1.375, 0.026, 60),
    Band("B11", "swir16", "SWIR 1", "SWIR (1.6)", "swir16", "swir16", True, 1.61, 0.143, 20),
    Band("B12", "swir22", "SWIR 2", "SWIR (2.2)", "swir22", "swir22", True, 2.19, 0.242, 20),
)
# fmt: on
BY_NAME = {b.band: b for b in BANDS}
#: The bands an L2A product has: B10 (cirrus) is used by the L2A processor but not delivered.
L2A_BANDS = tuple(b for b in BANDS if b.band != "B10")
#: The bands of the true colour image (TCI), in its band order.
TCI_BANDS = tuple(BY_NAME[b] for b in ("B04", "B03", "B02"))
#: File stems of true-colour pictures: the TCI and the previews (PC's ``PVI``, Earth Search's
#: ``L2A_PVI``).
TRUE_COLOUR_STEMS = ("TCI", "PVI", "L2A_PVI")
#: For annotations inside Product, whose field ``datetime`` hides the class there.
_DateTime = datetime


@dataclass(frozen=True)
class Product:
    """One L2A granule of one datatake, with the times and orbits its ESA names are made of."""

    mission: str  # S2A, S2B
    tile: str  # MGRS tile, e.g. 13TDE
    sensing: str  # datatake sensing start, YYYYMMDDTHHMMSS
    datetime: str  # the granule's (item's) time, ISO 8601
    generated: str  # processing (generation) time, YYYYMMDDTHHMMSS
    datastrip_start: str  # datastrip sensing start, YYYYMMDDTHHMMSS
    absolute_orbit: int
    relative_orbit: int
    baseline: str  # processing baseline, e.g. 05.09
    station: str  # processing centre of the granule/datastrip ids (2APS, ESRI ...)
    archived: str = ""  # time stamp of the granule/datastrip ids, if not ``generated``
    cloud: float = 0.0  # eo:cloud_cover, percent
    x0: float = 0.0  # upper-left corner of the tile (UTM metres)
    y0: float = 0.0

    @property
    def zone(self) -> int:
        return int(self.tile[:2])

    @property
    def latitude_band(self) -> str:
        return self.tile[2]

    @property
    def grid_square(self) -> str:
        return self.tile[3:]

    @property
    def epsg(self) -> int:
        return (32600 if self.latitude_band >= "N" else 32700) + self.zone

    @property
    def n_baseline(self) -> str:
        return "N" + self.baseline.replace(".", "")

    @property
    def product_name(self) -> str:
        """``S2A_MSIL2A_<sensing>_N0509_R141_T13TDE_<generated>`` (the SAFE name, no suffix)."""
        return (
            f"{self.mission}_MSIL2A_{self.sensing}_{self.n_baseline}_R{self.relative_orbit:03d}"
            f"_T{self.tile}_{self.generated}"
        )

    @property
    def product_uri(self) -> str:
        return f"{self.product_name}.SAFE"

    @property
    def _stamp(self) -> str:
        return self.archived or self.generated

    @property
    def granule_id(self) -> str:
        return (
            f"{self.mission}_OPER_MSI_L2A_TL_{self.station}_{self._stamp}_A{self.absolute_orbit:06d}"
            f"_T{self.tile}_N{self.baseline}"
        )

    @property
    def granule_folder(self) -> str:
        """The granule folder of the SAFE: ``L2A_T60VUK_A018417_20181231T235957``."""
        return f"L2A_T{self.tile}_A{self.absolute_orbit:06d}_{self.datastrip_start}"

    @property
    def datastrip_id(self) -> str:
        return (
            f"{self.mission}_OPER_MSI_L2A_DS_{self.station}_{self._stamp}_S{self.datastrip_start}"
            f"_N{self.baseline}"
        )

    @property
    def datastrip_folder(self) -> str:
        return f"DS_{self.station}_{self._stamp}_S{self.datastrip_start}"

    @property
    def datatake_id(self) -> str:
        return f"G{self.mission}_{self.sensing}_{self.absolute_orbit:06d}_N{self.baseline}"

    @property
    def generation_time(self) -> _DateTime:
        return datetime.strptime(self.generated, "%Y%m%dT%H%M%S")

    @property
    def when(self) -> _DateTime:
        return datetime.fromisoformat(self.datetime.replace("Z", "+00:00")).replace(tzinfo=None)

    @property
    def boa_offset(self) -> float:
        """The L2A reflectance offset: -0.1 since processing baseline 04.00 (January 2022)."""
        return -0.1 if self.baseline >= "04.00" else 0.0

    def utm_ring(self, fractions: tuple[tuple[float, float], ...]) -> list[tuple[float, float]]:
        """Tile-relative corners ``(right, down)`` in [0, 1] as UTM metres."""
        return [(self.x0 + u * TILE_M, self.y0 - v * TILE_M) for u, v in fractions]

    def lonlat(self, xy: list[tuple[float, float]]) -> list[tuple[float, float]]:
        lons, lats = warp_transform(
            f"EPSG:{self.epsg}", "EPSG:4326", [p[0] for p in xy], [p[1] for p in xy]
        )
        return list(zip(lons, lats, strict=True))

    def centre(self) -> tuple[float, float]:
        ((lon, lat),) = self.lonlat([(self.x0 + TILE_M / 2, self.y0 - TILE_M / 2)])
        return lon, lat


def sun_angles(when: datetime, lon: float, lat: float) -> tuple[float, float]:
    """Solar (azimuth from north, elevation) in degrees (NOAA's low-precision equations)."""
    day = when.timetuple().tm_yday
    hours = when.hour + when.minute / 60 + when.second / 3600
    g = 2 * math.pi / 365 * (day - 1 + (hours - 12) / 24)
    eqtime = 229.18 * (
        0.000075
        + 0.001868 * math.cos(g)
        - 0.032077 * math.sin(g)
        - 0.014615 * math.cos(2 * g)
        - 0.040849 * math.sin(2 * g)
    )
    decl = (
        0.006918
        - 0.399912 * math.cos(g)
        + 0.070257 * math.sin(g)
        - 0.006758 * math.cos(2 * g)
        + 0.000907 * math.sin(2 * g)
        - 0.002697 * math.cos(3 * g)
        + 0.00148 * math.sin(3 * g)
    )
    hour_angle = math.radians((hours * 60 + eqtime + 4 * lon) / 4 - 180)
    phi = math.radians(lat)
    cos_zenith = math.sin(phi) * math.sin(decl) + math.cos(phi) * math.cos(decl) * math.cos(
        hour_angle
    )
    elevation = 90 - math.degrees(math.acos(max(-1.0, min(1.0, cos_zenith))))
    azimuth = math.degrees(
        math.atan2(
            math.sin(hour_angle),
            math.cos(hour_angle) * math.sin(phi) - math.tan(decl) * math.cos(phi),
        )
    )
    return (azimuth + 180) % 360, elevation


def earth_sun_factor(when: datetime) -> float:
    """The reflectance conversion factor ``1 / d^2`` of the day (``d`` in astronomical units)."""
    day = when.timetuple().tm_yday
    return 1 / (1 - 0.01673 * math.cos(0.0172 * (day - 4))) ** 2


def scene_fields(
    seed: int,
    land_key: tuple[str, ...],
    cloud_key: tuple[str, ...],
    cloud: float,
    shape: tuple[int, int] = (915, 915),
) -> tuple[np.ndarray, np.ndarray]:
    """Land-cover classes and cloud mask of a scene on ``shape``: the grid of one raster for the
    pixel writers, by default the 915 x 915 statistics grid (the 20 m grid of the ``ci``
    replica), so the ``s2:*_percentage`` statistics come from the fields the pixels do."""
    classes = _raster.landscape(_raster.seed_words(seed, *land_key), shape)
    clouds = _raster.cloud_mask(_raster.seed_words(seed, *cloud_key), shape, cloud)
    return classes, clouds


def l2a_pixels(
    stem: str,
    classes: np.ndarray,
    clouds: np.ndarray,
    valid: np.ndarray,
    texture: np.random.Generator,
    field: np.random.Generator,
    boa_offset: float,
) -> np.ndarray:
    """The values of one L2A raster, by its file stem, from a scene's fields (``scene_fields``);
    0 (no-data) outside ``valid``.

    True colour (the TCI and the previews ``PVI``/``L2A_PVI``, uint8 x 3), the scene
    classification (``SCL``), aerosol and water vapour (``AOT``/``WVP``: a smooth ``field``
    around a typical level, uint16) or a band's reflectance as L2A counts with ``boa_offset``.
    ``texture`` draws the reflectance texture. Earth Search and the Planetary Computer write
    their files with it, each from its own seeds.
    """
    if stem in TRUE_COLOUR_STEMS:
        rgb = [
            _raster.textured(_raster.reflectance(classes, b.family, clouds), texture)
            for b in TCI_BANDS
        ]
        return np.where(valid, _raster.true_colour(*rgb), np.uint8(0))
    if stem == "SCL":
        return np.where(valid, _raster.scl(classes, clouds), np.uint8(0))
    if stem in ("AOT", "WVP"):
        level = 120 if stem == "AOT" else 1400
        smooth = _raster.smooth_field(field, classes.shape, waves=3)
        return np.where(valid, (level * (0.8 + 0.4 * smooth)).astype(np.uint16), np.uint16(0))
    refl = _raster.textured(_raster.reflectance(classes, BY_NAME[stem].family, clouds), texture)
    return np.where(valid, _raster.to_digital_numbers(refl, 1e-4, boa_offset), np.uint16(0))


def scl_percentages(scl: np.ndarray, valid: np.ndarray) -> dict[str, float]:
    """The ``s2:*_percentage`` statistics of an SCL map (classes of the L2A processor), as the
    L2A metadata reports them: classes in percent of the valid pixels, no-data in percent of all.
    """
    counted = scl[valid]
    total = max(counted.size, 1)

    def share(*classes: int) -> float:
        return round(100 * float(np.isin(counted, classes).sum()) / total, 6)

    return {
        "nodata_pixel_percentage": round(100 * (1 - float(valid.mean())), 6),
        "saturated_defective_pixel_percentage": share(1),
        "dark_features_percentage": share(2),
        "cloud_shadow_percentage": share(3),
        "vegetation_percentage": share(4),
        "not_vegetated_percentage": share(5),
        "water_percentage": share(6),
        "unclassified_percentage": share(7),
        "medium_proba_clouds_percentage": share(8),
        "high_proba_clouds_percentage": share(9),
        "thin_cirrus_percentage": share(10),
        "snow_ice_percentage": share(11),
    }


def iso(stamp: str) -> str:
    """``20231008T233154`` as ``2023-10-08T23:31:54.000000Z``."""
    return datetime.strptime(stamp, "%Y%m%dT%H%M%S").strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def later(stamp: datetime, minutes: float) -> str:
    """``minutes`` after ``stamp`` in ISO 8601 with milliseconds (Earth Search's ``created``)."""
    return (stamp + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
