"""Running a search plan: the API's landing page, the first page with fallbacks, local evaluation.

:class:`Api` reads a STAC API's landing page (and its conformance classes). :func:`first_page`
asks for the first page of results and, each time the server rejects the request (4xx), moves
to the next strategy (:func:`xstac_access._search.plan.degrade`), with a note. :func:`gather`
reads the pages, keeps the documents a local expression accepts, checks what the server
filtered, stops at the wanted count, and refuses to scan without end.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import cql2
from pystac_client.exceptions import APIError
from pystac_client.stac_api_io import StacApiIO

from .. import errors
from .._hrefs import host_of, safe_href
from .._log import get_logger
from .io import as_error, server_message, status_of
from .plan import JSON, Capabilities, Strategy, all_of, degrade

#: Page size asked for when results are evaluated here and the caller gave no ``limit``.
SCAN_PAGE_SIZE = 100
log = get_logger("xstac_access.search")

Keep = Callable[[dict[str, Any]], bool]


def note(notes: list[str], url: str, text: str) -> None:
    """Record what was done differently, and log it at INFO."""
    notes.append(text)
    log.info("%s: %s", host_of(url), text)


def noted(texts: list[str], url: str) -> list[str]:
    """A new list of notes holding ``texts``, each logged."""
    notes: list[str] = []
    for text in texts:
        note(notes, url, text)
    return notes


@dataclass(frozen=True)
class Api:
    """A STAC API's root: its landing page and what it declares."""

    url: str
    landing: dict[str, Any]
    caps: Capabilities

    @classmethod
    def open(cls, io: StacApiIO, url: str) -> Api:
        """Read the landing page (and ``/conformance`` when the page lists no classes)."""
        try:
            landing = io.read_json(url)
        except APIError as exc:
            raise as_error(exc, url, "reading its landing page") from None
        except ValueError:
            landing = None
        if not isinstance(landing, dict) or not isinstance(landing.get("links"), list):
            raise errors.SearchError(
                f"{safe_href(url)} is not the landing page of a STAC API (no JSON with links); "
                "pass the API's root URL",
                host=host_of(url),
            )
        links = [link for link in landing["links"] if isinstance(link, dict)]
        conforms = landing.get("conformsTo")
        conformance = next((ln["href"] for ln in links if ln.get("rel") == "conformance"), None)
        if conforms is None and conformance:
            try:
                conforms = io.read_json(conformance).get("conformsTo")
            except (APIError, ValueError, AttributeError):
                conforms = None
        methods = {str(ln.get("method", "")).upper() for ln in links if ln.get("rel") == "search"}
        post = not methods or bool(methods & {"POST", ""})
        caps = Capabilities.from_api(conforms or [], post=post)
        return cls(url, {**landing, "links": links}, caps)

    def link(self, rel: str) -> str | None:
        return next((ln["href"] for ln in self.landing["links"] if ln.get("rel") == rel), None)

    def search_url(self) -> str:
        href = self.link("search")
        if href is None:
            raise errors.SearchError(
                f"the catalogue at {host_of(self.url)} offers no item search (its landing page "
                "has no 'search' link); open it with pystac.Catalog to browse it instead",
                host=host_of(self.url),
            )
        return href

    def collections_url(self) -> str:
        return self.link("data") or self.url.rstrip("/") + "/collections"


def page_size(limit: int | None, wanted: int | None, evaluated_here: bool) -> int | None:
    """The ``limit`` to ask for: the caller's; larger pages when results are scanned here; no
    more than ``wanted`` otherwise."""
    if evaluated_here:
        return limit or SCAN_PAGE_SIZE
    if wanted is not None:
        return min(limit or wanted, wanted)
    return limit


def first_page(
    open_pages: Callable[[Strategy], Iterator[dict[str, Any]]],
    strategy: Strategy,
    api: Api,
    url: str,
    notes: list[str],
    *,
    local: bool | None,
    doing: str,
) -> tuple[Strategy, dict[str, Any] | None, Iterator[dict[str, Any]]]:
    """The first page under ``strategy`` or, after rejections, under the strategy that worked;
    also that strategy and the iterator of the remaining pages."""
    while True:
        pages = open_pages(strategy)
        try:
            return strategy, next(pages, None), pages
        except APIError as exc:
            status = status_of(exc)
            step = None
            if status is not None and 400 <= status < 500 and status not in (401, 403, 404):
                step = degrade(strategy, api.caps, status, server_message(str(exc)), local=local)
            if step is None:
                raise as_error(exc, url, doing) from None
            strategy, said = step
            note(notes, url, said)


