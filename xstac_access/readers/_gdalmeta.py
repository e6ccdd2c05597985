"""What a GDAL raster's header says, and where it lands on the Dataset: georeferencing (CRS and
affine, GCPs, RPCs), nodata that fits the data, colour tables, and band roles (alpha, masks).

Georeferencing goes where rioxarray users look: a CRS and the affine transform (rotation and
shear included, with or without a CRS) in the ``spatial_ref`` coordinate's ``crs_wkt`` /
``GeoTransform``, so ``ds.rio.crs`` and ``ds.rio.transform()`` equal rasterio's; GCPs as
rioxarray's GeoJSON in its ``gcps`` attribute (``ds.rio.get_gcps()``); RPCs as GDAL gives them
(its ``RPC`` metadata domain: ``LINE_OFF``, ``SAMP_NUM_COEFF``... as strings), JSON in the
``rpcs`` attribute, which :meth:`rasterio.rpc.RPC.from_gdal` reads back (and
``ds.rio.reproject(..., rpcs=...)`` takes). An RPC file also keeps the CRS its RPCs are in.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import xarray as xr

#: The coordinate holding the georeferencing, where rioxarray looks for it.
GRID_MAPPING = "spatial_ref"
_NUMPY_DTYPES = {"complex_int16": "complex64"}
#: STAC's ``raster:bands`` allow these strings for non-finite nodata.
_NODATA_WORDS = {"nan": math.nan, "inf": math.inf, "+inf": math.inf, "-inf": -math.inf}


class NodataWarning(UserWarning):
    """A declared nodata value cannot occur in the band's data type, so nothing is masked."""


def read_header(ds: Any) -> dict[str, Any]:
    """Everything the readers use of an open rasterio dataset (no pixel is read)."""
    gcps, gcp_crs = ds.gcps
    flags = [[f.name for f in band] for band in ds.mask_flag_enums]
    colormaps = {}
    for index, interp in enumerate(ds.colorinterp):
        if interp.name == "palette":
            with contextlib.suppress(ValueError):  # a palette band without a table
                colormaps[index] = ds.colormap(index + 1)
    return {
        "count": ds.count,
        "shape": (ds.height, ds.width),
        "dtypes": [np.dtype(_NUMPY_DTYPES.get(d, d)) for d in ds.dtypes],
        "rasterio_dtypes": list(ds.dtypes),
        "block": ds.block_shapes[0],
        "nodata": ds.nodatavals,
        "scales": ds.scales,
        "offsets": ds.offsets,
        "descriptions": ds.descriptions,
        "units": ds.units,
        "crs": ds.crs,
        "transform": ds.transform,
        "gcps": list(gcps),
        "gcp_crs": gcp_crs,
        "rpcs": dict(ds.tags(ns="RPC") or {}),
        "overviews": ds.overviews(1),
        "colorinterp": [c.name for c in ds.colorinterp],
        "colormaps": colormaps,
        "mask_flags": flags,
        "pixel_interleaved": ds.count > 1 and getattr(ds.interleaving, "name", "") == "pixel",
    }


def has_dataset_mask(meta: Mapping[str, Any]) -> bool:
    """Whether the bands share a per-dataset mask (an internal mask, or a ``.msk`` sidecar)
    that is not an alpha band's: it becomes the boolean ``mask`` variable."""
    flags = meta["mask_flags"]
    return bool(flags) and all("per_dataset" in f and "alpha" not in f for f in flags)


def fill_value(nodata: Any, dtype: np.dtype, label: str, origin: str) -> Any:
    """``nodata`` as a value of ``dtype``, or ``None`` (with a :class:`NodataWarning`) when it
    cannot occur there: -1 on uint8, 0.5 or NaN on integers. GDAL masks nothing then, nor
    does this (rioxarray raises ``OverflowError``). ``origin`` says who declared it."""
    if nodata is None:
        return None
    if isinstance(nodata, str):
        nodata = _NODATA_WORDS.get(nodata.strip().lower(), nodata)
    try:
        value = float(nodata)
    except (TypeError, ValueError):
        value = None
    fits = value is not None
    if value is not None and dtype.kind in "iu":
        info = np.iinfo(dtype)
        fits = math.isfinite(value) and value.is_integer() and info.min <= value <= info.max
    elif value is not None and dtype.kind == "f" and math.isfinite(value):
        fits = abs(value) <= float(np.finfo(dtype).max)
    elif dtype.kind not in "fc":
        fits = False
    if not fits:
        warnings.warn(
            f"{label}: nodata {nodata!r} ({origin}) cannot occur in its {dtype.name} data, so "
            "no value is masked; fix the catalogue's raster:bands nodata, or mask by hand",
            NodataWarning,
            stacklevel=4,
        )
        return None
    assert value is not None
    return dtype.type(value) if dtype.kind in "iu" else value


