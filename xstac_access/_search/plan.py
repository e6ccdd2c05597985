"""Deciding where each part of a search is evaluated, and what to try when a server says no.

Pure logic, no I/O: what an API declares (:class:`Capabilities`, read from its conformance
classes with any STAC API version, unlike pystac-client's ``v1.0.*`` patterns), the first
:class:`Strategy` for a search, and the next one after the server rejected a request
(:func:`degrade`). The parts are ``query`` (STAC Query extension), ``filter`` (CQL2), ``sortby``,
and for collection search ``q`` (free text) and ``extent`` (bbox and datetime). Each part is
evaluated by the server where the API declares it can, and here otherwise; a rejection moves
one part one step towards here: ``query`` becomes part of the CQL2 filter, a CQL2-JSON filter in
a POST body becomes CQL2 text in a GET query string (or back), and finally a part is evaluated
locally. Also here: the Query extension in CQL2-JSON (:func:`query_to_cql2`), CQL2 parsing, and
the local sort.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import cql2

from ..errors import SearchError

SERVER, LOCAL = "server", "local"
JSON, TEXT = "cql2-json", "cql2-text"
_STAC = r"^https?://api\.stacspec\.org/v1\.[^/]+"
_OGC = r"^https?://www\.opengis\.net/spec"
_QUERY_OPS = {"eq": "=", "neq": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
_LIKE_OPS = {"startsWith": "{}%", "endsWith": "%{}", "contains": "%{}%"}
_ISO_DATETIME = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d")
#: In ``Strategy.tried``: the server refused every CQL2 filter, so a query must not become one.
_NO_FILTER = "no-filter"


def _declares(classes: Iterable[str], *patterns: str) -> bool:
    return any(re.search(p, c) for c in classes for p in patterns)


@dataclass(frozen=True)
class Capabilities:
    """What a STAC API says it can do, from its conformance classes and search links."""

    query: bool = False
    filter: bool = False
    cql2_json: bool = False
    cql2_text: bool = False
    sort: bool = False
    post: bool = True
    collection_search: bool = False
    collection_filter: bool = False
    free_text: bool = False

    @classmethod
    def from_api(cls, conforms_to: Sequence[str], *, post: bool = True) -> Capabilities:
        """From ``conformsTo``; ``post``: whether the landing page offers search by POST."""
        c = conforms_to
        return cls(
            query=_declares(c, _STAC + r"/item-search#query$"),
            filter=_declares(c, _STAC + r"/item-search#filter$"),
            cql2_json=_declares(c, _OGC + r"/cql2/[^/]+/conf/cql2-json$"),
            cql2_text=_declares(c, _OGC + r"/cql2/[^/]+/conf/cql2-text$"),
            sort=_declares(c, _STAC + r"/item-search#sort$"),
            post=post,
            collection_search=_declares(c, _STAC + r"/collection-search$"),
            collection_filter=_declares(c, _STAC + r"/collection-search#filter$"),
            free_text=_declares(c, _STAC + r"/collection-search#free-text$"),
        )


@dataclass(frozen=True)
class Strategy:
    """How a search was sent in the end: where each part was evaluated, and in which form.

    ``endpoint``: ``"search"`` or ``"collections"``. ``query``: ``"query"`` (the Query
    extension), ``"filter"`` (translated into the CQL2 filter), ``"local"`` or ``None`` (not asked
    for). ``filter``, ``sortby``, ``q`` and ``extent``: ``"server"``, ``"local"`` or ``None``.
    ``filter_lang``: the wire form of what the server filters, ``"cql2-json"`` or ``"cql2-text"``.
    ``check``: what the server filtered is checked here too, item by item (see :attr:`verified`).
    """

    endpoint: str = "search"
    method: str = "POST"
    query: str | None = None
    filter: str | None = None
    filter_lang: str | None = None
    sortby: str | None = None
    q: str | None = None
    extent: str | None = None
    check: bool = False
    tried: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    @property
    def server_filters(self) -> bool:
        """True when a CQL2 filter goes to the server (the user's, a translated query, or both)."""
        return self.filter_lang is not None

    @property
    def verified(self) -> bool:
        """True when the server filters and each item it returns is checked against the filter
        here (items that do not match are dropped: a catalogue that ignores a filter is caught)."""
        return self.check and (self.query == "query" or self.server_filters)

    @property
    def local_parts(self) -> list[str]:
        return [p for p in _PARTS if getattr(self, p) == LOCAL]

    def sending(self, caps: Capabilities, lang: str | None) -> Strategy:
        """This strategy with the server's filter sent as ``lang`` (``None``: no filter), by
        the method that can carry it: GET for CQL2 text, for collection search, when POST is
        not offered or was refused; POST otherwise."""
        get = lang == TEXT or self.endpoint == "collections" or not caps.post or "GET" in self.tried
        return replace(
            self,
            filter_lang=lang,
            method="GET" if get else "POST",
            tried=self.tried | ({lang} if lang else set()),
        )


_PARTS = ("query", "filter", "sortby", "q", "extent")
#: How a server's error message names each part (the parameter names it was sent as).
_MENTIONS = {
    "query": r"\bquery\b",
    "filter": r"\bfilter\b|\bcql2",
    "sortby": r"\bsort(by)?\b",
    "q": r"\bq\b|free.text",
    "extent": r"\bbbox\b|\bdatetime\b",
}


def _preferred_lang(caps: Capabilities, endpoint: str) -> str:
    """CQL2-JSON in item search unless only text is declared; CQL2 text in collection search
    (a GET query string) unless only JSON is declared."""
    if endpoint == "collections":
        return JSON if caps.cql2_json and not caps.cql2_text else TEXT
    return TEXT if caps.cql2_text and not caps.cql2_json else JSON


def item_strategy(
    caps: Capabilities, *, query: bool, filter: bool, sortby: bool, local: bool | None
) -> tuple[Strategy, list[str]]:
    """The first strategy for an item search, and notes on what is not sent as given."""

    def where(asked: bool, supported: bool) -> str | None:
        return (SERVER if supported and not local else LOCAL) if asked else None

    q_where = None
    if query:
        q_where = LOCAL if local else "query" if caps.query else "filter" if caps.filter else LOCAL
    strategy = Strategy(
        query=q_where,
        filter=where(filter, caps.filter),
        sortby=where(sortby, caps.sort),
        check=local is None,
    )
    uses_filter = strategy.filter == SERVER or q_where == "filter"
    strategy = strategy.sending(caps, _preferred_lang(caps, "search") if uses_filter else None)
    notes = []
    if q_where == "filter":
        notes.append("the API does not declare the Query extension; sent `query` as CQL2")
    if local and strategy.local_parts:
        notes.append(f"evaluated {_names(strategy.local_parts)} here, as asked (local=True)")
    elif strategy.local_parts:
        extension = {"query": "Query", "filter": "Filter", "sortby": "Sort"}
        for part in strategy.local_parts:
            done = "sorted here" if part == "sortby" else f"evaluated `{part}` here"
            notes.append(f"the API does not declare the {extension[part]} extension; {done}")
    _refuse_local(strategy, local, "the API does not declare it")
    return strategy, notes


def collection_strategy(
    caps: Capabilities, *, filter: bool, q: bool, extent: bool, local: bool | None
) -> tuple[Strategy, list[str]]:
    """The first strategy for a collection search (GET, as the extension specifies)."""

    def where(asked: bool, supported: bool) -> str | None:
        return (SERVER if supported and not local else LOCAL) if asked else None

    strategy = Strategy(
        endpoint="collections",
        filter=where(filter, caps.collection_filter),
        q=where(q, caps.free_text),
        extent=where(extent, caps.collection_search),
        check=local is None,
    )
    lang = _preferred_lang(caps, "collections") if strategy.filter == SERVER else None
    strategy = strategy.sending(caps, lang)
    notes = []
    if strategy.local_parts:
        why = "as asked (local=True)" if local else "the API does not support it in /collections"
        notes.append(f"evaluated {_names(strategy.local_parts)} here: {why}")
    _refuse_local(strategy, local, "the API does not support it in /collections")
    return strategy, notes


def degrade(
    strategy: Strategy, caps: Capabilities, status: int, message: str, *, local: bool | None
) -> tuple[Strategy, str] | None:
    """The strategy to try after the server answered ``status`` (4xx) with ``message``, and a
    note saying what changed; ``None`` when nothing is left to change (or ``local=False``
    forbids evaluating here). A part the message names is changed first."""
    said = f"HTTP {status}: {message}" if message else f"HTTP {status}"
    if status == 405 and strategy.method == "POST":
        new = replace(strategy, tried=strategy.tried | {"GET"}).sending(caps, strategy.filter_lang)
        return new, f"the server refused POST ({said}); searched with GET instead"
    parts = [
        p
        for p in _PARTS
        if (p == "query" and strategy.query == "query")
        or (p == "filter" and strategy.server_filters)
        or getattr(strategy, p) == SERVER
    ]
    named = [p for p in parts if re.search(_MENTIONS[p], message, re.IGNORECASE)]
    for part in named + [p for p in parts if p not in named]:
        changed = _step(strategy, caps, part, said, local=local)
        if changed is not None:
            return changed
    return None


def _step(
    strategy: Strategy, caps: Capabilities, part: str, said: str, *, local: bool | None
) -> tuple[Strategy, str] | None:
    """Move one part one step towards local evaluation."""
    if part == "query" and caps.filter and _NO_FILTER not in strategy.tried:
        lang = strategy.filter_lang or _preferred_lang(caps, strategy.endpoint)
        new = replace(strategy, query="filter").sending(caps, lang)
        return new, f"the server rejected `query` ({said}); sent it as a {lang.upper()} filter"
    if part == "filter":
        was = str(strategy.filter_lang)
        other = TEXT if was == JSON else JSON
        if other not in strategy.tried:
            how = "as CQL2 text in a GET query string" if other == TEXT else "as CQL2-JSON"
            new = strategy.sending(caps, other)
            return new, f"the server rejected the {was.upper()} filter ({said}); sent it {how}"
        if local is False:
            return None
        moved = [p for p in ("query", "filter") if getattr(strategy, p) in ("filter", SERVER)]
        local_parts: dict[str, Any] = dict.fromkeys(moved, LOCAL)  # fields named at run time
        new = replace(strategy, tried=strategy.tried | {_NO_FILTER}, **local_parts)
        note = f"the server rejected the CQL2 filter ({said}); evaluated {_names(moved)} here"
        return new.sending(caps, None), note
    if local is False:
        return None
    done = "sorted here" if part == "sortby" else f"evaluated `{part}` here"
    changed: dict[str, Any] = {part: LOCAL}  # a field named at run time
    return replace(strategy, **changed), f"the server rejected `{part}` ({said}); {done}"


def _refuse_local(strategy: Strategy, local: bool | None, why: str) -> None:
    if local is False and strategy.local_parts:
        raise SearchError(
            f"cannot send {_names(strategy.local_parts)} to this API ({why}) and local=False "
            "forbids evaluating it here; pass local=None (the default) to allow it"
        )


def _names(parts: Iterable[str]) -> str:
    return " and ".join(f"`{p}`" for p in parts)


# -- CQL2 --------------------------------------------------------------------------------------


def parse_filter(value: str | Mapping[str, Any], filter_lang: str | None = None) -> cql2.Expr:
    """A CQL2 expression from text or JSON (a dict, or a JSON string with
    ``filter_lang="cql2-json"``), validated, so that a typo fails before any request."""
    as_json = isinstance(value, Mapping) or filter_lang == JSON
    text = value if isinstance(value, str) else json.dumps(value)
    try:
        expr = cql2.parse_json(text) if as_json else cql2.parse_text(text)
        expr.validate()
    except (cql2.ParseError, cql2.ValidationError, ValueError) as exc:
        raise SearchError(
            f"the filter {text[:200]!r} is not valid {'CQL2-JSON' if as_json else 'CQL2 text'}: "
            f"{str(exc).strip()[:400]}; nothing was sent"
        ) from None
    return expr


def query_to_cql2(query: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The STAC Query extension's ``{"prop": {"op": value}}`` as one CQL2-JSON expression."""
    args = []
    for prop, conditions in query.items():
        if not isinstance(conditions, Mapping):
            conditions = {"eq": conditions}
        for op, value in conditions.items():
            target = {"property": prop}
            if op in _QUERY_OPS:
                args.append({"op": _QUERY_OPS[op], "args": [target, value]})
            elif op == "in":
                args.append({"op": "in", "args": [target, list(value)]})
            elif op in _LIKE_OPS:
                escaped = re.sub(r"([\\%_])", r"\\\1", str(value))
                args.append({"op": "like", "args": [target, _LIKE_OPS[op].format(escaped)]})
            else:
                raise SearchError(
                    f"`query` operator {op!r} (on {prop!r}) is not one of the Query extension's: "
                    + ", ".join([*_QUERY_OPS, "in", *_LIKE_OPS])
                )
    return all_of(args)


def all_of(expressions: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """CQL2-JSON ``and`` of the expressions (the expression itself when there is one)."""
    if len(expressions) == 1:
        return expressions[0]
    return {"op": "and", "args": list(expressions)}


# -- local sort --------------------------------------------------------------------------------


def sort_keys(sortby: Sequence[Mapping[str, str]]) -> list[tuple[str, bool]]:
    """``[(field, descending)]`` from pystac-client's normalised ``sortby`` dicts; the field
    without a ``properties.`` prefix."""
    return [
        (s["field"].removeprefix("properties."), s.get("direction", "asc") == "desc")
        for s in sortby
    ]


def sort_locally(
    documents: list[dict[str, Any]], keys: Sequence[tuple[str, bool]]
) -> list[dict[str, Any]]:
    """Sort STAC items (or collections) by ``keys``; items lacking a field come last either way.

    Numbers compare as numbers, ISO timestamps as instants, everything else as text (a server
    sorting by a field its queryables do not type, as pgstac does, compares everything as text).
    """
    out = list(documents)
    for name, descending in reversed(keys):
        present = [d for d in out if _field(d, name) is not None]
        absent = [d for d in out if _field(d, name) is None]
        present.sort(key=lambda d: _comparable(_field(d, name)), reverse=descending)
        out = present + absent
    return out


def _field(document: Mapping[str, Any], name: str) -> Any:
    props = document.get("properties")
    if isinstance(props, Mapping) and name in props:
        return props[name]
    return document.get(name)


def _comparable(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, int | float):
        return (0, value)
    if isinstance(value, str) and _ISO_DATETIME.match(value):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return (1, (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp())
        except ValueError:
            pass
    return (2, str(value))
