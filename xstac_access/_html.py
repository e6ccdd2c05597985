"""Compact HTML tables for Jupyter's rich display (the ``_repr_html_`` of results and reports).

A notebook renders what ``_repr_html_`` returns as markup, so every cell here is text made safe
twice: :func:`~xstac_access._log.redact` masks secrets (registered values, signatures and tokens
in query strings) and ``html.escape`` turns markup a catalogue put in a title into plain text.
The size stays bounded whatever the number of rows: the first :data:`MAX_ROWS` rows are shown and
a last line says how many more there are; a long cell is cut to :data:`MAX_CELL` characters in
its middle, since both ends tell (a URL's host and file name, a product name's mission and date).
Callers pass hrefs through :func:`~xstac_access._hrefs.safe_href` first, as for messages.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from ._log import redact

#: Rows shown at most; the rest are counted, not drawn.
MAX_ROWS = 25
#: Characters shown at most in a cell (the whole text stays in the object itself).
MAX_CELL = 100

_LONG = 400  # a title or a note: sentences, still bounded
_STYLE = "border-collapse:collapse;font-size:0.9em"
_CELL = "padding:0 0.6em;text-align:left;vertical-align:top"


def text(value: object, limit: int = MAX_CELL) -> str:
    """``value`` as safe, short text: no secret, no markup, at most ``limit`` characters."""
    if value is None:
        return ""
    shown = redact(f"{value:.6g}" if isinstance(value, float) else str(value))
    if len(shown) > limit:
        head = (limit - 1) // 2
        shown = shown[:head] + "…" + shown[len(shown) - (limit - 1 - head) :]
    return html.escape(shown)


def size(n: int | None) -> str:
    """A byte count as people read it: ``"12.3 MB"``; empty when unknown."""
    if n is None:
        return ""
    units = ("B", "kB", "MB", "GB", "TB")
    power = 0
    while n >= 1000 ** (power + 1) and power < len(units) - 1:
        power += 1
    return f"{n} B" if power == 0 else f"{n / 1000**power:.1f} {units[power]}"


def table(
    title: str,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    total: int,
    notes: Sequence[str] = (),
    wide: Sequence[str] = (),
) -> str:
    """A titled table of at most :data:`MAX_ROWS` of ``rows`` out of ``total``, then ``notes``.

    ``rows`` is consumed lazily, so a caller may pass a generator over thousands of items. The
    columns named in ``wide`` hold sentences (errors) and are cut at a longer length.
    """
    limits = [_LONG if name in wide else MAX_CELL for name in header]
    head = "".join(f'<th style="{_CELL}">{text(h)}</th>' for h in header)
    body = []
    for count, row in enumerate(rows):
        if count == MAX_ROWS:
            break
        cells = (text(v, limit) for v, limit in zip(row, limits, strict=True))
        body.append("<tr>" + "".join(f'<td style="{_CELL}">{c}</td>' for c in cells) + "</tr>")
    parts = [f'<div class="xstac-repr"><strong>{text(title, _LONG)}</strong>']
    if body:
        parts.append(f'<table style="{_STYLE}"><thead><tr>{head}</tr></thead>')
        parts.append("<tbody>" + "".join(body) + "</tbody></table>")
    if total > len(body):
        parts.append(f"<p>… and {total - len(body)} more (first {len(body)} of {total} shown)</p>")
    parts += [f"<p>{text(note, _LONG)}</p>" for note in notes]
    parts.append("</div>")
    return "".join(parts)
