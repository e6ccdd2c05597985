"""Search results and download reports in a notebook: their ``_repr_html_`` tables.

The HTML is read back with the standard library's parser, as a browser would see it: the rows and
their values, no markup smuggled in by a catalogue, no signature leaked, a bounded size.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from conftest import replica_item

from xstac_access import collection_search, download, search
from xstac_access._download.report import DownloadEntry, DownloadReport
from xstac_access._html import MAX_CELL, MAX_ROWS
from xstac_access._search.plan import Strategy
from xstac_access._search.results import SearchResult

SIGNED = "https://bucket.s3.eu-west-1.amazonaws.com/b04.tif?X-Amz-Credential=AKIDEXAMPLE&X-Amz-Signature=5ec12e7deadbeef"
EVIL = "<script>alert('pwned')</script> & <b>bold</b>"


class Page(HTMLParser):
    """What a browser would make of the markup: the tags, the table rows, all the text."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.rows: list[list[str]] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def table(self) -> list[dict[str, str]]:
        header, *body = self.rows
        return [dict(zip(header, row, strict=True)) for row in body]


def cell(value) -> str:
    return "" if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)


def shows(shown: str, full: str, limit: int = MAX_CELL) -> bool:
    """True when the cell ``shown`` is ``full``, or ``full`` cut in its middle to ``limit``."""
    if len(full) <= limit:
        return shown == full
    head, _, tail = shown.partition("…")
    return len(shown) == limit and full.startswith(head) and full.endswith(tail) and bool(tail)


def item(n: int, **properties) -> dict:
    props = {"datetime": f"2024-01-{1 + n % 28:02d}T10:00:00Z", "eo:cloud_cover": n % 100}
    return {
        "type": "Feature", "stac_version": "1.0.0", "id": f"item-{n}", "collection": "c",
        "geometry": None, "links": [], "assets": {"a": {"href": f"https://h/{n}.tif"}},
        "properties": props | properties,
    }  # fmt: skip


def result(documents: list[dict], url: str = "https://stac.example/api") -> SearchResult:
    return SearchResult(url, documents, len(documents), Strategy(), [])


def test_search_results_show_a_row_per_item_with_its_values(local_world):
    found = search(local_world.endpoints.stac, collections=["sentinel-2-l2a", "sentinel-1-grd"])
    page = Page(found._repr_html_())
    rows = page.table()
    assert 2 <= len(found) <= MAX_ROWS and len(rows) == len(found)
    assert list(rows[0])[:3] == ["id", "datetime", "collection"] and list(rows[0])[-1] == "assets"
    assert f"{len(found)} items from 127.0.0.1" in page.text[0]
    for row, doc in zip(rows, found._documents, strict=True):
        props = doc["properties"]
        assert (row["id"], row["collection"]) == (doc["id"], doc["collection"])
        assert row["datetime"] == props["datetime"]
        assert row["assets"] == str(len(doc["assets"]))
        for name in list(row)[3:-1]:  # the property columns hold the item's value, or nothing
            assert row[name] == cell(props.get(name))
    chosen = ["platform", "eo:cloud_cover", "sar:instrument_mode", "sat:orbit_state"]
    assert list(rows[0])[3:-1] == chosen  # what S2 and S1 scenes are chosen by


def test_collection_search_shows_a_row_per_collection(local_world):
    found = collection_search(local_world.endpoints.stac)
    rows = Page(found._repr_html_()).table()
    assert [r["id"] for r in rows] == [d["id"] for d in found._documents][:MAX_ROWS]
    titles = [d.get("title", "") for d in found._documents][: len(rows)]
    assert all(shows(r["title"], title) for r, title in zip(rows, titles, strict=True))


def test_thousands_of_items_show_the_first_rows_and_count_the_rest():
    markup = result([item(n) for n in range(3000)])._repr_html_()
    page = Page(markup)
    assert [r["id"] for r in page.table()] == [f"item-{n}" for n in range(MAX_ROWS)]
    assert f"… and {3000 - MAX_ROWS} more (first {MAX_ROWS} of 3000 shown)" in "".join(page.text)
    assert len(markup) < 20_000


def test_markup_in_a_title_is_text_and_a_signature_never_shows():
    documents = [item(0, title=EVIL, platform=SIGNED), item(1, title="x" * 500)]
    markup = result(documents, url=SIGNED)._repr_html_()
    page = Page(markup)
    assert "script" not in page.tags and "b" not in page.tags
    rows = page.table()
    assert list(rows[0])[:4] == ["id", "datetime", "collection", "title"]
    assert rows[0]["title"] == EVIL  # shown as the catalogue wrote it, as text
    assert rows[1]["title"] == "x" * 49 + "…" + "x" * 50  # long cells are cut in the middle
    assert rows[0]["platform"].startswith("https://bucket.s3.eu-west-1.amazonaws.com/b04.tif?")
    assert "5ec12e7deadbeef" not in markup and "AKIDEXAMPLE" not in markup


def test_a_download_report_lists_failed_files_first_with_sizes(local_world, tmp_path):
    s2 = replica_item(local_world, "sentinel-2-l2a")
    report = download(s2, tmp_path, assets=["red", "no-such-asset"], progress=False)
    rows = Page(report._repr_html_()).table()
    assert [r["status"] for r in rows] == ["failed", "fetched"]
    failed, fetched = rows
    assert failed["asset"] == "no-such-asset" and failed["item"] == s2["id"]
    assert shows(failed["error"], report.failed[0].error, limit=400)  # errors get more room
    assert failed["error"].startswith(f"item '{s2['id']}' has no asset 'no-such-asset'")
    red = Path(report.paths[0])
    assert fetched["file"] == red.name and shows(fetched["href"], s2["assets"]["red"]["href"])
    size = red.stat().st_size
    shown = f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.1f} kB"
    assert fetched["size"] == fetched["received"] == shown
    assert fetched["error"] == ""


def test_a_download_report_masks_signed_hrefs_and_errors():
    entry = DownloadEntry(
        item="i", asset="b04", href=SIGNED, path=None, status="failed",
        error=f"403 Forbidden for url: {SIGNED}",
    )  # fmt: skip
    markup = DownloadReport((entry,), 0.5)._repr_html_()
    (row,) = Page(markup).table()
    assert row["href"] == "https://bucket.s3.eu-west-1.amazonaws.com/b04.tif?<redacted>"
    assert row["error"].startswith("403 Forbidden for url: https://bucket")
    assert "5ec12e7deadbeef" not in markup and "AKIDEXAMPLE" not in markup
