"""Longitudes that cross the antimeridian, and where an xarray object keeps its own.

The one place that makes longitudes continuous (:func:`unwrap`) and brings them back into
[-180, 180] (:func:`wrap`): the KML reader (rings of a footprint, a ``LatLonBox`` across 180°),
the picture reader (a quad's corners before bilinear interpolation), ``.eo.geocode`` (GCPs before
fitting, the fitted surface after), ``.eo.footprint`` (rings of a swath, a grid, GCPs) and the
quicklook's drawing and map overlay (2-D pixel longitudes) all use these two, so a scene across
the antimeridian is treated the same way everywhere. Readers and ``eo`` both import this module;
it imports nothing of the library.

The rule of :func:`unwrap` is the one a path needs: walking the values in order, no step is
longer than 180°. It holds for rings and for scenes narrower than 180° (then every value lies
within 180° of the first one, whatever the order), and also for a ring near a pole that spans
more than 180° of longitude without enclosing the pole (a rule taking values about the first
one, or moving the negative ones up, tears such a ring apart). A ring around a pole comes back
with its end a whole turn from its start: such a footprint has no polygon in longitude/latitude.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import xarray as xr

_LONGITUDE = ("longitude", "lon")
_LATITUDE = ("latitude", "lat")


def unwrap(lon: Any) -> np.ndarray:
    """Longitudes made continuous in their order (C order for arrays of more than one dimension):
    each moves by whole turns to lie within 180° of the finite one before it (a step of exactly
    180° is kept). The first finite value, and every value that needs no move, come back exactly
    as given; NaN and infinities stay where they are and are skipped by the walk.
    """
    values = np.array(lon, dtype="float64")
    flat = values.reshape(-1)
    finite = np.isfinite(flat)
    walked = flat[finite]
    if walked.size > 1:
        turns = np.concatenate([[0.0], np.cumsum(np.round(np.diff(walked) / 360.0))])
        moved = turns != 0.0
        walked[moved] -= 360.0 * turns[moved]  # one rounding, as when the value was written
        flat[finite] = walked
    return values


def wrap(lon: Any) -> np.ndarray:
    """Longitudes brought back into [-180, 180]: values already there come back untouched, others
    land in [-180, 180) (a float64 array, of the input's shape)."""
    values = np.asarray(lon, dtype="float64")
    out = np.abs(values) > 180.0
    if not out.any():  # the common case costs no modulo (geocoding wraps every block)
        return values
    values = values.copy()
    values[out] = (values[out] + 180.0) % 360.0 - 180.0
    return values


def lonlat_coords(obj: xr.Dataset | xr.DataArray) -> tuple[xr.DataArray, xr.DataArray] | None:
    """The 2-D longitude and latitude coordinates of ``obj`` (on the same two dims), or None.

    Found by ``standard_name`` or by the names ``longitude``/``lon`` and ``latitude``/``lat``.
    """
    lon = _coord(obj, "longitude", _LONGITUDE)
    lat = _coord(obj, "latitude", _LATITUDE)
    if lon is None or lat is None or lon.ndim != 2 or lon.dims != lat.dims:
        return None
    return lon, lat


def _coord(obj: Any, standard_name: str, names: tuple[str, ...]) -> xr.DataArray | None:
    for coord in obj.coords.values():
        if coord.attrs.get("standard_name") == standard_name:
            return coord
    return next((obj.coords[n] for n in names if n in obj.coords), None)
