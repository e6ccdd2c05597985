"""Search STAC catalogues the way real ones force users to: resiliently, and saying what was done.

This package implements :func:`xstac_access.search` and :func:`xstac_access.collection_search`
(import them from ``xstac_access``; :func:`search`'s docstring says where each part of a search
is evaluated). The two entry points are here; :mod:`.plan` decides where each part goes (pure
logic), :mod:`.run` runs that plan against a server, :mod:`.io` is pystac-client's HTTP layer
(the broker's credentials), and :mod:`.results` and :mod:`.table` are what a search returns.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pystac_client.collection_search import collection_matches
from pystac_client.item_search import ItemSearch

from .. import errors
from ..credentials import broker_from
from .io import open_io
from .plan import (
    LOCAL,
    SERVER,
    Strategy,
    collection_strategy,
    item_strategy,
    parse_filter,
    query_to_cql2,
    sort_keys,
    sort_locally,
)
from .results import CollectionSearchResult, SearchResult
from .run import (
    Api,
    Keep,
    both,
    checker,
    combined,
    first_page,
    gather,
    matcher,
    note,
    noted,
    page_size,
    wire_filter,
)

if TYPE_CHECKING:
    from ..credentials.broker import Broker

__all__ = ["CollectionSearchResult", "SearchResult", "Strategy", "collection_search", "search"]


def search(
    catalog_url: str,
    *,
    collections: str | Sequence[str] | None = None,
    bbox: Sequence[float] | str | None = None,
    intersects: Mapping[str, Any] | Any | None = None,
    datetime: Any = None,
    ids: str | Sequence[str] | None = None,
    query: Mapping[str, Any] | Sequence[str] | None = None,
    filter: str | Mapping[str, Any] | None = None,
    filter_lang: str | None = None,
    sortby: str | Sequence[str] | Sequence[Mapping[str, str]] | None = None,
    max_items: int | None = None,
    limit: int | None = None,
    local: bool | None = None,
    scan_limit: int | None = 10_000,
    credentials: Broker | Mapping[str, Any] | None = None,
) -> SearchResult:
    """Search the items of the STAC API at ``catalog_url``, working around what it lacks.

    The search goes through pystac-client with the broker's credentials for the catalogue host.
    It reads the API's conformance classes and sends each part of the search where it can be
    evaluated:

    - ``query`` (STAC Query extension) as such when declared; else, or when the server rejects
      it, translated into a CQL2 filter when the API filters; else evaluated here.
    - ``filter`` (CQL2 text or JSON, parsed and validated here before any request) as CQL2-JSON
      in a POST body, or as CQL2 text in a GET query string when that is what the API declares
      or when the server rejects the other form (stac-fastapi-pgstac refuses text in POST);
      evaluated here (with ``cql2``) when the API has no Filter extension or rejects both forms.
    - ``sortby`` by the server when declared and accepted, else here, after reading every match.
    - What a server filtered is checked here too, item by item: a catalogue that silently
      ignores a filter (NASA CMR's cloud cover) is caught, its extra items dropped and a note
      added.

    The result says what was done: ``result.strategy`` (a ``Strategy``) and ``result.notes``
    (sentences such as "the server rejected `query` (HTTP 400: ...); sent it as a CQL2-JSON
    filter"), each also logged at INFO on ``xstac_access.search``.

    ``collections``, ``bbox``, ``intersects`` (GeoJSON or a shapely geometry), ``datetime``,
    ``ids``, ``query``, ``sortby`` and ``limit`` (page size) take what pystac-client's
    ``Client.search`` takes. ``filter`` is CQL2 text (``"eo:cloud_cover < 10"``) or CQL2-JSON;
    ``filter_lang="cql2-json"`` marks a JSON *string*. ``local=None`` decides where each part
    is evaluated, as above; ``True`` evaluates ``query``/``filter``/``sortby`` here without
    sending them (for a catalogue known to mis-evaluate them), ``False`` never here (and
    raises instead).
    ``max_items`` caps the items returned. ``scan_limit`` caps how many items may be read to
    evaluate a search here (``None``: no cap). ``credentials``: a ``Broker`` or presets/rules
    as for :func:`xstac_access.credentials.broker_from` (default: the configured broker).

    Raises :class:`~xstac_access.errors.SearchError` (invalid CQL2 or ``query`` before any
    request; unreachable catalogue; a server error no fallback could work around) or
    :class:`~xstac_access.errors.AuthError` (401/403), naming the catalogue host.
    """
    io = open_io(broker_from(credentials))
    filter_expr = parse_filter(filter, filter_lang).to_json() if filter is not None else None
    given = _normalised(
        io, limit=limit, ids=ids, collections=collections, bbox=bbox, intersects=intersects,
        datetime=datetime, query=query, sortby=sortby,
    )  # fmt: skip
    query_dict, sortby_list = given.pop("query", None), given.pop("sortby", None)
    exprs = {"query": query_to_cql2(query_dict) if query_dict else None, "filter": filter_expr}
    api = Api.open(io, catalog_url)
    strategy, planned = item_strategy(
        api.caps, query=bool(query_dict), filter=filter is not None, sortby=bool(sortby_list),
        local=local,
    )  # fmt: skip
    url = api.search_url()
    notes = noted(planned, url)

    def parts(s: Strategy, *where: str) -> dict[str, Any] | None:
        return combined([exprs[p] for p in ("query", "filter") if getattr(s, p) in where])

    def pages(s: Strategy) -> Iterator[dict[str, Any]]:
        wire = given | {"limit": page_size(limit, max_items, bool(s.local_parts))}
        return ItemSearch(
            url, method=s.method, stac_io=io, **wire_filter(parts(s, "filter", SERVER), s),
            query=query_dict if s.query == "query" else None,
            sortby=sortby_list if s.sortby == SERVER else None,
            **{k: v for k, v in wire.items() if v is not None},
        ).pages_as_dicts()  # fmt: skip

    strategy, first, rest = first_page(
        pages, strategy, api, url, notes, local=local, doing="searching items"
    )
    found = gather(
        first, rest, "features", url=url, notes=notes,
        keep=matcher(parts(strategy, LOCAL)),
        check=checker(parts(strategy, "query", "filter", SERVER)) if strategy.verified else None,
        stop_at=None if strategy.sortby == LOCAL else max_items,
        scan_limit=scan_limit, scanning=bool(strategy.local_parts),
    )  # fmt: skip
    documents = found.documents
    if strategy.sortby == LOCAL:
        documents = sort_locally(documents, sort_keys(sortby_list))[:max_items]
    elif sortby_list:
        documents = _checked_order(documents, sort_keys(sortby_list), found.exhausted, url, notes)
    matched = found.matched(first, counted_here=bool(set(strategy.local_parts) - {"sortby"}))
    return SearchResult(catalog_url, documents, matched, strategy, notes)


def collection_search(
    catalog_url: str,
    *,
    filter: str | Mapping[str, Any] | None = None,
    filter_lang: str | None = None,
    q: str | None = None,
    bbox: Sequence[float] | str | None = None,
    datetime: Any = None,
    max_collections: int | None = None,
    limit: int | None = None,
    local: bool | None = None,
    credentials: Broker | Mapping[str, Any] | None = None,
) -> CollectionSearchResult:
    """Search the collections of the STAC API at ``catalog_url`` (STAC Collection Search).

    ``filter`` (CQL2 text or JSON, on the collections' top-level fields: seed 000's
    ``"platform='Biomass' and parentIdentifier='EOP:ESA:MAAP'"``), ``q`` (free text in title,
    description and keywords), ``bbox`` and ``datetime`` (overlapping the extent) go to the
    server where the API declares the matching Collection Search conformance class and accepts
    them, and are evaluated here over ``/collections`` otherwise. ``local``, ``credentials`` and
    the errors are as for :func:`search`.
    """
    io = open_io(broker_from(credentials))
    filter_expr = parse_filter(filter, filter_lang).to_json() if filter is not None else None
    extent = _normalised(io, bbox=bbox, datetime=datetime)
    api = Api.open(io, catalog_url)
    strategy, planned = collection_strategy(
        api.caps, filter=filter is not None, q=bool(q), extent=bool(extent), local=local
    )
    url = api.collections_url()
    notes = noted(planned, url)

    def pages(s: Strategy) -> Iterator[dict[str, Any]]:
        params: dict[str, Any] = {"limit": page_size(limit, max_collections, bool(s.local_parts))}
        wire = wire_filter(filter_expr, s)
        if wire:
            params["filter-lang"] = wire["filter_lang"]
            text = wire["filter"]
            params["filter"] = text if isinstance(text, str) else json.dumps(text)
        if s.q == SERVER:
            params["q"] = q
        if s.extent == SERVER and "bbox" in extent:
            params["bbox"] = ",".join(map(str, extent["bbox"]))
        if s.extent == SERVER:
            params["datetime"] = extent.get("datetime")
        return io.get_pages(url, "GET", {k: v for k, v in params.items() if v is not None})

    strategy, first, rest = first_page(
        pages, strategy, api, url, notes, local=local, doing="searching collections"
    )
    keep = matcher(filter_expr if strategy.filter == LOCAL else None)
    if strategy.q == LOCAL or strategy.extent == LOCAL:
        keep = both(keep, _overlapping(
            q if strategy.q == LOCAL else None, extent if strategy.extent == LOCAL else {}
        ))  # fmt: skip
    found = gather(
        first, rest, "collections", url=url, notes=notes, keep=keep,
        check=checker(filter_expr) if strategy.verified else None, stop_at=max_collections,
    )  # fmt: skip
    matched = found.matched(first, counted_here=bool(strategy.local_parts))
    return CollectionSearchResult(catalog_url, found.documents, matched, strategy, notes)


def _checked_order(
    documents: list[dict[str, Any]],
    keys: list[tuple[str, bool]],
    exhausted: bool,
    url: str,
    notes: list[str],
) -> list[dict[str, Any]]:
    """The server's sorted results, re-sorted here when they are not in the order asked.

    pgstac compares fields its queryables do not type as text (cloud cover 8.4 before 63.2
    before 0.0003); a result in that order is put right and the note says so.
    """
    resorted = sort_locally(documents, keys)
    if resorted == documents:
        return documents
    fields = ", ".join(("-" if desc else "") + name for name, desc in keys)
    said = f"the server's results were not in the order asked ({fields}); sorted them here"
    if not exhausted:
        said += (
            f", but only the {len(documents)} read: the server's first ones may not be the "
            "right ones. local=True sorts every match here"
        )
    note(notes, url, said)
    return resorted


def _normalised(io: Any, **params: Any) -> dict[str, Any]:
    """The parameters as pystac-client normalises (and checks) them, in POST form; no request."""
    try:
        return ItemSearch("", method="POST", stac_io=io, **params).get_parameters()
    except Exception as exc:  # pystac-client raises bare Exceptions for bad values
        raise errors.SearchError(f"invalid search parameters: {exc}") from None


def _overlapping(q: str | None, extent: Mapping[str, Any]) -> Keep:
    """Local free text and extent matching of collections, as pystac-client does it."""
    bbox, interval = extent.get("bbox"), extent.get("datetime")
    return lambda c: collection_matches(c, bbox=bbox, temporal_interval_str=interval, q=q)
