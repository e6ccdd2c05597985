"""Search results in a notebook: the rows of their HTML table (see :mod:`xstac_access._html`).

An item's row: ``id``, ``datetime`` (``start/end`` for a range), ``collection``, a few scalar
properties and the number of assets. Which properties: the first :data:`PROPERTY_COLUMNS` of
:data:`PROPERTIES` that any shown item carries as a scalar, so that a table of Sentinel-2 items
shows ``eo:cloud_cover`` and one of Sentinel-1 items ``sar:instrument_mode`` (fields every
mission names its own way, or that every item of a catalogue has, would crowd them out). A
collection's row: ``id``, ``title``, ``license`` and its first temporal interval. Asset hrefs
are not shown: the table answers "what did I find".
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import islice
from typing import Any

from .._html import MAX_ROWS

#: Property columns of the items' table at most.
PROPERTY_COLUMNS = 4
#: The candidates for them, in order: STAC common metadata and the common extensions' fields
#: people choose scenes by.
PROPERTIES = (
    "title", "platform", "eo:cloud_cover", "sar:instrument_mode", "sat:orbit_state",
    "sat:relative_orbit", "grid:code", "proj:code", "proj:epsg", "gsd",
)  # fmt: skip


def item_rows(documents: Sequence[dict[str, Any]]) -> tuple[list[str], Iterator[list[Any]]]:
    """The header and rows of the items' table (rows lazily, for the shown items only)."""
    shown = list(islice(documents, MAX_ROWS))
    names = _property_columns([d.get("properties") or {} for d in shown])
    header = ["id", "datetime", "collection", *names, "assets"]

    def rows() -> Iterator[list[Any]]:
        for doc in shown:
            props = doc.get("properties") or {}
            values = [props.get(name) if _scalar(props.get(name)) else None for name in names]
            yield [doc.get("id"), _when(props), doc.get("collection"), *values,
                   len(doc.get("assets") or {})]  # fmt: skip

    return header, rows()


def collection_rows(documents: Sequence[dict[str, Any]]) -> tuple[list[str], Iterator[list[Any]]]:
    """The header and rows of the collections' table."""

    def rows() -> Iterator[list[Any]]:
        for doc in islice(documents, MAX_ROWS):
            intervals = ((doc.get("extent") or {}).get("temporal") or {}).get("interval") or [[]]
            first = intervals[0] if intervals and isinstance(intervals[0], list) else []
            span = "/".join("..." if t is None else str(t) for t in first)
            yield [doc.get("id"), doc.get("title"), doc.get("license"), span]

    return ["id", "title", "license", "time"], rows()


def _property_columns(properties: list[dict[str, Any]]) -> list[str]:
    present = [n for n in PROPERTIES if any(_scalar(props.get(n)) for props in properties)]
    return present[:PROPERTY_COLUMNS]


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _when(props: dict[str, Any]) -> str | None:
    if props.get("datetime"):
        return str(props["datetime"])
    start, end = props.get("start_datetime"), props.get("end_datetime")
    return f"{start or '...'}/{end or '...'}" if start or end else None
