"""The bridge to odc-geo: a GeoBox as the target of swath gridding, its coordinates on the
result, and the footprint as an odc-geo ``Geometry``.

A swath gridded onto a GeoBox has to stack with the cube odc-stac loads for the same GeoBox:
``xr.align(..., join="exact")`` compares coordinates bit for bit, and ``xr.merge`` compares the
``spatial_ref`` coordinate too. So the result takes its coordinates from odc-geo itself
(``odc.geo.xr.xr_coords``: ``y``/``x`` in a projected CRS, ``latitude``/``longitude`` in a
geographic one, and odc-geo's ``spatial_ref``) rather than recomputing them from the transform;
gridded ``like=`` an object, it takes that object's own coordinates (which, written by rioxarray
or by this package's default grid, can differ from odc-geo's in the last bits and in names).

odc-geo is an optional dependency: it is imported inside the functions that need it.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

import pyproj
import xarray as xr
from affine import Affine

from ..errors import GridError

if TYPE_CHECKING:
    from odc.geo.geobox import GeoBox
    from odc.geo.geom import Geometry
    from shapely.geometry.base import BaseGeometry


def target_grid(geobox: GeoBox) -> tuple[pyproj.CRS, Affine, tuple[int, int]]:
    """The CRS, transform and (ny, nx) shape a GeoBox asks for, refused where the gridding
    kernels cannot follow it (no CRS, rotation or shear, axes running west or north)."""
    from odc.geo.geobox import GeoBox

    if not isinstance(geobox, GeoBox):
        raise GridError(
            f"geobox must be an odc.geo.geobox.GeoBox, got {type(geobox).__name__}; for the grid "
            "of a Dataset or DataArray pass like=that_object"
        )
    if geobox.crs is None:
        raise GridError("the GeoBox has no CRS: build it with one, e.g. GeoBox(..., crs=...)")
    t = geobox.transform
    if not geobox.axis_aligned:
        raise GridError(
            f"the GeoBox is rotated or sheared (transform {tuple(t)[:6]}): swaths grid onto "
            "north-up grids only; use an axis-aligned GeoBox (odc-geo can reproject the result)"
        )
    if not (t.a > 0 and t.e < 0):
        raise GridError(
            f"the GeoBox's x must grow eastwards and y fall southwards (transform a > 0, e < 0), "
            f"got a={t.a}, e={t.e}: flip it (GeoBox.flipx()/flipy()) and flip the result back"
        )
    ny, nx = geobox.shape
    return geobox.crs.proj, Affine(t.a, 0.0, t.c, 0.0, t.e, t.f), (int(ny), int(nx))


def geobox_of(like: Any) -> GeoBox:
    """The GeoBox of a Dataset or DataArray on a regular grid (odc-stac's, rioxarray's...)."""
    import odc.geo.xr  # noqa: F401  (registers the .odc accessor)
    from odc.geo.geobox import GeoBox

    if not isinstance(like, xr.Dataset | xr.DataArray):
        raise GridError(
            f"like must be an xarray Dataset or DataArray on a regular grid, got "
            f"{type(like).__name__}; for an odc-geo GeoBox pass geobox="
        )
    geobox = like.odc.geobox
    if not isinstance(geobox, GeoBox):
        raise GridError(
            "like= has no regular grid odc-geo can read: it needs 1-D y/x (or latitude/"
            "longitude) coordinates and a CRS (a spatial_ref coordinate, as odc-stac and "
            "rioxarray write it); GCP-located data must be gridded first"
        )
    return geobox


def onto(
    out: xr.Dataset | xr.DataArray, geobox: GeoBox, like: xr.Dataset | xr.DataArray | None = None
) -> xr.Dataset | xr.DataArray:
    """``out`` (gridded on ``y``/``x`` cells of ``geobox``) with the coordinates of that grid:
    ``like``'s own when it is given (its dimension names, coordinate values and CRS coordinate,
    so that the result aligns with it whoever wrote it), else odc-geo's; every gridded variable
    points at the CRS coordinate (``grid_mapping``)."""
    from odc.geo.xr import xr_coords

    if like is None:
        dims, crs = geobox.dimensions, None
    else:
        dims, crs = like.odc.spatial_dims, like.odc.crs_coord
    coords: dict[Hashable, xr.DataArray | xr.Variable] = dict(
        xr_coords(geobox, "spatial_ref" if crs is None else None, dims=dims)
    )
    if like is not None:
        coords.update({d: like.coords[d].variable for d in dims if d in like.coords})
    if crs is not None:
        coords[crs.name] = crs.variable
    mapping = "spatial_ref" if crs is None else str(crs.name)
    out = out.rename({k: v for k, v in zip(("y", "x"), dims, strict=True) if k != v})
    out = out.assign_coords(coords)
    arrays = [out] if isinstance(out, xr.DataArray) else list(out.data_vars.values())
    for array in arrays:
        if set(dims) <= set(array.dims):
            array.encoding["grid_mapping"] = mapping
    return out


def geometry(shape: BaseGeometry) -> Geometry:
    """A WGS 84 longitude/latitude shapely geometry as an odc-geo Geometry carrying its CRS."""
    from odc.geo.geom import Geometry

    return Geometry(shape, crs="EPSG:4326")
