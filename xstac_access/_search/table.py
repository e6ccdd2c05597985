"""Search results as tables: one row per item (or collection), one column per field.

Item rows: ``id``, ``collection``, every property, nested objects flattened to dotted names
(``proj:centroid.lat``) and lists kept as they are, then one ``asset:<key>`` column per asset
holding its href, then the footprint. Timestamp columns (``datetime``, ``*_datetime``,
``created``, ``updated``, ``published``) become UTC datetimes when every value parses. With
geopandas installed the table is a ``GeoDataFrame`` in EPSG:4326; without it a pandas
``DataFrame`` whose ``geometry`` column holds the GeoJSON dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

_TIMESTAMPS = ("datetime", "created", "updated", "published")


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted names: ``{"a": {"b": 1}}`` → ``{"a.b": 1}``; lists untouched."""
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def items_frame(items: list[dict[str, Any]]) -> Any:
    """The table of STAC item dicts described in the module docstring."""
    rows = []
    for item in items:
        row = {"id": item.get("id"), "collection": item.get("collection")}
        row.update(flatten(item.get("properties") or {}))
        for key, asset in (item.get("assets") or {}).items():
            row[f"asset:{key}"] = asset.get("href") if isinstance(asset, Mapping) else None
        rows.append(row)
    frame = _with_timestamps(pd.DataFrame(rows, columns=_columns(rows, ["id", "collection"])))
    geometries = [item.get("geometry") for item in items]
    try:
        import geopandas
        from shapely.geometry import shape
    except ImportError:
        frame["geometry"] = geometries
        return frame
    shapes = [shape(g) if g else None for g in geometries]
    return geopandas.GeoDataFrame(frame, geometry=shapes, crs="EPSG:4326")


def collections_frame(collections: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per collection dict, everything but ``links`` flattened to dotted names."""
    rows = [flatten({k: v for k, v in c.items() if k != "links"}) for c in collections]
    return _with_timestamps(pd.DataFrame(rows, columns=_columns(rows, ["id", "title"])))


def _columns(rows: list[dict[str, Any]], first: list[str]) -> list[str]:
    """Column order: ``first``, then every other name in order of first appearance."""
    seen = dict.fromkeys(first)
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def _with_timestamps(frame: pd.DataFrame) -> pd.DataFrame:
    for name in frame.columns:
        if name in _TIMESTAMPS or name.endswith("_datetime"):
            try:
                frame[name] = pd.to_datetime(frame[name], utc=True, format="ISO8601")
            except (ValueError, TypeError):
                continue  # not all timestamps: leave the column as the catalogue wrote it
    return frame
