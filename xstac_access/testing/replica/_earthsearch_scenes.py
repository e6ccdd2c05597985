"""The Earth Search Sentinel-2 scenes of the replica and where their files live.

Three v1 scenes (two dates on tile 13TDE, one on 13TDF) and one legacy v0 scene (a sliver of
28QCH), each an L2A granule of ``_s2`` with Earth Search's item id; the raster assets each
catalogue version lists (key, file stem, resolution, grid at each replica scale); and the
folder rules of Earth Search's COG bucket, ESA's JP2 bucket and Sinergise's roda bucket. The
file writers (``earthsearch``) and the item builders (``_earthsearch_items``) both read these
tables, so they live apart from either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from xstac_access.testing.replica import _s2

#: ESA's requester-pays L2A bucket: the replica's JPEG 2000 twins of the v1 COGs.
JP2_BUCKET = "sentinel-s2-l2a"
_DIVISOR = {"ci": 6, "bench": 1}


@dataclass(frozen=True)
class Scene:
    """One Earth Search S2 item: an L2A granule and its sequence number of the day."""

    product: _s2.Product
    sequence: str = "0"

    @property
    def item_id(self) -> str:
        p = self.product
        return f"{p.mission}_{p.tile}_{p.sensing[:8]}_{self.sequence}_L2A"

    @property
    def tile(self) -> str:
        return self.product.tile

    @property
    def date(self) -> tuple[int, int, int]:
        s = self.product.sensing
        return int(s[0:4]), int(s[4:6]), int(s[6:8])

    @property
    def tile_path(self) -> str:
        """``13/T/DE``: the MGRS path of Earth Search's and ESA's buckets."""
        p = self.product
        return f"{p.zone}/{p.latitude_band}/{p.grid_square}"


def _product(mission: str, tile: str, sensing: str, offset_s: float, **kw: Any) -> _s2.Product:
    """A granule whose item time is ``offset_s`` seconds after the datatake's sensing start."""
    start = datetime.strptime(sensing, "%Y%m%dT%H%M%S")
    when = (start + timedelta(seconds=offset_s)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return _s2.Product(mission, tile, sensing, when, **kw)


_UTM_13T = {"D": 399960.0, "E": 4500000.0, "F": 4600020.0}  # x0 of column D; y0 of rows E, F

V1_SCENES = (
    Scene(
        _product(
            "S2A", "13TDE", "20231008T175231", 624.276, generated="20231008T233154",
            datastrip_start="20231008T175927", absolute_orbit=43324, relative_orbit=141,
            baseline="05.09", station="2APS", cloud=0.000299, x0=_UTM_13T["D"],
            y0=_UTM_13T["E"],
        )
    ),
    Scene(
        _product(
            "S2B", "13TDE", "20231003T175249", 602.102, generated="20231003T212409",
            datastrip_start="20231003T175945", absolute_orbit=34461, relative_orbit=141,
            baseline="05.09", station="2BPS", cloud=63.2, x0=_UTM_13T["D"], y0=_UTM_13T["E"],
        )
    ),
    Scene(
        _product(
            "S2A", "13TDF", "20231008T175231", 610.520, generated="20231008T233154",
            datastrip_start="20231008T175927", absolute_orbit=43324, relative_orbit=141,
            baseline="05.09", station="2APS", cloud=8.4, x0=_UTM_13T["D"], y0=_UTM_13T["F"],
        )
    ),
)  # fmt: skip
V0_SCENE = Scene(
    _s2.Product(
        "S2A", "28QCH", "20200714T115221", "2020-07-14T11:55:52Z", generated="20200714T191310",
        datastrip_start="20200714T115912", absolute_orbit=26336, relative_orbit=123,
        baseline="02.14", station="SGS_", cloud=2.36, x0=300000.0, y0=2300040.0,
    )
)  # fmt: skip
#: The v0 scene's data footprint in tile fractions (right, down): a triangle at the tile's west
#: edge cut by the swath's edge, 6.85 % of the tile (the real item's ``data_coverage``).
V0_FOOTPRINT = ((0.0, 0.0), (0.185, 0.0), (0.0, 0.7405))


@dataclass(frozen=True)
class Raster:
    """A raster asset of an S2 scene: its key, file stem and resolution (or fixed grid)."""

    key: str
    stem: str  # B04, AOT, WVP, SCL, TCI, L2A_PVI
    res: int  # native resolution, metres
    fixed: int | None = None  # a grid that does not scale (the v0 preview: 343 px of 320 m)

    def shape(self, scale: str) -> tuple[int, int]:
        n = self.fixed or _s2.TILE_M // self.res // _DIVISOR[scale]
        return n, n

    def pixel(self, scale: str) -> float:
        return 320.0 if self.fixed else _s2.TILE_M / self.shape(scale)[0]


#: v1: the L2A bands by common-name key, then AOT, SCL, WVP (20 m) and the TCI.
V1_RASTERS = (
    *(Raster(b.key, b.band, b.res) for b in _s2.L2A_BANDS),
    Raster("aot", "AOT", 20),
    Raster("scl", "SCL", 20),
    Raster("wvp", "WVP", 20),
    Raster("visual", "TCI", 10),
)
#: v0: band keys B01 ... B12; AOT at 60 m and WVP at 10 m (v0's choice), the 320 m preview.
V0_RASTERS = (
    Raster("overview", "L2A_PVI", 320, fixed=343),
    Raster("visual", "TCI", 10),
    *(Raster(b.band, b.band, b.res) for b in _s2.L2A_BANDS),
    Raster("AOT", "AOT", 60),
    Raster("WVP", "WVP", 10),
    Raster("SCL", "SCL", 20),
)


def cog_folder(scene: Scene, v0: bool) -> str:
    """Folder of a scene's COGs in bucket ``sentinel-cogs`` (v0 kept only the year)."""
    year, month, _ = scene.date
    if v0:
        return f"sentinel-cogs/sentinel-s2-l2a-cogs/{year}/{scene.item_id}"
    return f"sentinel-cogs/sentinel-s2-l2a-cogs/{scene.tile_path}/{year}/{month}/{scene.item_id}"


def roda_folder(scene: Scene, level: str) -> str:
    """ESA's tile folder on the Sinergise (roda) bucket of ``level`` (``l1c`` or ``l2a``)."""
    year, month, day = scene.date
    return f"roda/sentinel-s2-{level}/tiles/{scene.tile_path}/{year}/{month}/{day}/{scene.sequence}"


def jp2_key(scene: Scene, stem: str) -> str:
    """Key of a raster's JPEG 2000 twin in ESA's bucket ``sentinel-s2-l2a`` (Sinergise layout)."""
    year, month, day = scene.date
    return f"tiles/{scene.tile_path}/{year}/{month}/{day}/{scene.sequence}/{stem}.jp2"
