"""The GeoZarr (Zarr v3) hierarchy of an EOPF Explorer Sentinel-2 L2A product, built as code.

What the Explorer's converter (EOPF-Explorer/data-model) makes of an EOPF S2 L2A product:

* ``measurements/reflectance``: a ``multiscales`` group (zarr-conventions multiscales v1 with
  the ``spatial:`` and ``proj:`` conventions) of six levels: the product's r10m, r20m and r60m,
  then r120m, r360m and r720m averaged from the level above. Each level is a group with the
  ``spatial:``/``proj:`` attributes, a CF ``spatial_ref`` grid mapping, ``x``/``y`` and float32
  bands in ``sharding_indexed`` shards (:data:`LEVELS`: inner chunk and shard sides).
* ``quality/atmosphere|mask|probability``: per-resolution groups on the same conventions.
* ``conditions/mask/*``: detector footprints and classification masks, plain groups;
  ``conditions/geometry`` and ``conditions/meteorology`` (:mod:`._geozarr_aux`).

Sizes: a y/x side of ``n`` pixels becomes ``round(n / divisor)`` (sides of 100 or fewer stay),
chunks shrink with it and shards keep their count of inner chunks per side, so ``divisor=1``
gives the real shapes and chunking. Array ``proj:*`` attributes and the groups'
``spatial:bbox`` describe the grid actually written (the real converter leaves ``spatial:bbox``
at zeros, and each computed band repeats the ``proj:*`` attributes of the band it came from).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pyproj
from pyproj.enums import WktVersion

from xstac_access.testing.replica import _geozarr_aux
from xstac_access.testing.replica._geozarr_nodes import (
    Compressor,
    Node,
    array,
    coordinate,
    group,
    scalar,
)
from xstac_access.testing.replica._geozarr_product import BANDS, REFLECTANCE, Tile

_FULL = 10980  # pixels per side at 10 m
_YX = ("y", "x")


@dataclass(frozen=True)
class Level:
    """A multiscales level: its parent, the factor from it, bands and full-size chunking."""

    name: str
    parent: str | None
    factor: int
    bands: tuple[str, ...]
    inner: int  # inner chunk side
    shard: int | None = None  # shard side (None: the whole level in one shard)
    overview: bool = False  # computed by the converter: float64 x/y, uncompressed spatial_ref


LEVELS = (
    Level("r10m", None, 1, tuple(b.name for b in BANDS if b.native == 10), 244),
    Level("r20m", "r10m", 2, tuple(b for b in REFLECTANCE if b != "b09"), 183),
    Level("r60m", "r10m", 6, REFLECTANCE, 183),
    Level("r120m", "r60m", 2, REFLECTANCE, 183, overview=True),
    Level("r360m", "r120m", 3, REFLECTANCE, 256, shard=256, overview=True),
    Level("r720m", "r360m", 2, REFLECTANCE, 152, overview=True),
)
NATIVE = tuple(level.name for level in LEVELS if not level.overview)

_REPO = "https://github.com/{}/blob/v1/README.md"
_SCHEMA = "https://raw.githubusercontent.com/{}/refs/tags/v1/schema.json"
#: name -> (uuid, repository, description), as registered by the zarr-conventions organisation
_CONVENTIONS = {
    "multiscales": (
        "d35379db-88df-4056-af3a-620245f8e347",
        "zarr-conventions/multiscales",
        "Multiscale layout of zarr datasets",
    ),
    "spatial:": (
        "689b58e2-cf7b-45e0-9fff-9cfc0883d6b4",
        "zarr-conventions/spatial",
        "Spatial coordinate information",
    ),
    "proj:": (
        "f17cb550-5864-4468-aeb7-f3180cfb622f",
        "zarr-experimental/geo-proj",
        "Coordinate reference system information for geospatial data",
    ),
}
_QUALITY_FLAGS = (
    "ANC_LOST",
    "ANC_DEG",
    "MSI_LOST",
    "MSI_DEG",
    "QT_DEFECTIVE_PIXELS",
    "QT_NODATA_PIXELS",
    "QT_PARTIALLY_CORRECTED_PIXELS",
    "QT_SATURATED_PIXELS_L1A",
)
_L1C_FLAGS = ("OPAQUE", "CIRRUS", "SNOW_ICE")
_GROUND = "provided in the final reference frame (ground geometry)"


def scaled_size(full: int, divisor: int) -> int:
    """A y/x side of ``full`` pixels in a replica ``divisor`` times smaller (small sides stay)."""
    return max(1, round(full / divisor)) if full > 100 else full


def full_sizes() -> dict[str, int]:
    """Pixels per side of every level at full size (each level divides its parent's size)."""
    sizes: dict[str, int] = {}
    for level in LEVELS:
        sizes[level.name] = _FULL if level.parent is None else sizes[level.parent] // level.factor
    return sizes


def resolution(level: str) -> int:
    """The nominal resolution (m) a level or resolution group is named after (``r20m``: 20)."""
    return int(level[1:-1])


def native_bands(level: str) -> tuple[str, ...]:
    """The bands whose native resolution is this level's (masks and footprints, b10 included)."""
    return tuple(b.name for b in BANDS if b.native == resolution(level))


def conventions(*names: str) -> list[dict[str, str]]:
    """The ``zarr_conventions`` declarations of these conventions."""
    return [
        {
            "description": description,
            "name": name,
            "schema_url": _SCHEMA.format(repo),
            "spec_url": _REPO.format(repo),
            "uuid": uuid,
        }
        for name in names
        for uuid, repo, description in [_CONVENTIONS[name]]
    ]


class _Grid:
    """The tile at one replica size: pixel counts, CRS attributes and per-resolution groups."""

    def __init__(self, tile: Tile, divisor: int) -> None:
        self.tile, self.divisor = tile, divisor
        crs = pyproj.CRS.from_epsg(tile.epsg)
        self.wkt = crs.to_wkt(WktVersion.WKT1_GDAL)  # what GDAL, rasterio and rioxarray write
        self.cf = {**crs.to_cf(), "crs_wkt": self.wkt, "spatial_ref": self.wkt}

    def size(self, full: int) -> int:
        return scaled_size(full, self.divisor)

    def proj(self, n: int) -> dict[str, Any]:
        """Array attributes of an n x n raster (STAC projection names, WKT1 under ``wkt2``)."""
        return {
            "proj:bbox": self.tile.bbox,
            "proj:epsg": self.tile.epsg,
            "proj:shape": [n, n],
            "proj:transform": self.tile.transform(n),
            "proj:wkt2": self.wkt,
        }

    def spatial(self, n: int | None) -> dict[str, Any]:
        """Group attributes of the ``spatial:`` and ``proj:`` conventions (shape if a grid)."""
        attrs: dict[str, Any] = {
            "proj:code": f"EPSG:{self.tile.epsg}",
            "spatial:bbox": self.tile.bbox,
            "spatial:dimensions": list(_YX),
            "spatial:registration": "pixel",
            "zarr_conventions": conventions("spatial:", "proj:"),
        }
        if n is not None:
            attrs |= {"grid_mapping": "spatial_ref", "spatial:shape": [n, n]}
        return attrs

    def raster(self, dtype: str, n: int, attrs: dict[str, Any], **kw: Any) -> Node:
        return array(dtype, (n, n), _YX, {**attrs, **self.proj(n)}, **kw)

    def geo_group(
        self, n: int, arrays: dict[str, Node], xy: str = "int64", ref: Compressor = "zstd"
    ) -> Node:
        """A georeferenced resolution group: arrays, ``spatial_ref``, ``x``/``y``."""
        members = {
            **arrays,
            "spatial_ref": scalar("int64", self.cf, compressor=ref),
            "x": coordinate("x", n, xy),
            "y": coordinate("y", n, xy),
        }
        return group(members, self.spatial(n))

    def plain_group(self, n: int, arrays: dict[str, Node]) -> Node:
        """A resolution group of ``conditions/mask``: arrays and ``x``/``y``, no conventions."""
        return group({**arrays, "x": coordinate("x", n), "y": coordinate("y", n)})


def _reflectance(grid: _Grid, sizes: dict[str, int]) -> Node:
    """The multiscales group: a sharded float32 group per level, and the layout."""
    nm = {b.name: b.nm for b in BANDS}
    levels, layout = {}, []
    for level in LEVELS:
        full = sizes[level.name]
        n = grid.size(full)
        inner = math.ceil(level.inner * n / full)
        shard = math.ceil((level.shard or full) / level.inner) * inner
        bands = {
            band: grid.raster(
                "float32",
                n,
                {
                    "grid_mapping": "spatial_ref",
                    "long_name": f"BOA reflectance from MSI acquisition at spectral band {band} "
                    f"{nm[band]} nm",
                    "units": "1",
                },
                chunks=(shard, shard),
                inner=(inner, inner),
            )
            for band in level.bands
        }
        if level.overview:
            levels[level.name] = grid.geo_group(n, bands, xy="float64", ref="none")
        else:
            levels[level.name] = grid.geo_group(n, bands)
        entry: dict[str, Any] = {"asset": level.name, "spatial:shape": [n, n]}
        if level.parent is not None:
            scale = grid.size(sizes[level.parent]) / n
            transform = {"scale": [scale, scale], "translation": [0.0, 0.0]}
            entry |= {"derived_from": level.parent, "transform": transform}
        layout.append(entry)
    attrs = grid.spatial(None)
    attrs["multiscales"] = {"layout": layout, "resampling_method": "average"}
    attrs["zarr_conventions"] = conventions("multiscales", "spatial:", "proj:")
    return group(levels, attrs)


def _quality(grid: _Grid, sizes: dict[str, int]) -> Node:
    """AOT/WVP, per-band quality masks and the cloud/snow probabilities."""
    mapped = {"grid_mapping": "spatial_ref"}
    mask = {
        "dtype": "<u1",
        "flag_masks": [1 << i for i in range(len(_QUALITY_FLAGS))],
        "flag_meanings": list(_QUALITY_FLAGS),
        "long_name": f"quality mask {_GROUND}",
        **mapped,
    }
    probability = {"coordinates": "band", **mapped}
    n = {r: grid.size(sizes[r]) for r in NATIVE}
    atmosphere = {
        r: grid.geo_group(n[r], {v: grid.raster("uint16", n[r], mapped) for v in ("aot", "wvp")})
        for r in NATIVE
    }
    masks = {
        r: grid.geo_group(n[r], {b: grid.raster("uint8", n[r], mask) for b in native_bands(r)})
        for r in NATIVE
    }
    r20m = {v: grid.raster("uint8", n["r20m"], probability) for v in ("cld", "snw")}
    r20m["band"] = scalar("int64")
    return group(
        {
            "atmosphere": group(atmosphere),
            "mask": group(masks),
            "probability": group({"r20m": grid.geo_group(n["r20m"], r20m)}),
        }
    )


def _condition_masks(grid: _Grid, sizes: dict[str, int]) -> Node:
    """Detector footprints per band, the L1C cloud mask and the L2A scene classification."""
    n = {r: grid.size(sizes[r]) for r in NATIVE}
    footprint = {
        "dtype": "<u1",
        "long_name": f"detector footprint mask {_GROUND}. 0 = no detector, 1-12 = detector 1-12",
    }
    l1c = {
        "dtype": "<u1",
        "flag_masks": [1 << i for i in range(len(_L1C_FLAGS))],
        "flag_meanings": list(_L1C_FLAGS),
        "long_name": f"cloud classification mask {_GROUND}",
    }
    footprints = {
        r: grid.plain_group(
            n[r], {b: grid.raster("uint8", n[r], footprint) for b in native_bands(r)}
        )
        for r in NATIVE
    }
    scl = {r: grid.plain_group(n[r], {"scl": grid.raster("uint8", n[r], {})}) for r in NATIVE[1:]}
    b00 = {"r60m": grid.plain_group(n["r60m"], {"b00": grid.raster("uint8", n["r60m"], l1c)})}
    return group(
        {
            "detector_footprint": group(footprints),
            "l1c_classification": group(b00),
            "l2a_classification": group(scl),
        }
    )


def hierarchy(tile: Tile, divisor: int = 1) -> Node:
    """The product's whole tree at ``1/divisor`` of its size (1: the real shapes and chunks)."""
    grid = _Grid(tile, divisor)
    sizes = full_sizes()
    conditions = {
        "geometry": _geozarr_aux.geometry(),
        "mask": _condition_masks(grid, sizes),
        "meteorology": _geozarr_aux.meteorology(tile),
    }
    return group(
        {
            "conditions": group(conditions),
            "measurements": group({"reflectance": _reflectance(grid, sizes)}),
            "quality": _quality(grid, sizes),
        }
    )
