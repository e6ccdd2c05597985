"""What counts as one STAC item and what as many: the one place that decides.

The plugin (what xarray's engine guess may hand to ``stacasset``), the engine (one asset, or a
cube of many items), :func:`~xstac_access.load`, :func:`~xstac_access.download` and
:func:`~xstac_access._resolve.resolve` (which refuses many items) all ask here, so an input is
many items for all of them or for none.

Many items: a pystac ``ItemCollection``, a search result (anything with ``item_collection()``:
pystac-client's ``ItemSearch``, :class:`~xstac_access.SearchResult`), a GeoJSON
``FeatureCollection`` dict, or a non-empty list or tuple whose elements are all items. One item:
a pystac ``Item`` or an item dict (``type`` ``Feature`` with an ``assets`` mapping).

Imports nothing beyond the standard library (the plugin module uses it, and xarray imports every
engine's plugin on its first open): pystac is looked up only when it is already imported, as it
is whenever the object at hand is one of its classes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from typing import Any


def is_item(obj: Any) -> bool:
    """A pystac ``Item``, or a STAC item dict (``type`` ``Feature`` with an ``assets`` mapping)."""
    if isinstance(obj, Mapping):
        return obj.get("type") == "Feature" and isinstance(obj.get("assets"), Mapping)
    return _pystac(obj, "Item")


def is_collection(obj: Any) -> bool:
    """Many items, to be loaded as one cube rather than opened one asset at a time.

    Decided without reading anything: a search result is not run, a list is only looked at.
    """
    if _pystac(obj, "ItemCollection") or _is_search(obj) or _is_feature_collection(obj):
        return True
    return isinstance(obj, list | tuple) and bool(obj) and all(is_item(i) for i in obj)


def members(obj: Any) -> list[Any] | None:
    """The elements of ``obj`` when it holds several inputs, ``None`` when it is one input.

    Several: what :func:`is_collection` calls many items (a search result is run here), and any
    list, tuple or iterator (their elements may be items, assets or hrefs alike).
    """
    if _is_search(obj):
        obj = obj.item_collection()
    if _pystac(obj, "ItemCollection"):
        return list(obj)
    if _is_feature_collection(obj):
        features = obj.get("features")
        return list(features) if isinstance(features, list | tuple) else []
    if isinstance(obj, list | tuple | Iterator):
        return list(obj)
    return None


def claims(obj: Any) -> bool:
    """What the ``stacasset`` plugin says yes to when xarray guesses an engine: STAC objects it
    recognises by their type alone (items, assets, many items other than a plain list, STAC
    dicts); never a path or URL (other engines open those) and never a plain list."""
    if is_item(obj) or _pystac(obj, "Asset") or _pystac(obj, "ItemCollection") or _is_search(obj):
        return True
    return isinstance(obj, Mapping) and ("stac_version" in obj or _is_feature_collection(obj))


def _is_search(obj: Any) -> bool:
    return callable(getattr(obj, "item_collection", None)) and not isinstance(obj, Mapping)


def _is_feature_collection(obj: Any) -> bool:
    return isinstance(obj, Mapping) and obj.get("type") == "FeatureCollection"


def _pystac(obj: Any, name: str) -> bool:
    """``isinstance(obj, pystac.<name>)``, without importing pystac when nothing did yet."""
    pystac = sys.modules.get("pystac")
    kind = getattr(pystac, name, None) if pystac is not None else None
    return kind is not None and isinstance(obj, kind)
