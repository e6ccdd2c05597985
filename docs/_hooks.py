"""MkDocs hooks of the documentation site (``hooks:`` in ``mkdocs.yml``).

- ``on_pre_build``: make the pictures (``docs/_pictures.py``, one local world) when they are
  missing, so that a plain ``mkdocs build`` works on a fresh checkout too.
- ``on_page_markdown``: put the benchmark table into the page that asks for it with
  ``<!-- benchmark-results -->``: ``benchmarks/RESULTS.md`` (the full run), else the quick run's
  ``benchmarks/results/quick/RESULTS.md``, else a note saying how to make it. Links in it that
  point outside the site become plain text, so a strict build does not depend on that file.
- ``on_page_content``: the library's docstrings are written for Sphinx; their roles
  (``:func:`x```) are shown as plain code, and a paragraph's closing ``::`` (before a literal
  block) as ``:``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAMP = ROOT / "docs" / "images" / "generated" / ".complete"
RESULTS = (
    (ROOT / "benchmarks" / "RESULTS.md", None),
    (
        ROOT / "benchmarks" / "results" / "quick" / "RESULTS.md",
        "These are the numbers of the **quick** run (small data, one round: its timings mean "
        "little). `make bench` writes the full table to `benchmarks/RESULTS.md`, which this "
        "page then shows instead.",
    ),
)
MARKER = "<!-- benchmark-results -->"
_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\((?!https?:|#|mailto:)([^)]+)\)")
_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|data|exc|obj|const):(<code>)~?")


def on_pre_build(config, **kwargs) -> None:
    if not STAMP.is_file():
        subprocess.run([sys.executable, str(ROOT / "docs" / "_pictures.py")], check=True)


def on_page_markdown(markdown: str, page, config, files, **kwargs) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, benchmark_results())


def benchmark_results() -> str:
    for path, note in RESULTS:
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            text = _LINK.sub(lambda m: f"{m[1]} (`{m[2]}`)", text)
            text = re.sub(r"^# .*\n", "", text, count=1)  # the page has its own title
            text = re.sub(r"^(#+) ", r"#\1 ", text, flags=re.M)  # its sections go under Results
            source = f"*From `{path.relative_to(ROOT)}`.*"
            return "\n\n".join(part for part in (f"!!! note\n    {note}" if note else "", source,
                                                 text) if part)  # fmt: skip
    return (
        "!!! warning\n    No benchmark results yet: run `make bench` (full) or "
        "`python benchmarks/run.py --quick`."
    )


def on_page_content(html: str, page, config, files, **kwargs) -> str:
    html = _ROLE.sub(r"\1", html)
    return html.replace("::</p>", ":</p>")  # reST's "text::" before a literal block