def colormap_attr(table: Mapping[int, tuple[int, ...]]) -> str:
    """A colour table as JSON ``{"index": [r, g, b, a], ...}`` (netCDF-safe, like ``gcps``)."""
    return json.dumps({str(k): list(v) for k, v in sorted(table.items())})


def xy_coords(meta: Mapping[str, Any]) -> dict[str, Any]:
    """1-D x/y pixel-centre coordinates for north-up rasters; none for GCP, RPC-only,
    rotated or ungeoreferenced ones (``ds.rio.transform()`` still gives the affine)."""
    t = meta["transform"]
    if meta["gcps"] or t.is_identity or t.b != 0 or t.d != 0:
        return {}
    height, width = meta["shape"]
    return {
        "x": ("x", t.c + t.a * (np.arange(width) + 0.5), {"axis": "X"}),
        "y": ("y", t.f + t.e * (np.arange(height) + 0.5), {"axis": "Y"}),
    }


def georeferenced(variables: dict[str, xr.Variable], meta: Mapping[str, Any]) -> xr.Dataset:
    """A Dataset of ``variables`` (on the raster's y/x) with the header's CRS, affine, GCPs and
    RPCs (see the module docstring), as rioxarray's ``write_crs``/``write_transform``/
    ``write_gcps`` write them. The ``spatial_ref`` coordinate goes in with the others: added
    after, it cost a merge, and rioxarray's writers a copy of the Dataset each (benchmark B11)."""
    coords = xy_coords(meta)
    gcps = meta["gcps"]
    mapped = not gcps and (meta["crs"] is not None or not meta["transform"].is_identity)
    if mapped or gcps:
        crs = meta["gcp_crs"] if gcps else meta["crs"]
        attrs = {} if crs is None else dict(_crs_attrs(crs.to_wkt()))
        if gcps:  # as rioxarray's write_gcps: a GeoJSON FeatureCollection in "gcps"
            attrs["gcps"] = json.dumps(_gcps_geojson(gcps))
        else:
            attrs["GeoTransform"] = " ".join(str(v) for v in meta["transform"].to_gdal())
        coords[GRID_MAPPING] = xr.Variable((), 0, attrs)
        for variable in variables.values():
            if {"y", "x"} <= set(variable.dims):
                variable.encoding["grid_mapping"] = GRID_MAPPING
    ds = xr.Dataset(variables, coords=coords)
    if mapped or gcps:
        ds.encoding["grid_mapping"] = GRID_MAPPING
    if meta["rpcs"]:
        if GRID_MAPPING not in ds.coords:
            ds = ds.assign_coords({GRID_MAPPING: xr.Variable((), 0)})
        ds[GRID_MAPPING].attrs["rpcs"] = json.dumps(meta["rpcs"], sort_keys=True)
    return ds


def _gcps_geojson(gcps: Sequence[Any]) -> dict[str, Any]:
    """GCPs as the GeoJSON FeatureCollection rioxarray's ``get_gcps`` reads back. Written here,
    not by ``write_gcps``, whose per-variable grid-mapping lookups grow with the square of the
    band count (a damaged header claiming thousands of bands took minutes)."""
    features = [
        {
            "type": "Feature",
            "properties": {"id": g.id, "info": g.info, "row": g.row, "col": g.col},
            "geometry": {
                "type": "Point",
                "coordinates": [g.x, g.y] if g.z is None else [g.x, g.y, g.z],
            },
        }
        for g in gcps
    ]
    return {"type": "FeatureCollection", "features": features}


@functools.lru_cache(maxsize=32)
def _crs_attrs(wkt: str) -> Mapping[str, Any]:
    """The attributes rioxarray's ``write_crs`` gives the grid-mapping coordinate for a CRS
    (its CF translation included), worked out once per CRS: pyproj's translation was a third
    of what opening a small COG cost in Python (benchmark B11), and many files share a CRS."""
    import rioxarray  # noqa: F401  (registers the .rio accessor)
    from rasterio.crs import CRS

    written = xr.Dataset().rio.write_crs(CRS.from_wkt(wkt), grid_mapping_name=GRID_MAPPING)
    return MappingProxyType(dict(written[GRID_MAPPING].attrs))
