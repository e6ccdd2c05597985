"""The documentation site builds with ``mkdocs build --strict`` and shows what it promises.

The build runs once, as ``make docs`` runs it but into a temporary folder; its hook makes the
pictures from the local replica when ``docs/images/generated/`` has none yet (a fresh checkout,
CI), on the session's local world (``XSTAC_WORLD``). The tests read the built HTML.
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [
    "index.html", "notebooks/index.html", "catalogues/maap/index.html",
    "catalogues/earth-search/index.html", "catalogues/eopf/index.html",
    "catalogues/cdse/index.html", "catalogues/any-stac/index.html",
    "catalogues/planetary-computer/index.html", "credentials/index.html",
    "engine/index.html", "eo/index.html", "api/index.html", "cli/index.html",
    "performance/index.html", "reliability/index.html", "architecture/index.html",
]  # fmt: skip


@pytest.fixture(scope="module")
def site(tmp_path_factory, world_env) -> Path:
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
        env={**world_env, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "WARNING" not in proc.stderr
    return out


def text_of(page: Path) -> str:
    body = page.read_text(encoding="utf-8")
    body = body[body.index("<article") : body.index("</article>")]
    return html.unescape(re.sub(r"<[^>]+>", "", body))


def test_every_page_is_built(site):
    for page in PAGES:
        assert (site / page).is_file(), page


def test_every_picture_and_map_on_the_pages_exists(site):
    for page in PAGES:
        body = (site / page).read_text(encoding="utf-8")
        for src in re.findall(r'<(?:img|iframe)[^>]* src="([^"]+)"', body):
            if src.startswith(("http:", "https:", "data:")):
                continue
            target = ((site / page).parent / src).resolve()
            assert target.is_file() and target.stat().st_size > 1000, (page, src)
    generated = site / "images" / "generated"
    pngs = sorted(p.relative_to(generated).as_posix() for p in generated.rglob("*.png"))
    assert "000_maap_biomass/biomass_polarisations.png" in pngs
    assert "002_eopf_zarr/s3_olci_gifapar.png" in pngs
    assert "eo/grd_geocoded.png" in pngs
    assert not list(generated.rglob("downloads"))  # downloads are not published


def test_the_reference_is_generated_from_the_docstrings(site):
    api = text_of(site / "api" / "index.html")
    for name in ("search(", "collection_search(", "load(", "download(", "configure("):
        assert name in api, name
    assert "Search the items of the STAC API" in api  # search's own docstring
    engine = text_of(site / "engine" / "index.html")
    assert "open_dataset_parameters" not in engine and "AmbiguousAssetError" in engine
    assert "Open STAC Items, Assets, item dicts" in engine  # the entry point's docstring
    eo = text_of(site / "eo" / "index.html")
    assert "Swath data with 2-D latitude/longitude onto a regular grid" in eo
    for page in PAGES:  # Sphinx roles and unexpanded directives never reach the reader
        text = text_of(site / page)
        assert not re.search(r":(func|class|mod|meth|data|exc):", text), page
        assert "--8<--" not in text and "\n::: " not in text, page


def test_the_examples_and_their_output_are_on_the_pages(site):
    notebooks = text_of(site / "notebooks" / "index.html")
    assert "collections: ['BiomassLevel1a', 'BiomassLevel1b']" in notebooks  # printed output
    assert "S3 GIFAPAR: sizes=" in notebooks
    maap = text_of(site / "catalogues" / "maap" / "index.html")
    assert 'asset="enclosure_i_abs_tiff"' in maap and "XSTAC_MAAP_OFFLINE_TOKEN_FILE" in maap
    assert "def workflow(site: Site, run: Run)" in maap  # the example's code, included


def test_the_performance_page_shows_the_benchmark_table(site):
    text = text_of(site / "performance" / "index.html")
    assert "B1" in text
    assert ("ours / baseline" in text) or ("No benchmark results yet" in text)
