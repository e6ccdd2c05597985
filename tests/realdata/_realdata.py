"""Where the shared real public data lies, and small readers for it (see ``conftest.py``).

The files come from other public repositories (``MANIFEST.md`` beside them names each one's
source, commit and licence): they are opened in place, read-only, and never copied here. What a
test derives from them (a store exploded from a ``.zmetadata``, a truncated file) is written
below its ``tmp_path``, never below ``REAL_DATA``.
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


_PEER_DEFAULT = Path(__file__).resolve().parents[2].parent / "shared" / "peer-corpus"
PEER_MISSING = (
    "tests/realdata needs the shared peer corpus at {root} (a folder with MANIFEST.md, raster/, "
    "jp2/, image/, netcdf/, zarr/, kml/, zip/, bad/, items/: files other projects' test suites "
    "wrote; CI has it as ../shared/peer-corpus beside the checkout). They are never copied into "
    "this project: point XSTAC_PEER_CORPUS at them."
)


def peer_corpus() -> Path:
    """The root of the shared peer corpus (read-only), which must exist: a missing corpus fails
    the tests that need it, loudly, never skips them."""
    root = Path(os.environ.get("XSTAC_PEER_CORPUS") or _PEER_DEFAULT)
    assert (root / "MANIFEST.md").is_file(), PEER_MISSING.format(root=root)
    return root


def assert_same(ours: Any, theirs: Any, where: str, ours_only: tuple[str, ...] = ()) -> None:
    """Two Datasets hold the same variables, coordinates, dims, dtypes, values and attrs; the
    engine's own attrs (``stac_*``, and those starting with ``ours_only``) aside."""
    import numpy as np

    assert set(ours.variables) == set(theirs.variables), where
    assert set(ours.coords) == set(theirs.coords), where
    for name, expected in theirs.variables.items():
        got = ours.variables[name]
        assert (got.dims, got.dtype) == (expected.dims, expected.dtype), f"{where}:{name}"
        np.testing.assert_array_equal(got.values, expected.values, err_msg=f"{where}:{name}")
        np.testing.assert_equal(dict(got.attrs), dict(expected.attrs), err_msg=f"{where}:{name}")
    attrs = {k: v for k, v in ours.attrs.items() if not k.startswith(("stac_", *ours_only))}
    np.testing.assert_equal(attrs, dict(theirs.attrs), err_msg=where)


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


def real_kmls() -> list[Path]:
    """The real Sentinel-1 ``preview/map-overlay.kml`` files of ``kml/``, sorted."""
    return sorted((REAL_DATA / "kml").glob("*/preview/map-overlay.kml"))


def write_groupspec(spec: dict[str, Any], path: Path) -> None:
    """Write a store's metadata (no chunks) from a pydantic-zarr style hierarchy description."""
    path.mkdir(parents=True, exist_ok=True)
    node = {k: v for k, v in spec.items() if k != "members"}
    if spec.get("zarr_format") == 3:
        node.setdefault("node_type", "array" if "shape" in spec else "group")
        (path / "zarr.json").write_text(json.dumps(node))
    elif "shape" in spec:
        (path / ".zarray").write_text(
            json.dumps({k: v for k, v in node.items() if k != "attributes"})
        )
        (path / ".zattrs").write_text(json.dumps(spec.get("attributes", {})))
    else:
        (path / ".zgroup").write_text(json.dumps({"zarr_format": 2}))
        (path / ".zattrs").write_text(json.dumps(spec.get("attributes", {})))
    for name, member in (spec.get("members") or {}).items():
        write_groupspec(member, path / name)
