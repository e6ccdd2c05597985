"""A Sentinel-2 L1C/L2A SAFE product as a DataTree laid out like the EOPF product.

Groups: ``measurements/reflectance/r10m|r20m|r60m`` (each band at its native resolution:
``b02``-``b04``, ``b08`` at 10 m; ``b05``-``b07``, ``b8a``, ``b11``, ``b12`` at 20 m; ``b01``,
``b09`` and, in L1C, ``b10`` at 60 m), for L2A ``quality/atmosphere/r10m`` (``aot``, ``wvp``),
``conditions/mask/l2a_classification/r20m`` (``scl``) and ``quality/probability/r20m``
(``cld``, ``snw`` from ``QI_DATA``), ``quality/l2a_quicklook/r10m|r20m|r60m`` (L1C:
``quality/l1c_quicklook/r10m``) with the TCI as ``tci`` (band, y, x), uint8, and
``conditions/geometry`` (:mod:`._s2angles`). The root's
attributes are the product metadata (``MTD_MSIL1C.xml``/``MTD_MSIL2A.xml``, flattened).

Opening reads the two metadata files and no image: the grid of each resolution (CRS, size,
upper-left corner and pixel size) comes from the tile metadata's ``Tile_Geocoding``, and each
image is a lazy variable GDAL reads by window through the JPEG 2000 driver when asked
(``encoding["raster_source"]``). An L2A product also holds each band, AOT, WVP and SCL resampled
to the coarser resolutions (``R20m/..._B02_20m.jp2``, ``R60m/..._B02_60m.jp2``): those copies
are the variable's overviews, ``encoding["overviews"]`` (the decimation factors, 2 and 6 for a
10 m band) and ``encoding["overview_sources"]`` (one file each), so that ``.eo.quicklook`` of
the tree reads the 60 m copies of B04, B03 and B02 rather than the 10 m images.

With ``mask_and_scale`` (the default) a reflectance is ``(DN + offset) / quantification``, as
float32, with 0 (no data) masked: ``quantification`` is ``BOA_QUANTIFICATION_VALUE`` (L2A) or
``QUANTIFICATION_VALUE`` (L1C), and ``offset`` the band's ``BOA_ADD_OFFSET`` /
``RADIO_ADD_OFFSET`` that products of processing baseline 04.00 and later carry (-1000), none
before; AOT and WVP are divided by their own quantification values. Without it the counts stay
integers and those numbers are attributes (``scale_factor``, ``add_offset``, ``nodata``).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import numpy as np
import xarray as xr
from xarray.core import indexing

from ... import errors
from .._gdal import RasterSource
from .._xmlmeta import flatten_xml, local_name, parse_xml
from ..geotiff import RasterBandArray
from . import _s2angles
from ._archive import SafeFiles
from ._s2bands import BAND_IDS, COMMON_NAMES, NATIVE, eopf_name

_IMAGE = re.compile(r"/IMG_DATA/(?:R\d+m/)?[^/]*_(B\d[\dA]|AOT|WVP|SCL)(?:_(\d+)m)?\.jp2$", re.I)
_TCI = re.compile(r"/IMG_DATA/(?:R\d+m/)?[^/]*_TCI(?:_(\d+)m)?\.jp2$", re.I)
_MASK = re.compile(r"/QI_DATA/MSK_(CLDPRB|SNWPRB)_(\d+)m\.jp2$", re.I)
_OTHERS = {  # stem -> (group without the resolution, variable, dtype, long name)
    "AOT": ("quality/atmosphere", "aot", "uint16", "aerosol optical thickness at 550 nm"),
    "WVP": ("quality/atmosphere", "wvp", "uint16", "water vapour column"),
    "SCL": ("conditions/mask/l2a_classification", "scl", "uint8", "scene classification"),
    "CLDPRB": ("quality/probability", "cld", "uint8", "cloud probability"),
    "SNWPRB": ("quality/probability", "snw", "uint8", "snow probability"),
}
#: The resolution (m) of each of those variables; a band's is its native one (``NATIVE``).
_HOME = {"aot": 10, "wvp": 10, "scl": 20, "cld": 20, "snw": 20}


@dataclass(frozen=True)
class Grid:
    """One resolution's grid, from ``Tile_Geocoding``."""

    rows: int
    cols: int
    ulx: float
    uly: float
    xdim: float
    ydim: float

    def coords(self) -> dict[str, Any]:
        return {
            "x": ("x", self.ulx + self.xdim * (np.arange(self.cols) + 0.5), {"axis": "X"}),
            "y": ("y", self.uly + self.ydim * (np.arange(self.rows) + 0.5), {"axis": "Y"}),
        }


