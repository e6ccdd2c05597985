"""Ground control points for :mod:`xstac_access.eo.geocode`: found on the object (GeoTIFF GCPs
in ``spatial_ref``, EOPF ``conditions/gcp`` arrays, a KML quad the image reader attached) or
given, validated, and taken to WGS 84 longitude/latitude.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from ..errors import GeocodeError, NoGcpsError
from ..readers.kml import IMAGE_FRACTIONS


@dataclass(frozen=True)
class Gcps:
    """GCPs ready to fit: image position in GDAL's convention, WGS 84 longitude/latitude.

    ``quad`` marks the four corners of a KML quad, for which bilinear is meant, not a fallback.
    """

    line: np.ndarray
    pixel: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    source: str
    quad: bool = False


def read_gcps(
    obj: xr.Dataset | xr.DataArray, gcps: Any, shape: tuple[int, int], *, gcp_crs: Any = None
) -> Gcps:
    """The GCPs of ``obj`` (or those given) for an image of ``shape``; see the module docstring."""
    if gcps is None:
        return own_gcps(obj, shape, gcp_crs)
    if isinstance(gcps, xr.DataTree):
        gcps = gcp_group(gcps)
    if isinstance(gcps, xr.Dataset):
        return from_dataset(gcps, shape)
    if isinstance(gcps, str | Mapping):
        return from_geojson(gcps, gcp_crs or "EPSG:4326", "gcps= GeoJSON")
    items = list(gcps) if isinstance(gcps, Sequence | np.ndarray) else []
    if items and all(hasattr(g, "row") and hasattr(g, "col") for g in items):
        row, col, x, y = np.array([(g.row, g.col, g.x, g.y) for g in items], float).T
        return make_gcps(row, col, x, y, gcp_crs or "EPSG:4326", "gcps= GroundControlPoints")
    if len(items) == 4 and all(np.shape(c) == (2,) for c in items):
        lon, lat = np.array(items, float).T
        return quad(lon, lat, IMAGE_FRACTIONS, shape, "gcps= four (lon, lat) corners")
    raise GeocodeError(
        f"gcps= got {type(gcps).__name__}: pass an EOPF conditions/gcp Dataset or DataTree node, a "
        "KML footprint Dataset, four (lon, lat) corners, rasterio GroundControlPoints or GeoJSON"
    )


def own_gcps(obj: xr.Dataset | xr.DataArray, shape: tuple[int, int], gcp_crs: Any) -> Gcps:
    for name, coord in obj.coords.items():
        if "gcps" in coord.attrs:
            crs = gcp_crs or coord.attrs.get("crs_wkt") or coord.attrs.get("spatial_ref")
            where = f"the 'gcps' attribute of coordinate {name!r}"
            return from_geojson(coord.attrs["gcps"], crs or "EPSG:4326", where)
    if "quad_longitude" in obj.attrs and "quad_latitude" in obj.attrs:
        lon, lat = (np.asarray(obj.attrs[f"quad_{k}"], float) for k in ("longitude", "latitude"))
        return quad(lon, lat, IMAGE_FRACTIONS, shape, "the quad_longitude/quad_latitude attrs")
    raise NoGcpsError(
        "no GCPs found: no coordinate has a 'gcps' attribute (where GeoTIFF GCPs land, usually "
        f"on 'spatial_ref'; coordinates here: {list(obj.coords)}) and there are no "
        "quad_longitude/quad_latitude attributes (a picture georeferenced from KML), nor RPCs "
        "(an 'rpcs' attribute). Pass "
        "gcps=: an EOPF conditions/gcp group, a KML footprint Dataset, four (lon, lat) corners "
        "or rasterio GroundControlPoints"
    )


def gcp_group(node: xr.DataTree) -> xr.Dataset:
    """The EOPF GCP group at ``node``, or below it (``gcp``, ``conditions/gcp``)."""
    conditions = node.get("conditions")
    below = conditions.get("gcp") if isinstance(conditions, xr.DataTree) else None
    for found in (node, node.get("gcp"), below):
        if isinstance(found, xr.DataTree) and "latitude" in found.variables:
            return found.to_dataset()
    raise NoGcpsError(
        f"gcps= DataTree node {node.path!r} holds no latitude/longitude, nor does a gcp or "
        "conditions/gcp group below it; pass the EOPF conditions/gcp node itself"
    )


def from_dataset(ds: xr.Dataset, shape: tuple[int, int]) -> Gcps:
    names = set(ds.variables)
    if "corner" in ds.dims and {"longitude", "latitude"} <= names:
        if "image_y" not in ds.coords or "image_x" not in ds.coords:
            raise GeocodeError(
                "gcps= is a KML Polygon footprint: its vertices do not say which picture corner "
                "they pin; a gx:LatLonQuad or LatLonBox footprint (or four corners) is needed"
            )
        fractions = zip(ds["image_y"].values, ds["image_x"].values, strict=True)
        lon, lat = ds["longitude"].values, ds["latitude"].values
        return quad(lon, lat, tuple(fractions), shape, "the KML footprint's corners")
    if {"latitude", "longitude", "line", "pixel"} <= names:
        arrays = xr.broadcast(*(ds[k] for k in ("line", "pixel", "longitude", "latitude")))
        line, pixel, lon, lat = (np.asarray(a.values, float).ravel() for a in arrays)
        # EOPF line/pixel are sample indices: element [line, pixel], GDAL (line+0.5, pixel+0.5)
        return make_gcps(
            line + 0.5, pixel + 0.5, lon, lat, "EPSG:4326", "gcps= (EOPF conditions/gcp)"
        )
    raise NoGcpsError(
        f"gcps= Dataset has {sorted(map(str, names))}: expected latitude, longitude, line and "
        "pixel (an EOPF conditions/gcp group) or a KML footprint (a 'corner' dimension)"
    )


def from_geojson(collection: str | Mapping[str, Any], crs: Any, where: str) -> Gcps:
    try:
        parsed = json.loads(collection) if isinstance(collection, str) else collection
        table = [
            (f["properties"]["row"], f["properties"]["col"], *f["geometry"]["coordinates"][:2])
            for f in parsed["features"]
        ]
        row, col, x, y = np.array(table, float).reshape(-1, 4).T
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise NoGcpsError(
            f"{where} is not a GeoJSON FeatureCollection of GCPs with row/col properties "
            f"({exc.__class__.__name__}: {exc})"
        ) from None
    return make_gcps(row, col, x, y, crs, where)


def quad(
    lon: np.ndarray,
    lat: np.ndarray,
    fractions: Sequence[tuple[float, float]],
    shape: tuple[int, int],
    where: str,
) -> Gcps:
    down, across = np.array(fractions, float).T
    return make_gcps(down * shape[0], across * shape[1], lon, lat, "EPSG:4326", where, quad=True)


def make_gcps(
    line: np.ndarray,
    pixel: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    crs: Any,
    where: str,
    quad: bool = False,
) -> Gcps:
    """Validated :class:`Gcps`: x/y in ``crs`` taken to WGS 84 lon/lat, non-finite ones dropped."""
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError

    try:
        crs = CRS.from_user_input(crs)
    except CRSError as exc:
        raise GeocodeError(
            f"the CRS of {where} is not one pyproj reads ({exc}); pass gcp_crs="
        ) from None
    if not crs.equals("EPSG:4326", ignore_axis_order=True):
        x, y = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
        where = f"{where}, from {crs.name}"
    line, pixel, lon, lat = (np.asarray(a, float).ravel() for a in (line, pixel, x, y))
    finite = np.isfinite(line) & np.isfinite(pixel) & np.isfinite(lon) & np.isfinite(lat)
    if finite.any() and np.abs(lat[finite]).max() > 90:
        raise GeocodeError(
            f"{where}: y values up to {np.abs(lat[finite]).max():.6g} are not latitudes, so the "
            f"GCPs are not in {crs.name}; pass gcp_crs= the CRS they are in"
        )
    return Gcps(line[finite], pixel[finite], lon[finite], lat[finite], where, quad)
