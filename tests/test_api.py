"""The public namespace: every name in ``__all__`` resolves, and the functions stay functions
after their implementation modules are imported (a submodule named like a function would
replace it on the package)."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import xstac_access

#: Modules and packages at the top of the package without a leading underscore. Public:
#: credentials, errors, eo (the accessor's functions), cli, demo and testing (the local world);
#: http and readers are internal packages (documented as such: users name a reader, they do
#: not import one). Every other top-level module is underscored: an implementation detail.
PUBLIC_LOOKING = {"cli", "credentials", "demo", "eo", "errors", "http", "readers", "testing"}


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


def test_no_module_is_named_like_a_public_function():
    """``xstac_access.search`` (or ``download``, ``load``, ``resolve``...) is the function: no
    submodule of that name can replace it, whatever a caller imports."""
    functions = [n for n in xstac_access.__all__ if callable(getattr(xstac_access, n))]
    modules = [n for n in xstac_access.__all__ if isinstance(getattr(xstac_access, n), type(sys))]
    assert {"search", "collection_search", "load", "download", "resolve"} <= set(functions)
    assert sorted(modules) == ["credentials", "errors"]
    submodules = {m.name for m in pkgutil.iter_modules(xstac_access.__path__)}
    assert not submodules & set(functions)


def test_functions_stay_functions_after_every_module_is_imported():
    """In a fresh interpreter, import every module of the library (the implementation packages
    ``_search`` and ``_download`` with all their modules), then look at the functions."""
    code = (
        "import importlib, pkgutil, sys, xstac_access as x\n"
        "for m in pkgutil.walk_packages(x.__path__, 'xstac_access.'):\n"
        "    if not m.name.startswith('xstac_access.testing') and '__main__' not in m.name:\n"
        "        importlib.import_module(m.name)\n"
        "import xstac_access._search.plan, xstac_access._download.transfer\n"
        "bad = [n for n in x.__all__ if isinstance(getattr(x, n), type(sys))\n"
        "       and n not in ('credentials', 'errors')]\n"
        "assert x.search is x._search.search and x.download is x._download.download, bad\n"
        "print(len(sys.modules) > 0 and not bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "True", out.stderr[-2000:]


def test_the_top_level_says_what_is_public():
    names = {m.name for m in pkgutil.iter_modules(xstac_access.__path__)}
    assert {n for n in names if not n.startswith("_")} == PUBLIC_LOOKING
    assert {"_engine", "_resolve", "_itemtree", "_search", "_download", "_load"} <= names


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


def test_the_engine_points_xarray_at_the_documentation_pyproject_names():
    import tomllib
    from pathlib import Path

    import xarray as xr

    from xstac_access import _plugin

    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    urls = tomllib.loads(pyproject.read_text())["project"]["urls"]
    assert xr.backends.list_engines()["stacasset"].url == urls["Documentation"]
    assert _plugin.documentation_url() == urls["Documentation"]  # from the installed metadata
    assert "placeholder" not in urls["Documentation"] and urls["Documentation"].startswith("https")
