"""``.eo.stac``: the STAC item the data were opened from, read from the one attribute that
carries it (``attrs["stac_item"]``, see :mod:`xstac_access._item_attr`).

Where it is looked for: the object's own attributes; for a DataTree node, then its tree's root;
for a Dataset, then its data variables (a DataTree group taken out with ``to_dataset()`` has it
there), which must agree. An EOPF product opened without an item still describes itself: its
root's ``stac_discovery`` attribute is the product's own item, used when no item travels with
the data. Nothing is rebuilt from the readable flat attributes (``platform``, ``datetime``...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import xarray as xr

from .._item_attr import ATTR, loads

#: The attribute in which an EOPF Zarr product embeds its own STAC item.
EMBEDDED = "stac_discovery"


def stac(obj: xr.Dataset | xr.DataArray | xr.DataTree) -> dict[str, Any]:
    """The item ``obj`` came from, as a fresh dict (the item carried with the data, else an EOPF
    product's embedded one); ``{}`` when there is none. ``pystac.Item.from_dict`` takes it."""
    item = carried(obj)
    if item is None:
        item = loads(_root(obj).attrs.get(EMBEDDED))
    return item or {}


def carried(obj: xr.Dataset | xr.DataArray | xr.DataTree) -> dict[str, Any] | None:
    """The item carried with ``obj`` (see the module docstring), or ``None``.

    Raises ValueError when the variables of a Dataset come from different items.
    """
    for attrs in (obj.attrs, _root(obj).attrs):
        if ATTR in attrs:
            return loads(attrs[ATTR])
    variables = obj.data_vars.values() if isinstance(obj, xr.Dataset | xr.DataTree) else ()
    texts = {v.attrs[ATTR] for v in variables if isinstance(v.attrs.get(ATTR), str)}
    if len(texts) > 1:
        ids = sorted(str((loads(t) or {}).get("id")) for t in texts)
        raise ValueError(
            f"the variables of this Dataset come from {len(texts)} different STAC items "
            f"({', '.join(ids)}): ask one of them, e.g. ds[name].eo.stac"
        )
    return loads(texts.pop()) if texts else None


def geometry(obj: xr.Dataset | xr.DataArray | xr.DataTree) -> Mapping[str, Any] | None:
    """The GeoJSON geometry of the item carried with ``obj``, ``None`` without one (no item, or
    an item whose geometry is ``null``)."""
    found = (carried(obj) or {}).get("geometry")
    return found if isinstance(found, Mapping) else None


def embedded_geometry(obj: xr.Dataset | xr.DataArray | xr.DataTree) -> Mapping[str, Any] | None:
    """The geometry of an EOPF product's own ``stac_discovery`` item, if ``obj`` has one."""
    found = (loads(_root(obj).attrs.get(EMBEDDED)) or {}).get("geometry")
    return found if isinstance(found, Mapping) else None


def _root(obj: Any) -> Any:
    return obj.root if isinstance(obj, xr.DataTree) else obj
