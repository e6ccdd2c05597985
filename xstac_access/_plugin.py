"""The xarray backend entry point ``stacasset``: thin, with light imports.

xarray imports every installed engine the first time anything is opened, so this module imports
nothing heavy; the work happens in :mod:`xstac_access._engine`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, metadata
from typing import TYPE_CHECKING, Any

from xarray.backends import BackendEntrypoint

from ._item_collections import claims

if TYPE_CHECKING:
    import xarray as xr

#: Where the engine is documented when the package's metadata cannot say (a source checkout).
DOCS_URL = "https://github.com/xstac-access/xstac-access/tree/main/docs"


def documentation_url() -> str:
    """The ``Documentation`` URL of ``[project.urls]``, as installed: one place says it."""
    try:
        entries = metadata("xstac-access").get_all("Project-URL") or []
    except PackageNotFoundError:
        return DOCS_URL
    for entry in entries:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "documentation":
            return url.strip()
    return DOCS_URL


class StacAssetBackendEntrypoint(BackendEntrypoint):
    """Open STAC Items, Assets, item dicts, item URLs and asset hrefs with xarray.

    Use ``xr.open_dataset(item, engine="stacasset", asset="red")``, ``xr.open_datatree(item,
    engine="stacasset")`` or ``xr.open_groups`` (the tree's groups as a dict, also when they do
    not nest). Parameters beyond xarray's own: ``asset`` (key in the item),
    ``reader`` (force a reader), ``storage_options`` (fsspec/s3fs options, e.g. an S3 endpoint),
    ``credentials`` (a ``credentials.Broker`` or a dict like ``credentials.configure`` takes,
    for this call), ``overview_level`` (GDAL overview index for COGs), ``group`` (a group of a
    Zarr or netCDF asset), ``member`` (a file inside a zip asset, glob allowed),
    ``georeference``/``kml`` (pictures: georeference from the item's KML quad, or this one),
    ``sidecars`` (GDAL rasters' sidecar files), ``phony_dims`` (HDF5 without dimension scales),
    ``calibration``/``noise``/``db`` (Sentinel-1 SAFE products: sigma0, beta0 or gamma0 from the
    product's LUTs, thermal noise removed, in dB);
    for a whole item as a tree, ``assets`` and ``include_previews``. Any other keyword, or one
    the asset's reader does not take, is a ``TypeError`` listing those accepted.
    xarray's decoder arguments (``decode_times``, ``decode_coords``, ``use_cftime``,
    ``decode_timedelta``, ``mask_and_scale``, ``concat_characters``, ``decode_cf``) keep their
    meanings for Zarr and netCDF assets; ``mask_and_scale`` also applies to GeoTIFFs.
    An ItemCollection, a list of items or a search result is loaded into one lazy cube (see
    :func:`xstac_access.load`) with ``bands``, ``resolution``, ``crs`` and ``bbox``.
    """

    description = "Open STAC items and assets (COG/GeoTIFF, ...) lazily, format chosen for you"
    url = documentation_url()
    open_dataset_parameters = (
        "filename_or_obj",
        "drop_variables",
        "mask_and_scale",
        "decode_times",
        "decode_timedelta",
        "decode_coords",
        "use_cftime",
        "concat_characters",
        "asset",
        "reader",
        "storage_options",
        "credentials",
        "overview_level",
        "group",
        "member",
        "georeference",
        "kml",
        "bands",
        "resolution",
        "crs",
        "bbox",
        "sidecars",
        "phony_dims",
        "calibration",
        "noise",
        "db",
    )
    supports_groups = True

    def guess_can_open(self, filename_or_obj: Any) -> bool:
        """True for pystac Items, Assets, ItemCollections, search results and STAC dicts, never
        for plain paths (see :func:`xstac_access._item_collections.claims`)."""
        return claims(filename_or_obj)

    def open_dataset(
        self,
        filename_or_obj: Any,
        *,
        drop_variables: str | Iterable[str] | None = None,
        **kwargs: Any,
    ) -> xr.Dataset:
        """xarray's ``open_dataset``: :func:`xstac_access._engine.open_dataset`, which checks
        the keywords (a TypeError lists those of :attr:`open_dataset_parameters`)."""
        from ._engine import open_dataset

        return open_dataset(_plain(filename_or_obj), drop_variables=drop_variables, **kwargs)

    def open_datatree(
        self,
        filename_or_obj: Any,
        *,
        drop_variables: str | Iterable[str] | None = None,
        **kwargs: Any,
    ) -> xr.DataTree:
        """xarray's ``open_datatree``: the tree of :meth:`open_groups_as_dict`'s groups."""
        from ._engine import open_datatree

        return open_datatree(_plain(filename_or_obj), drop_variables=drop_variables, **kwargs)

    def open_groups_as_dict(
        self,
        filename_or_obj: Any,
        *,
        drop_variables: str | Iterable[str] | None = None,
        **kwargs: Any,
    ) -> dict[str, xr.Dataset]:
        """xarray's ``open_groups``: each group's path ("/", "/a"...) to its Dataset, also when
        the groups do not nest as a tree (:func:`xstac_access._engine.open_groups`)."""
        from ._engine import open_groups

        return open_groups(_plain(filename_or_obj), drop_variables=drop_variables, **kwargs)


def _plain(obj: Any) -> Any:
    return os.fspath(obj) if isinstance(obj, os.PathLike) else obj
