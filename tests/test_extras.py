"""The core without its optional extras: ``import xstac_access`` stays light, and each feature of
an extra that is not installed raises one :class:`~xstac_access.errors.MissingExtraError` naming
the feature and the command that installs the extra.

The missing extras are simulated in a subprocess whose ``sys.modules`` holds ``None`` for every
module they provide (Python then refuses to import them); the files it opens are written here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import xarray as xr
from conftest import write_gcp_geotiff

from xstac_access import errors
from xstac_access._extras import MODULES, needs

#: What a feature's extra brings and ``import xstac_access`` must not load.
HEAVY = ["numba", "matplotlib", "scipy", "odc.stac", "odc.loader", "odc.geo", "h5py",
         "h5netcdf", "xarray_eopf", "shapely", "dask", "folium", "geopandas"]  # fmt: skip


def run_python(code: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_registers_the_engine_and_eo_without_loading_any_extra():
    loaded = run_python(
        "import json, sys, xarray as xr, xstac_access\n"
        f"heavy = {HEAVY!r}\n"
        "print(json.dumps({'loaded': [m for m in heavy if m in sys.modules],\n"
        "    'eo': hasattr(xr.Dataset, 'eo') and hasattr(xr.DataTree, 'eo'),\n"
        "    'engine': 'stacasset' in xr.backends.list_engines()}))"
    )
    assert loaded == {"loaded": [], "eo": True, "engine": True}


#: Runs every feature with every extra's modules blocked; prints what each raised.
FEATURES = """
import json, sys
for name in {blocked!r}:
    sys.modules[name] = None
import numpy as np, xarray as xr, xstac_access
from xstac_access import errors

tiff, nc4, nc3, zarr_store = sys.argv[1:5]
t, s = np.meshgrid(np.linspace(0, 1, 20), np.linspace(0, 1, 15), indexing="ij")
dims = ("rows", "columns")
swath = xr.Dataset({{"v": (dims, t + s)}},
                   coords={{"longitude": (dims, 10 + 4 * s + t), "latitude": (dims, 50 + 3 * t)}})
item = {{"type": "Feature", "stac_version": "1.0.0", "id": "p", "geometry": None, "links": [],
        "properties": {{"datetime": "2024-01-01T00:00:00Z"}},
        "assets": {{"product": {{"href": zarr_store, "type": "application/vnd+zarr",
            "roles": ["data"],
            "xarray:open_dataset_kwargs": {{"engine": "eopf-zarr", "op_mode": "analysis"}}}}}}}}
features = {{
    ".eo.grid()": lambda: swath.eo.grid(),
    ".eo.geocode()": lambda: xr.open_dataset(tiff, engine="stacasset").eo.geocode(),
    ".eo.quicklook()": lambda: swath.eo.quicklook(),
    ".eo.footprint()": lambda: swath.eo.footprint(),
    ".eo.explore()": lambda: swath.eo.explore(),
    "xstac_access.load()": lambda: xstac_access.load([item]),
    "netCDF4": lambda: xr.open_dataset(nc4, engine="stacasset"),
    "netCDF3": lambda: xr.open_dataset(nc3, engine="stacasset"),
    "op_mode='analysis'": lambda: xr.open_dataset(item, engine="stacasset"),
    ".eo.stac": lambda: swath.eo.stac,
}}
out = {{}}
for feature, call in features.items():
    try:
        call()
        out[feature] = None
    except errors.MissingExtraError as exc:
        out[feature] = [exc.extra, exc.name, str(exc), isinstance(exc, ImportError)]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def without_extras(tmp_path_factory) -> dict:
    """What each feature raised in a Python where no extra is importable."""
    folder = tmp_path_factory.mktemp("extras")
    write_gcp_geotiff(folder / "grd.tif", np.ones((60, 80), "uint16"))
    # The flavour is told by the first bytes, and the extra is asked for before anything else is
    # read: a signature is file enough (and needs no writer, which the core alone lacks).
    (folder / "four.nc").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(504))
    (folder / "three.nc").write_bytes(b"CDF\x01" + bytes(508))
    data = xr.Dataset({"v": (("y", "x"), np.arange(12.0).reshape(3, 4))})
    data.to_zarr(folder / "S02MSIL2A.zarr", zarr_format=3, consolidated=True)
    blocked = sorted({m for modules in MODULES.values() for m in modules} - {"azure"})
    code = textwrap.dedent(FEATURES.format(blocked=blocked))
    paths = ["grd.tif", "four.nc", "three.nc", "S02MSIL2A.zarr"]
    return run_python(code, *[str(folder / p) for p in paths])


@pytest.mark.parametrize(
    ("feature", "extra"),
    [(".eo.grid()", "eo"), (".eo.geocode()", "eo"), (".eo.quicklook()", "eo"),
     (".eo.footprint()", "eo"), (".eo.explore()", "explore"), ("xstac_access.load()", "load"),
     ("netCDF4", "netcdf"), ("netCDF3", "netcdf"), ("op_mode='analysis'", "eopf")],
)  # fmt: skip
def test_each_feature_without_its_extra_says_what_to_install(without_extras, feature, extra):
    raised = without_extras[feature]
    assert raised is not None, f"{feature} ran without its extra [{extra}]"
    got_extra, module, message, is_import_error = raised
    assert (got_extra, is_import_error) == (extra, True)
    assert module in MODULES[extra]
    assert feature in message
    assert f"needs the optional extra [{extra}] ({module} is not installed)" in message
    assert message.endswith(f"pip install 'xstac-access[{extra}]'")


def test_the_item_carried_with_the_data_needs_no_extra(without_extras):
    assert without_extras[".eo.stac"] is None


def test_a_missing_module_outside_the_extra_is_not_blamed_on_it():
    with pytest.raises(ModuleNotFoundError) as info, needs("eo", "a feature"):
        import xstac_access_no_such_module  # noqa: F401
    assert not isinstance(info.value, errors.MissingExtraError)


def test_an_unknown_extra_is_a_programming_error():
    unknown = pytest.raises(ValueError, match=r"unknown extra 'oe'; the extras are \['azure'")
    with unknown, needs("oe", "a feature"):
        pass