@dataclass(frozen=True)
class Found:
    """What :func:`gather` kept, whether the pages ran out, and how many the check dropped."""

    documents: list[dict[str, Any]]
    exhausted: bool
    dropped: int

    def matched(self, first: dict[str, Any] | None, *, counted_here: bool) -> int | None:
        """The server's count when it evaluated everything; the exact count when the search was
        evaluated here over every page; else ``None``."""
        if counted_here or self.dropped:
            return len(self.documents) if self.exhausted else None
        if first is None:
            return 0
        context = first.get("context")
        found = first.get("numberMatched")
        if found is None and isinstance(context, Mapping):
            found = context.get("matched")
        return found if isinstance(found, int) else None


def gather(
    first: dict[str, Any] | None,
    rest: Iterator[dict[str, Any]],
    key: str,
    *,
    url: str,
    notes: list[str],
    keep: Keep | None = None,
    check: Keep | None = None,
    stop_at: int | None = None,
    scan_limit: int | None = None,
    scanning: bool = False,
) -> Found:
    """Read ``key`` ("features"/"collections") from the pages: drop what ``check`` (the
    server's filter, verified) or ``keep`` (what is evaluated here) rejects, stop at
    ``stop_at`` kept. More than ``scan_limit`` read while ``scanning`` (evaluating here), or
    once the check has dropped something, is an error rather than an endless crawl."""
    kept: list[dict[str, Any]] = []
    scanned = dropped = 0
    pages = chain([first] if first is not None else [], rest)
    try:
        for page in pages:
            for doc in page.get(key) or []:
                scanned += 1
                if scan_limit is not None and scanned > scan_limit and (scanning or dropped):
                    raise errors.SearchError(
                        f"evaluating this search here needs more than scan_limit={scan_limit} "
                        f"{key} from {host_of(url)}; narrow it (collections, bbox, datetime) or "
                        "raise scan_limit",
                        host=host_of(url),
                    )
                if check is not None and not check(doc):
                    dropped += 1
                    continue
                if keep is None or keep(doc):
                    kept.append(doc)
                    if stop_at is not None and len(kept) >= stop_at:
                        return _found(kept, False, dropped, url, notes)
    except APIError as exc:
        raise as_error(exc, url, "reading the next page of results") from None
    return _found(kept, True, dropped, url, notes)


def _found(
    kept: list[dict[str, Any]], exhausted: bool, dropped: int, url: str, notes: list[str]
) -> Found:
    if dropped:
        said = (
            f"the server returned {dropped} result(s) that do not match the filter it was sent "
            "(it ignores or mis-evaluates it, as NASA CMR does cloud cover); dropped them here. "
            "local=True evaluates the filter here only, without sending it"
        )
        note(notes, url, said)
    return Found(kept, exhausted, dropped)


# -- expressions -------------------------------------------------------------------------------


def combined(expressions: Sequence[dict[str, Any] | None]) -> dict[str, Any] | None:
    """CQL2-JSON ``and`` of the expressions given (``None`` ones skipped), or ``None``."""
    present = [e for e in expressions if e is not None]
    return all_of(present) if present else None


def wire_filter(expression: dict[str, Any] | None, strategy: Strategy) -> dict[str, Any]:
    """pystac-client's ``filter``/``filter_lang`` arguments for the strategy's wire form."""
    if expression is None or not strategy.server_filters:
        return {}
    if strategy.filter_lang == JSON:
        return {"filter": expression, "filter_lang": JSON}
    return {"filter": _expr(expression).to_text(), "filter_lang": strategy.filter_lang}


def matcher(expression: dict[str, Any] | None) -> Keep | None:
    """Local evaluation: a document matches when the expression is true for it (a field it
    lacks makes a comparison unknown, hence no match, as in SQL)."""
    return _evaluator(expression, undecided=False)


def checker(expression: dict[str, Any] | None) -> Keep | None:
    """Verification of what a server filtered: reject only a document for which the expression
    is decidably false. One lacking a field the filter names may be right (a queryable the
    server maps to something else), so it is kept."""
    return _evaluator(expression, undecided=True)


def _evaluator(expression: dict[str, Any] | None, *, undecided: bool) -> Keep | None:
    """``expression`` as a test of one document; ``undecided`` is the answer when cql2 cannot
    decide (it raises a bare Exception for a NULL result)."""
    if expression is None:
        return None
    expr = _expr(expression)

    def keep(doc: dict[str, Any]) -> bool:
        try:
            return bool(expr.matches(doc))
        except Exception:
            return undecided

    return keep


def both(first: Keep | None, second: Keep | None) -> Keep | None:
    if first is None or second is None:
        return first or second
    return lambda doc: first(doc) and second(doc)


def _expr(expression: dict[str, Any]) -> cql2.Expr:
    return cql2.parse_json(json.dumps(expression))
