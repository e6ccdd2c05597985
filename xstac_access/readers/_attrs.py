"""Attributes every reader puts on what it opens: where it came from, and the item's properties."""

from __future__ import annotations

from typing import Any

from .._hrefs import safe_href
from ..resolve import Target


def stac_attrs(target: Target) -> dict[str, Any]:
    """Dataset attributes from the owning item: ids, the asset, and its flat properties.

    Only values netCDF can store are kept (strings, numbers, lists of them; booleans as 0/1);
    nested properties stay in the item. The href is shown without its query string.
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
    for key, value in (item.get("properties") or {}).items():
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
