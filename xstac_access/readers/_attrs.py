"""What everything the engine opens carries of where it came from.

:func:`stamp` puts the owning item, whole, in ``attrs["stac_item"]`` of the Dataset (of the
root group, "/", of a dict of groups) and of every data variable (of every group): the one
place ``.eo`` and users read the item from (see :mod:`xstac_access._item_attr` for the format
and why there). Beside it, for people reading a repr, a few flat attributes: ``stac_item_id``,
``stac_collection``, the item's scalar properties (``platform``, ``datetime``...) copied from
that item, and what was opened (``stac_asset``, ``stac_href``, ``stac_media_type``), which the
item alone does not say.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import xarray as xr

from .._hrefs import safe_href
from .._item_attr import ATTR, dumps
from .._resolve import Target

Opened = TypeVar("Opened", xr.Dataset, dict[str, xr.Dataset])


def stamp(obj: Opened, target: Target) -> Opened:
    """``obj`` (a Dataset, or groups keyed by path: changed in place) with the item of
    ``target`` and the flat attributes.

    The data's own attributes win over the flat ones of the same name (a file's ``title`` is
    not replaced by the item's); ``stac_item`` is always the item ``target`` came from.
    """
    groups = obj.values() if isinstance(obj, dict) else [obj]
    root = obj["/"] if isinstance(obj, dict) else obj
    root.attrs = {**_flat(target), **root.attrs}
    if target.item is None:
        return obj
    text = dumps(target.item)
    root.attrs[ATTR] = text
    for ds in groups:
        for name in ds.data_vars:
            ds.variables[name].attrs[ATTR] = text
    return obj


def _flat(target: Target) -> dict[str, Any]:
    """The flat attributes for ``target``: ids, the asset, and the item's scalar properties.

    Only values netCDF can store are kept (strings, numbers, lists of them; booleans as 0/1);
    nested properties are in ``stac_item`` only. The href is shown without its query string.
    """
    item = target.item or {}
    attrs: dict[str, Any] = {}
    for name, value in (
        ("stac_item_id", item.get("id")),
        ("stac_collection", item.get("collection")),
        ("stac_asset", target.key),
        ("stac_href", safe_href(target.href)),
        ("stac_media_type", target.media_type),
    ):
        if value:
            attrs[name] = value
    properties = item.get("properties")
    for key, value in properties.items() if isinstance(properties, Mapping) else ():
        if isinstance(value, bool):
            attrs[key] = int(value)
        elif isinstance(value, str | int | float):
            attrs[key] = value
        elif (
            isinstance(value, list)
            and value
            and all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in value)
        ):
            attrs[key] = list(value)
    return attrs
