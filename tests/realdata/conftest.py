"""Tests against real public data read in place from ``../shared/real-data`` (or
``$XSTAC_REAL_DATA``); helpers in ``_realdata.py``. Without that folder these tests fail at
collection with one message saying where the data comes from: never a silent skip.

This folder is a package (``__init__.py``) so that its conftest and test modules do not clash
with the main suite's modules of the same names (``conftest``, ``test_zarr``, ...): import the
helpers relatively, ``from ._realdata import real_path``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ._realdata import MISSING, REAL_DATA

if not (REAL_DATA / "MANIFEST.md").is_file():
    raise pytest.UsageError(MISSING)


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The root of the shared real data (read-only: never write below it)."""
    return REAL_DATA
