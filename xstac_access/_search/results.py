"""What a search returns: the documents found, the count, the strategy used and the notes.

:class:`SearchResult` (items, from :func:`~xstac_access.search`) and
:class:`CollectionSearchResult` (collections, from :func:`~xstac_access.collection_search`):
as pystac objects, as a table (:mod:`.table`) or as a GeoJSON file.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import pystac

from .. import _html
from .._hrefs import host_of
from .display import collection_rows, item_rows
from .plan import Strategy
from .table import collections_frame, items_frame


class _Result:
    """What both searches return: the documents, the count, the strategy and the notes."""

    _key = ""

    def __init__(
        self,
        catalog_url: str,
        documents: list[dict[str, Any]],
        matched: int | None,
        strategy: Strategy,
        notes: list[str],
    ) -> None:
        self.catalog_url = catalog_url
        self.strategy = strategy
        #: What was done differently from the plain request, in sentences, oldest first.
        self.notes = notes
        self._documents = documents
        self._matched = matched

    def matched(self) -> int | None:
        """How many match in the whole catalogue: the server's count (``numberMatched``) when
        it evaluated everything; the exact count when the search was evaluated here to the end;
        else ``None`` (unknown)."""
        return self._matched

    def __len__(self) -> int:
        return len(self._documents)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {len(self)} {self._key} from {host_of(self.catalog_url)}, "
            f"matched={self._matched}, strategy={self.strategy}>"
        )

    def _repr_html_(self) -> str:
        """A table of the first documents for Jupyter, with the count and the notes."""
        header, rows = self._rows()
        matched = "unknown" if self._matched is None else self._matched
        title = (
            f"{type(self).__name__}: {len(self)} {self._key} from {host_of(self.catalog_url)} "
            f"(matched: {matched})"
        )
        return _html.table(title, header, rows, len(self), self.notes)

    def _rows(self) -> tuple[list[str], Iterator[list[Any]]]:
        raise NotImplementedError


class SearchResult(_Result):
    """Items found by :func:`search`."""

    _key = "items"

    @cached_property
    def items(self) -> pystac.ItemCollection:
        """The items as a ``pystac.ItemCollection`` (built once)."""
        return pystac.ItemCollection([pystac.Item.from_dict(d) for d in self._documents])

    def _rows(self) -> tuple[list[str], Iterator[list[Any]]]:
        return item_rows(self._documents)

    def item_collection(self) -> pystac.ItemCollection:
        """The items as a ``pystac.ItemCollection`` (as pystac-client's method of that name)."""
        return self.items

    def __iter__(self) -> Iterator[pystac.Item]:
        return iter(self.items)

    def to_dataframe(self) -> Any:
        """One row per item: ``id``, ``collection``, one column per property (nested objects as
        dotted names, ``proj:centroid.lat``; lists kept as lists; timestamps as UTC
        datetimes), one ``asset:<key>`` column per asset with its href, and the footprint. A
        ``geopandas.GeoDataFrame`` (EPSG:4326) when geopandas is installed, else a pandas
        ``DataFrame`` whose ``geometry`` column holds the GeoJSON dicts."""
        return items_frame(self._documents)

    def to_geojson(self, path: str | os.PathLike[str]) -> Path:
        """Write the items as a GeoJSON FeatureCollection at ``path`` and return it. Written to
        a temporary file next to it, then renamed: a reader never sees half a file."""
        path = Path(path)
        text = json.dumps({"type": "FeatureCollection", "features": self._documents})
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            with open(tmp, "x", encoding="utf-8") as fh:  # mode from the umask, as any file
                fh.write(text)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return path


class CollectionSearchResult(_Result):
    """Collections found by :func:`collection_search`."""

    _key = "collections"

    @property
    def collections(self) -> list[pystac.Collection]:
        return [pystac.Collection.from_dict(d) for d in self._documents]

    def __iter__(self) -> Iterator[pystac.Collection]:
        return iter(self.collections)

    def _rows(self) -> tuple[list[str], Iterator[list[Any]]]:
        return collection_rows(self._documents)

    def to_dataframe(self) -> Any:
        """One row per collection, every field but ``links`` flattened to dotted names
        (``extent.temporal.interval``), as ``pandas.json_normalize`` does (seed 000)."""
        return collections_frame(self._documents)