def open_tree(files: SafeFiles, product: str, mask_and_scale: bool = True) -> xr.DataTree:
    """The tree of the product whose folder (``<NAME>.SAFE``) is ``product`` in ``files``."""
    names = files.names()
    level = "L1C" if "MSIL1C" in product.upper() else "L2A"
    mtd = _one(files, names, f"{product}/MTD_MSIL{level[1:]}.xml")
    tile = _one(files, names, f"{product}/GRANULE/*/MTD_TL.xml")
    msi = parse_xml(files.read(mtd), f"{mtd} of {files.where}")
    tl = parse_xml(files.read(tile), f"{tile} of {files.where}")
    epsg, grids = _geocoding(tl, f"{tile} of {files.where}")
    quantification, offsets = _radiometry(msi, level)
    granule = posixpath.dirname(tile)
    copies: dict[tuple[str, str], dict[int, str]] = {}  # (group, variable) -> {res: file}
    described: dict[str, dict[str, Any]] = {}
    for name in names:
        found = _classify(name, level) if name.startswith(granule + "/") else None
        if found is not None and found[2] in grids:
            group, var, res, described[var] = found
            copies.setdefault((group, var), {}).setdefault(res, name)
    groups: dict[str, dict[str, xr.Variable]] = {}
    encodings: dict[str, dict[str, dict[str, Any]]] = {}
    for (group, var), by_res in sorted(copies.items()):
        res = _HOME.get(var) or NATIVE[var]
        if res not in by_res:
            continue
        path, source = f"{group}/r{res}m", files.source(by_res[res])
        scale = _scaling(var, quantification, offsets)
        groups.setdefault(path, {})[var] = _variable(
            source, grids[res], described[var], scale, mask_and_scale
        )
        coarser = sorted(r for r in by_res if r > res)
        encodings.setdefault(path, {})[var] = {
            "raster_source": source, "raster_band": 1, "source": by_res[res],
            "overviews": [round(grids[res].cols / grids[r].cols) for r in coarser],
            "overview_sources": tuple(files.source(by_res[r]) for r in coarser),
        }  # fmt: skip
    if not groups:
        raise errors.FormatError(f"{files.where} holds no Sentinel-2 image under {granule}")
    nodes: dict[str, xr.Dataset] = {"/": xr.Dataset(attrs={"product": product, **flatten_xml(msi)})}
    for path in sorted(groups):
        res = int(path.rsplit("/r", 1)[1].removesuffix("m"))
        ds = _dataset(groups[path], grids[res], epsg, mask_and_scale)
        for var, encoding in encodings[path].items():
            ds[var].encoding.update(encoding)
        nodes[path] = ds
    for path, (name, res) in _quicklooks(names, granule, level, grids).items():
        nodes[path] = _tci(files, name, grids[res], epsg)
    geometry = _s2angles.geometry(tl, grids[min(grids)].ulx, grids[min(grids)].uly, epsg)
    if geometry.data_vars:
        nodes["conditions/geometry"] = geometry
    return xr.DataTree.from_dict(nodes)


def _one(files: SafeFiles, names: list[str], pattern: str) -> str:
    hits = [n for n in names if fnmatchcase(n, pattern)]
    if len(hits) != 1:
        raise errors.FormatError(
            f"{files.where} is not a usable Sentinel-2 SAFE: {len(hits)} files match "
            f"{pattern!r} where one was expected. Open its members with reader='zip', member=..."
        )
    return hits[0]


def _text(root: Any, name: str) -> str | None:
    element = next((e for e in root.iter() if local_name(e.tag) == name), None)
    return None if element is None or element.text is None else element.text.strip()


def _geocoding(tl: Any, what: str) -> tuple[int, dict[int, Grid]]:
    """The EPSG code and the grid of each resolution of the tile metadata."""
    code = _text(tl, "HORIZONTAL_CS_CODE") or ""
    sizes = {
        int(e.get("resolution")): (int(_text(e, "NROWS") or 0), int(_text(e, "NCOLS") or 0))
        for e in tl.iter() if local_name(e.tag) == "Size"
    }  # fmt: skip
    grids = {}
    for e in tl.iter():
        if local_name(e.tag) != "Geoposition":
            continue
        res = int(e.get("resolution"))
        values = [_text(e, k) for k in ("ULX", "ULY", "XDIM", "YDIM")]
        if res in sizes and None not in values:
            ulx, uly, xdim, ydim = (float(v) for v in values if v is not None)
            grids[res] = Grid(*sizes[res], ulx, uly, xdim, ydim)
    if not code.upper().startswith("EPSG:") or not grids:
        raise errors.FormatError(f"{what} has no Tile_Geocoding (EPSG code, Size, Geoposition)")
    return int(code.split(":")[1]), grids


def _radiometry(msi: Any, level: str) -> tuple[dict[str, float], dict[str, float]]:
    """Quantification values (``boa``/``toa``, ``aot``, ``wvp``) and per-band offsets."""
    quantification = {}
    for key, tag in (("reflectance", "BOA_QUANTIFICATION_VALUE" if level == "L2A" else
                      "QUANTIFICATION_VALUE"), ("aot", "AOT_QUANTIFICATION_VALUE"),
                     ("wvp", "WVP_QUANTIFICATION_VALUE")):  # fmt: skip
        value = _text(msi, tag)
        if value is not None:
            quantification[key] = float(value)
    tag = "BOA_ADD_OFFSET" if level == "L2A" else "RADIO_ADD_OFFSET"
    offsets = {
        BAND_IDS[int(e.get("band_id"))]: float(e.text)
        for e in msi.iter() if local_name(e.tag) == tag and e.text
    }  # fmt: skip
    return quantification, offsets


