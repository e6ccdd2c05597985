"""No file of the project is a copy of the shared public data: not byte for byte (the published
SHA256SUMS), and no JSON document equal to a shared one once parsed (pretty-printed copies)."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ._realdata import REAL_DATA

ROOT = Path(__file__).resolve().parents[2]
SHARED = REAL_DATA.parent
#: What a file must weigh to count as a byte copy: an empty ``__init__.py`` is everybody's.
_MIN_BYTES = 64
#: What a parsed JSON document must weigh (canonical bytes) to count: ``{}`` or
#: ``{"zarr_format": 2}`` are everybody's, not a copy of anything.
_MIN_JSON_BYTES = 200
_JSON_SUFFIXES = {".json", ".geojson", ".zmetadata", ".zattrs", ".zarray", ".zgroup"}
#: How many offenders a failure names (then only their count).
_SHOWN = 10


def _tracked() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    return [ROOT / name for name in out.split("\0") if name and (ROOT / name).is_file()]


def _published_sums() -> set[str]:
    sums = set()
    for listing in SHARED.glob("*/SHA256SUMS"):
        sums |= {line.split()[0] for line in listing.read_text().splitlines() if line.strip()}
    return sums


def _listing(kind: str, offenders: list[str]) -> str:
    """``offenders`` as a failure message: the count, the first ``_SHOWN`` one per line."""
    shown = "\n  ".join(offenders[:_SHOWN])
    more = f"\n  ... and {len(offenders) - _SHOWN} more" if len(offenders) > _SHOWN else ""
    return f"{len(offenders)} tracked file(s) are {kind} of ../shared files:\n  {shown}{more}"


def _canonical(path: Path) -> str | None:
    if path.suffix not in _JSON_SUFFIXES and path.name not in _JSON_SUFFIXES:
        return None
    try:
        doc: Any = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError):
        return None
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return text if len(text) >= _MIN_JSON_BYTES else None


def test_the_checksum_lists_are_there():
    assert len(_published_sums()) > 500  # real-data and peer-corpus


def test_no_tracked_file_is_a_byte_copy_of_shared_data():
    sums = _published_sums()
    copies = [
        str(p.relative_to(ROOT)) for p in _tracked()
        if p.stat().st_size >= _MIN_BYTES and hashlib.sha256(p.read_bytes()).hexdigest() in sums
    ]  # fmt: skip
    if copies:
        pytest.fail(_listing("byte copies", copies), pytrace=False)


def test_no_tracked_json_equals_a_shared_document_once_parsed():
    shared = {}
    for path in SHARED.rglob("*"):
        if path.is_file() and (text := _canonical(path)) is not None:
            shared[text] = path
    copies = [
        f"{p.relative_to(ROOT)} = {shared[text].relative_to(SHARED)}"
        for p in _tracked()
        if (text := _canonical(p)) is not None and text in shared
    ]
    if copies:
        pytest.fail(_listing("parsed JSON copies", copies), pytrace=False)
