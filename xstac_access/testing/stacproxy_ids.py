"""Collection ids of a real catalogue over the prefixed ids the local pgstac stores them under.

One pgstac holds the collections of every replicated catalogue, so two catalogues' collections of
one name cannot both keep it: CDSE's ``sentinel-2-l2a`` is stored as ``cdse-v1-sentinel-2-l2a``
beside Earth Search's. A personality of the STAC proxy with an id ``prefix`` shows its catalogue
as the real one does: only the collections stored with the prefix, under their real ids. Requests
are mapped to the stored ids (the collection in the path, the ``collections`` search parameter
of GET and POST, and, when a search names none, all of the catalogue's collections, so that no
other catalogue's items leak in); answers are mapped back: every stored id in them (collection
ids, items' ``collection``, link hrefs and bodies) loses the prefix, and links to other
catalogues' collections are dropped. Pagination tokens need nothing: pgstac's hold item ids only.

Imported by the proxy script: nothing from ``xstac_access`` (see :mod:`stacproxy`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import aiohttp

_COLLECTION_IN_PATH = re.compile(r"^/collections/([^/]+)")
_COLLECTION_IN_HREF = re.compile(r"/collections/([^/?#]+)")


@dataclass
class PrefixedIds:
    """The mapping between real collection ids and the ids pgstac stores (``prefix + real``),
    for an API whose root is ``mount`` below the personality's prefix (``/cdse/v1/``)."""

    prefix: str
    mount: str = ""
    _stored: list[str] = field(default_factory=list)

    @property
    def root(self) -> str:
        """The API root's path below the personality's prefix: ``/v1`` (or ``""``)."""
        return f"/{self.mount}" if self.mount else ""

    def path(self, tail: str) -> str | None:
        """pgstac's path for ``<root>/collections/<real>/...`` (``None``: not below the root)."""
        if not (tail + "/").startswith(self.root + "/"):
            return None
        tail = tail[len(self.root) :] or "/"
        return _COLLECTION_IN_PATH.sub(lambda m: f"/collections/{self.prefix}{m[1]}", tail)

    async def search(
        self,
        tail: str,
        params: dict[str, str],
        body: Any,
        session: aiohttp.ClientSession,
        upstream: str,
    ) -> tuple[dict[str, str], Any]:
        """The search parameters with stored collection ids (all of them when none is named)."""
        if tail.rstrip("/") != "/search":
            return params, body
        if isinstance(body, dict):
            named = body.get("collections")
            names = [str(c) for c in named] if isinstance(named, list) else []
            body = {**body, "collections": await self._ids(names, session, upstream)}
        else:
            names = [c for c in params.get("collections", "").split(",") if c]
            ids = await self._ids(names, session, upstream)
            params = {**params, "collections": ",".join(ids)}
        return params, body

    async def _ids(
        self, names: list[str], session: aiohttp.ClientSession, upstream: str
    ) -> list[str]:
        if names:
            return [self.prefix + name for name in names]
        if not self._stored:  # the replica does not change while the proxy runs: ask once
            async with session.get(upstream + "/collections", params={"limit": "1000"}) as resp:
                listed = (await resp.json()).get("collections", [])
            self._stored = [c["id"] for c in listed if c["id"].startswith(self.prefix)]
        return list(self._stored) or [self.prefix]  # none stored: a search that finds nothing

    def answer(self, doc: Any) -> Any:
        """The answer with real ids, without what belongs to other catalogues."""
        if isinstance(doc, dict):
            if isinstance(doc.get("collections"), list) and "type" not in doc:
                doc["collections"] = [c for c in doc["collections"] if self._ours(c.get("id"))]
                doc["numberReturned"] = doc["numberMatched"] = len(doc["collections"])
            if isinstance(doc.get("links"), list):
                doc["links"] = [ln for ln in doc["links"] if self._ours_href(ln.get("href"))]
            return {key: self.answer(value) for key, value in doc.items()}
        if isinstance(doc, list):
            return [self.answer(value) for value in doc]
        if isinstance(doc, str):
            return doc.replace(self.prefix, "")
        return doc

    def _ours(self, collection_id: Any) -> bool:
        return isinstance(collection_id, str) and collection_id.startswith(self.prefix)

    def _ours_href(self, href: Any) -> bool:
        match = _COLLECTION_IN_HREF.search(href) if isinstance(href, str) else None
        return match is None or self._ours(match[1])
