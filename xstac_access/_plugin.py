"""The xarray backend entry point ``stacasset``: thin, with light imports.

xarray imports every installed engine the first time anything is opened, so this module imports
nothing heavy; the work happens in :mod:`xstac_access._engine`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from xarray.backends import BackendEntrypoint

from ._item_collections import claims

if TYPE_CHECKING:
    import xarray as xr


class StacAssetBackendEntrypoint(BackendEntrypoint):
    """Open STAC Items, Assets, item dicts, item URLs and asset hrefs with xarray.

    Use ``xr.open_dataset(item, engine="stacasset", asset="red")`` or ``xr.open_datatree(item,
    engine="stacasset")``. Parameters beyond xarray's own: ``asset`` (key in the item),
    ``reader`` (force a reader), ``storage_options`` (fsspec/s3fs options, e.g. an S3 endpoint),
    ``credentials`` (a ``credentials.Broker`` or a dict like ``credentials.configure`` takes,
    for this call), ``overview_level`` (GDAL overview index for COGs), ``group`` (a group of a
    Zarr or netCDF asset), ``member`` (a file inside a zip asset, glob allowed),
    ``georeference``/``kml`` (pictures: georeference from the item's KML quad, or this one).
    xarray's decoder arguments (``decode_times``, ``decode_coords``, ``use_cftime``,
    ``decode_timedelta``, ``mask_and_scale``, ``concat_characters``, ``decode_cf``) keep their
    meanings for Zarr and netCDF assets; ``mask_and_scale`` also applies to GeoTIFFs.
    An ItemCollection, a list of items or a search result is loaded into one lazy cube (see
    :func:`xstac_access.load`) with ``bands``, ``resolution``, ``crs`` and ``bbox``.
    """

    description = "Open STAC items and assets (COG/GeoTIFF, ...) lazily, format chosen for you"
    url = "https://github.com/xstac-access/xstac-access"
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
        mask_and_scale: bool | None = None,
        decode_times: Any = None,
        decode_timedelta: Any = None,
        decode_coords: Any = None,
        use_cftime: bool | None = None,
        concat_characters: bool | None = None,
        asset: str | None = None,
        reader: str | None = None,
        storage_options: dict[str, Any] | None = None,
        overview_level: int | None = None,
        credentials: Any = None,
        group: str | None = None,
        member: str | None = None,
        georeference: bool | None = None,
        kml: str | None = None,
        bands: str | list[str] | None = None,
        resolution: float | None = None,
        crs: str | None = None,
        bbox: list[float] | None = None,
        sidecars: bool | None = None,
    ) -> xr.Dataset:
        from ._engine import open_dataset

        given: dict[str, Any] = {  # the reader options given, each checked by its reader
            k: v
            for k, v in (
                ("group", group),
                ("member", member),
                ("georeference", georeference),
                ("kml", kml),
                ("bands", bands),
                ("resolution", resolution),
                ("crs", crs),
                ("bbox", bbox),
                ("sidecars", sidecars),
            )
            if v is not None
        }
        return open_dataset(
            _plain(filename_or_obj),
            asset=asset,
            reader=reader,
            storage_options=storage_options,
            credentials=credentials,
            overview_level=overview_level,
            mask_and_scale=mask_and_scale,
            drop_variables=drop_variables,
            decode_times=decode_times,
            decode_timedelta=decode_timedelta,
            decode_coords=decode_coords,
            use_cftime=use_cftime,
            concat_characters=concat_characters,
            **given,
        )

    def open_datatree(
        self,
        filename_or_obj: Any,
        *,
        asset: str | None = None,
        reader: str | None = None,
        storage_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> xr.DataTree:
        from ._engine import open_datatree

        return open_datatree(
            _plain(filename_or_obj),
            asset=asset,
            reader=reader,
            storage_options=storage_options,
            **kwargs,
        )


def _plain(obj: Any) -> Any:
    return os.fspath(obj) if isinstance(obj, os.PathLike) else obj
