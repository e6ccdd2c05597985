"""The sun and viewing angles of a Sentinel-2 tile, from the grids of its ``MTD_TL.xml``.

The tile metadata gives the sun's zenith and azimuth, and per band and detector the viewing
incidence zenith and azimuth, on a grid of points ``COL_STEP``/``ROW_STEP`` metres apart (5 km)
from the tile's upper-left corner: 23 x 23 points for a 109.8 km tile, ``NaN`` where a detector
does not see the tile. They become the variables of ``conditions/geometry`` as the EOPF product
names them: ``sun_angles`` (angle, y, x), ``viewing_incidence_angles`` (band, detector, angle,
y, x) and the tile means ``mean_sun_angles`` and ``mean_viewing_incidence_angles``; ``x``/``y``
are the UTM coordinates of the grid points.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._xmlmeta import local_name
from ._s2bands import BAND_IDS

ANGLES = ("zenith", "azimuth")


def _children(element: Any, name: str) -> list[Any]:
    return [c for c in element if isinstance(c.tag, str) and local_name(c.tag) == name]


def _find(element: Any, name: str) -> Any:
    return next((e for e in element.iter() if local_name(e.tag) == name), None)


def _grid(element: Any) -> tuple[np.ndarray, float, float]:
    """One ``Zenith``/``Azimuth`` grid: values (NaN as written), column and row steps."""
    (values,) = _children(element, "Values_List")
    rows = [[float(v) for v in (row.text or "").split()] for row in _children(values, "VALUES")]
    col = float(_find(element, "COL_STEP").text)
    row = float(_find(element, "ROW_STEP").text)
    return np.array(rows, dtype=np.float64), col, row


def _pair(element: Any) -> tuple[np.ndarray, float, float]:
    """Zenith and azimuth of one grid element, stacked on a first ``angle`` axis."""
    zenith, col, row = _grid(_children(element, "Zenith")[0])
    azimuth = _grid(_children(element, "Azimuth")[0])[0]
    return np.stack([zenith, azimuth]), col, row


def _mean(element: Any) -> list[float]:
    return [float(_find(element, f"{a.upper()}_ANGLE").text) for a in ANGLES]


def geometry(tile: Any, ulx: float, uly: float, epsg: int) -> xr.Dataset:
    """``conditions/geometry`` of the tile metadata's root element ``tile``."""
    angles = _find(tile, "Tile_Angles")
    if angles is None:
        return xr.Dataset()
    sun, col, row = _pair(_find(angles, "Sun_Angles_Grid"))
    ny, nx = sun.shape[1:]
    coords: dict[str, Any] = {
        "angle": ("angle", list(ANGLES)),
        "x": ("x", ulx + col * np.arange(nx), {"units": "m", "axis": "X"}),
        "y": ("y", uly - row * np.arange(ny), {"units": "m", "axis": "Y"}),
    }
    data: dict[str, Any] = {
        "sun_angles": (("angle", "y", "x"), sun, {"units": "deg", "long_name": "sun angles"}),
    }
    grids = _children(angles, "Viewing_Incidence_Angles_Grids")
    bands = sorted({int(g.get("bandId")) for g in grids})
    detectors = sorted({int(g.get("detectorId")) for g in grids})
    if grids:
        view = np.full((len(bands), len(detectors), 2, ny, nx), np.nan)
        for g in grids:
            b, d = bands.index(int(g.get("bandId"))), detectors.index(int(g.get("detectorId")))
            view[b, d] = _pair(g)[0]
        coords["band"] = ("band", [BAND_IDS[b] for b in bands])
        coords["detector"] = ("detector", detectors)
        data["viewing_incidence_angles"] = (
            ("band", "detector", "angle", "y", "x"), view,
            {"units": "deg", "long_name": "viewing incidence angles"},
        )  # fmt: skip
    mean_sun = _find(angles, "Mean_Sun_Angle")
    if mean_sun is not None:
        data["mean_sun_angles"] = ("angle", _mean(mean_sun), {"units": "deg"})
    means = {
        int(m.get("bandId")): _mean(m) for m in angles.iter()
        if local_name(m.tag) == "Mean_Viewing_Incidence_Angle"
    }  # fmt: skip
    if means and bands and set(bands) <= set(means):
        values = [means[b] for b in bands]
        data["mean_viewing_incidence_angles"] = (("band", "angle"), values, {"units": "deg"})
    import rioxarray  # noqa: F401  (registers the .rio accessor)

    return xr.Dataset(data, coords=coords).rio.write_crs(f"EPSG:{epsg}")
