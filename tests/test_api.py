"""The public namespace: every name in ``__all__`` resolves, and the functions stay functions
after their implementation modules are imported (a submodule named like a function would
replace it on the package)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import xstac_access


def test_every_public_name_resolves():
    for name in xstac_access.__all__:
        assert getattr(xstac_access, name) is not None, name
    assert set(xstac_access.__all__) <= set(dir(xstac_access))


def test_functions_stay_functions_once_their_modules_are_imported():
    for module in ("_search", "_load", "_download", "cli", "demo.systems"):
        importlib.import_module(f"xstac_access.{module}")
    for name in ("search", "collection_search", "load", "download", "open_dataset"):
        assert callable(getattr(xstac_access, name)) and not isinstance(
            getattr(xstac_access, name), type(xstac_access)
        ), name


def test_importing_the_package_stays_light():
    """``import xstac_access`` (xarray's engine scan does it) loads xarray for the accessor, but
    none of the heavy optional machinery: odc-stac, pystac-client, dask, matplotlib, numba."""
    code = (
        "import sys, xstac_access; "
        "print(sorted(m for m in ('odc.stac', 'pystac_client', 'dask', 'matplotlib', 'numba') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