def _classify(name: str, level: str) -> tuple[str, str, int, dict[str, Any]] | None:
    """(group, variable, resolution of the file, attributes) of an image or mask file, or None.

    A band or AOT/WVP/SCL image is named once per resolution in L2A (``B02_10m``, ``B02_20m``,
    ``B02_60m``): each is returned; :func:`open_tree` keeps the one at the variable's own
    resolution and the coarser ones as its overviews."""
    image = _IMAGE.search(name)
    if image is not None:
        stem, res = image.group(1).upper(), image.group(2)
        if stem.startswith("B"):
            var = eopf_name(stem)
            kind = "BOA" if level == "L2A" else "TOA"
            attrs = {"long_name": f"{kind} reflectance", "common_name": COMMON_NAMES[var],
                     "dtype": "uint16", "nodata": True}  # fmt: skip
            return "measurements/reflectance", var, int(res or NATIVE[var]), attrs
    else:
        image = _MASK.search(name)
        if image is None:
            return None
        stem, res = image.group(1).upper(), image.group(2)
    group, var, dtype, long_name = _OTHERS[stem]
    attrs = {"long_name": long_name, "dtype": dtype, "nodata": stem in ("AOT", "WVP")}
    return group, var, int(res or _HOME[var]), attrs


def _quicklooks(
    names: list[str], granule: str, level: str, grids: dict[int, Grid]
) -> dict[str, tuple[str, int]]:
    """The group (``quality/l2a_quicklook/r10m``, EOPF's name) of each TCI file of the
    granule, with the file and its resolution: L2A has one per resolution, L1C one at 10 m."""
    found: dict[str, tuple[str, int]] = {}
    for name in names:
        tci = _TCI.search(name) if name.startswith(granule + "/") else None
        res = int(tci.group(1) or 10) if tci is not None else 0
        if res in grids:
            found.setdefault(f"quality/{level.lower()}_quicklook/r{res}m", (name, res))
    return found


def _tci(files: SafeFiles, name: str, grid: Grid, epsg: int) -> xr.Dataset:
    """A TCI file as the group of its resolution: ``tci`` (band, y, x), uint8 red, green, blue,
    read lazily by window (all three bands in one read)."""
    shape, dtype = (grid.rows, grid.cols), np.dtype("uint8")
    array = RasterBandArray(files.source(name), (1, 2, 3), shape, dtype)
    attrs = {"long_name": "true colour image (TCI), 0 where no data"}
    tci = xr.Variable(("band", "y", "x"), indexing.LazilyIndexedArray(array), attrs)
    ds = _dataset({"tci": tci}, grid, epsg, decode=False).assign_coords(band=[1, 2, 3])
    ds["tci"].encoding["source"] = name
    return ds


def _scaling(var: str, quantification: dict[str, float], offsets: dict[str, float]) -> tuple:
    """(scale, offset) of a variable's counts, or None when they are not scaled."""
    key = var if var in ("aot", "wvp") else ("reflectance" if var in NATIVE else None)
    if key is None or key not in quantification:
        return ()
    value = quantification[key]
    return 1 / value, offsets.get(var, 0.0) / value


def _variable(
    source: RasterSource, grid: Grid, attrs: dict[str, Any], scale: tuple, decode: bool
) -> xr.Variable:
    """A lazy image variable: counts read by window from ``source``, CF attributes."""
    attrs = dict(attrs)
    dtype = np.dtype(attrs.pop("dtype"))
    if attrs.pop("nodata", False):
        attrs["_FillValue" if decode else "nodata"] = dtype.type(0)
    if scale:
        attrs["scale_factor"] = np.float32(scale[0])
        if scale[1]:
            attrs["add_offset"] = np.float32(scale[1])
    array = RasterBandArray(source, 1, (grid.rows, grid.cols), dtype)
    return xr.Variable(("y", "x"), indexing.LazilyIndexedArray(array), attrs)


def _dataset(variables: dict[str, xr.Variable], grid: Grid, epsg: int, decode: bool) -> xr.Dataset:
    """One resolution's group: its variables on the grid, CRS and transform, decoded if asked."""
    import rioxarray  # noqa: F401  (registers the .rio accessor)
    from rasterio.transform import Affine

    ds = xr.Dataset(variables, coords=grid.coords())
    ds = ds.rio.write_crs(f"EPSG:{epsg}")
    ds = ds.rio.write_transform(Affine(grid.xdim, 0, grid.ulx, 0, grid.ydim, grid.uly))
    if decode:
        ds = xr.decode_cf(ds, mask_and_scale=True, decode_times=False, decode_coords=False)
    return ds
