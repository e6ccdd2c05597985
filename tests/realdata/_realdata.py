"""Where the shared real public data lies, and small readers for it (see ``conftest.py``).

The files come from other public repositories (``MANIFEST.md`` beside them names each one's
source, commit and licence): they are opened in place, read-only, and never copied here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

_DEFAULT = Path(__file__).resolve().parents[2].parent / "shared" / "real-data"
REAL_DATA = Path(os.environ.get("XSTAC_REAL_DATA") or _DEFAULT)
MISSING = (
    f"tests/realdata needs the shared real public data at {REAL_DATA} (a folder with "
    "MANIFEST.md, items/, tiff/, kml/, zarr/; CI has it as ../shared/real-data beside the "
    "checkout). Those files come from other public repositories and are never copied into this "
    "project: point XSTAC_REAL_DATA at them, or leave this folder out with "
    "--ignore=tests/realdata."
)


def real_path(*parts: str) -> Path:
    """A file or folder of the real data, which must exist."""
    path = REAL_DATA.joinpath(*parts)
    assert path.exists(), f"{path} is not in the shared real data"
    return path


def real_item(prefix: str) -> dict[str, Any]:
    """A real STAC item of ``items/`` by (unique) file-name prefix, as a fresh dict."""
    matches = sorted((REAL_DATA / "items").glob(f"{prefix}*.json"))
    assert len(matches) == 1, f"{prefix!r} matches {[m.name for m in matches]}"
    return json.loads(matches[0].read_text())


def real_zmetadata(prefix: str) -> dict[str, Any]:
    """The ``metadata`` mapping of a real consolidated ``.zmetadata`` of ``zarr/zmetadata/``."""
    (path,) = (REAL_DATA / "zarr" / "zmetadata").glob(f"{prefix}*.zmetadata.json")
    return json.loads(path.read_text())["metadata"]


def real_groupspec(prefix: str) -> dict[str, Any]:
    """A real pydantic-zarr style hierarchy of ``zarr/groupspec/`` by file-name prefix."""
    (path,) = (REAL_DATA / "zarr" / "groupspec").glob(f"{prefix}__*.json")
    return json.loads(path.read_text())
