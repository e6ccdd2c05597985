"""The ``.eo`` accessor on Dataset, DataArray and DataTree.

Registered when ``xstac_access`` is imported (and when xarray loads the ``stacasset`` engine).
Methods are thin: each forwards to the module of its concern, imported on first use so that
registering the accessor costs nothing but xarray itself.
"""

from __future__ import annotations

import warnings
from typing import Any

import xarray as xr


class _EoAccessor:
    """Shared by the Dataset, DataArray and DataTree accessors."""

    def __init__(self, obj: Any) -> None:
        self._obj = obj

    @property
    def stac(self) -> dict[str, Any]:
        """The STAC metadata of the item this object was opened from (``{}`` if none)."""
        from .footprint import stac_of

        return stac_of(self._obj)

    def footprint(self) -> Any:
        """The footprint as a shapely geometry (split at the antimeridian when it crosses it)."""
        from .footprint import footprint

        return footprint(self._obj)

    def explore(self, **kwargs: Any) -> Any:
        """A folium map with the footprint and, when cheap, the quicklook on it."""
        from .footprint import explore

        return explore(self._obj, **kwargs)

    def quicklook(self, **kwargs: Any) -> Any:
        """A sensible picture (RGB stretch, SAR in dB, polarisations side by side)."""
        from .quicklook import quicklook

        return quicklook(self._obj, **kwargs)


class _RasterAccessor(_EoAccessor):
    """Dataset and DataArray: gridding and geocoding need the arrays themselves."""

    def grid(self, **kwargs: Any) -> Any:
        """Swath data with 2-D latitude/longitude onto a regular grid (see ``eo.grid.grid``)."""
        from .grid import grid

        return grid(self._obj, **kwargs)

    def geocode(self, **kwargs: Any) -> Any:
        """Full-resolution 2-D latitude/longitude from GCPs (see ``eo.geocode.geocode``)."""
        from .geocode import geocode

        return geocode(self._obj, **kwargs)


def _register() -> None:
    with warnings.catch_warnings():
        # Another package owning ".eo" gets a warning from xarray and keeps working.
        warnings.simplefilter("default", xr.core.extensions.AccessorRegistrationWarning)
        xr.register_dataset_accessor("eo")(_RasterAccessor)
        xr.register_dataarray_accessor("eo")(_RasterAccessor)
        xr.register_datatree_accessor("eo")(_EoAccessor)


_register()
