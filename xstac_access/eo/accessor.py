"""The ``.eo`` accessor on Dataset, DataArray and DataTree.

Registered when ``xstac_access`` is imported (and when xarray loads the ``stacasset`` engine).
Methods are thin: each forwards to the module of its concern, imported on first use so that
registering the accessor costs nothing but xarray itself; a method whose optional extra is not
installed raises :class:`~xstac_access.errors.MissingExtraError` saying what to install.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import xarray as xr

from .._extras import needs

if TYPE_CHECKING:
    import folium
    from matplotlib.axes import Axes
    from odc.geo.geobox import GeoBox
    from odc.geo.geom import Geometry
    from shapely.geometry.base import BaseGeometry

    from .geocode import Method as GeocodeMethod
    from .grid import Method as GridMethod
    from .grid import SwathLookup
    from .quicklook import Db, Kind, Quicklook


class _EoAccessor:
    """Shared by the Dataset, DataArray and DataTree accessors."""

    def __init__(self, obj: Any) -> None:
        self._obj = obj

    @property
    def stac(self) -> dict[str, Any]:
        """The STAC item this object was opened from, whole, as a fresh dict (``{}`` if none;
        see :mod:`xstac_access.eo.stac`). ``pystac.Item.from_dict(ds.eo.stac)`` makes it an Item.
        """
        from .stac import stac

        return stac(self._obj)

    @overload
    def footprint(self, *, as_odc: Literal[False] = False) -> BaseGeometry: ...
    @overload
    def footprint(self, *, as_odc: Literal[True]) -> Geometry: ...
    @needs("eo", ".eo.footprint()")
    def footprint(self, *, as_odc: bool = False) -> BaseGeometry | Geometry:
        """The footprint as a shapely geometry in lon/lat: the geometry of the item the data were
        opened from, else what the data hold (KML corners, the swath's edge, the grid's bounds,
        the GCPs), split at the antimeridian when it crosses it. ``as_odc=True``: the same as an
        odc-geo ``Geometry`` carrying its CRS (EPSG:4326), ready for odc-geo and odc-stac."""
        from .footprint import footprint

        shape = footprint(self._obj)
        if not as_odc:
            return shape
        from ._odcgeo import geometry

        return geometry(shape)

    @needs("eo", ".eo.explore()")
    @needs("explore", ".eo.explore()")
    def explore(
        self, m: folium.Map | None = None, quicklook: bool = True, **folium_kwargs: Any
    ) -> folium.Map:
        """A folium map with the footprint and, when cheap, the quicklook under it (see
        :func:`xstac_access.eo.footprint.explore`)."""
        from .footprint import explore

        return explore(self._obj, m, quicklook, **folium_kwargs)

    @needs("eo", ".eo.quicklook()")
    def quicklook(
        self,
        kind: Kind = "auto",
        bands: str | Sequence[str] | None = None,
        max_size: int = 1024,
        stretch: tuple[float, float] = (2, 98),
        per_band: bool = False,
        db: Db = None,
        cmap: str | None = None,
        ax: Axes | Sequence[Axes] | None = None,
        path: str | Path | None = None,
    ) -> Quicklook:
        """A sensible picture, read from the smallest sufficient overview: RGB with a percentile
        stretch, SAR in dB with polarisations side by side, swaths on their lat/lon; saved as
        PNG at ``path`` (see :func:`xstac_access.eo.quicklook.quicklook`)."""
        from .quicklook import quicklook

        return quicklook(
            self._obj, kind, bands, max_size, stretch, per_band, db, cmap, ax=ax, path=path
        )


class _RasterAccessor(_EoAccessor):
    """Dataset and DataArray: gridding and geocoding need the arrays themselves."""

    @needs("eo", ".eo.grid()")
    def grid(
        self,
        resolution: float | Sequence[float] | None = None,
        crs: Any = None,
        bbox: Sequence[float] | None = None,
        method: GridMethod = "linear",
        max_distance: float | None = None,
        lookup: SwathLookup | None = None,
        *,
        chunks: int | tuple[int, int] | None = None,
        geobox: GeoBox | None = None,
        like: xr.Dataset | xr.DataArray | None = None,
    ) -> Any:
        """Swath data with 2-D latitude/longitude onto a regular grid with 1-D x/y and a CRS,
        given by resolution/crs/bbox or whole as an odc-geo ``geobox`` or the grid of ``like``
        (see :func:`xstac_access.eo.grid.grid`)."""
        from .grid import grid

        return grid(self._obj, resolution, crs, bbox, method, max_distance, lookup,
                    chunks=chunks, geobox=geobox, like=like)  # fmt: skip

    @needs("eo", ".eo.geocode()")
    def geocode(
        self,
        gcps: Any = None,
        method: GeocodeMethod = "spline",
        *,
        gcp_crs: Any = None,
        dims: tuple[str, str] | None = None,
        chunks: Any = None,
    ) -> Any:
        """Lazy full-resolution 2-D latitude/longitude from the GCPs (GeoTIFF, EOPF
        ``conditions/gcp`` or a KML quad; see :func:`xstac_access.eo.geocode.geocode`)."""
        from .geocode import geocode

        return geocode(self._obj, gcps, method, gcp_crs=gcp_crs, dims=dims, chunks=chunks)


def _register() -> None:
    with warnings.catch_warnings():
        # Another package owning ".eo" gets a warning from xarray and keeps working.
        warnings.simplefilter("default", xr.core.extensions.AccessorRegistrationWarning)
        xr.register_dataset_accessor("eo")(_RasterAccessor)
        xr.register_dataarray_accessor("eo")(_RasterAccessor)
        xr.register_datatree_accessor("eo")(_EoAccessor)


_register()
