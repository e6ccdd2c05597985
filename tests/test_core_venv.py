"""The core alone, installed from this checkout into a fresh venv, opens a COG, an EOPF Zarr
product and a KML: no extra is needed to open assets.

The venv is made by uv from its cache (filled by scripts/bootstrap.sh), offline: no network.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from conftest import OVERLAY_QUADS, write_gcp_geotiff, write_preview
from test_zarr import write_eopf_like_store

ROOT = Path(__file__).resolve().parents[1]
#: Distributions of the extras that the core must not pull in.
EXTRAS_ONLY = {"numba", "matplotlib", "scipy", "odc-stac", "odc-loader", "h5py", "h5netcdf",
               "shapely", "dask", "xarray-eopf"}  # fmt: skip

OPEN = """
import json, sys
from importlib import metadata
import xarray as xr
cog = xr.open_dataset(sys.argv[1], engine="stacasset")
tree = xr.open_datatree(sys.argv[2], engine="stacasset", reader="zarr")
kml = xr.open_dataset(sys.argv[3], engine="stacasset")
print(json.dumps({
    "cog": float(cog["band_data"].sum()),
    "b12": tree["measurements/reflectance/r20m/b12"].values.tolist(),
    "kml": [kml.attrs["footprint_kind"], kml["longitude"].values.tolist()],
    "installed": sorted(d.metadata["Name"].lower() for d in metadata.distributions()),
}))
"""


def uv() -> list[str]:
    """How to run uv: beside this Python, or on PATH, or as the system Python's module (where
    scripts/bootstrap.sh installs it)."""
    for command in ([sys.executable, "-m", "uv"], [shutil.which("uv")],
                    [shutil.which("python3"), "-m", "uv"]):  # fmt: skip
        if None not in command and subprocess.run([*command, "--version"],
                                                  capture_output=True).returncode == 0:  # fmt: skip
            return command
    raise AssertionError("uv is not installed: scripts/bootstrap.sh installs it (pip install uv)")


def run(*command: str | Path) -> str:
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{command[:4]}: {done.stderr[-3000:]}"
    return done.stdout


def test_the_core_alone_opens_a_cog_an_eopf_product_and_a_kml(tmp_path):
    counts = np.arange(60 * 80, dtype="uint16").reshape(60, 80) % 500 + 1
    tiff = write_gcp_geotiff(tmp_path / "grd.tif", counts)
    store, values = write_eopf_like_store(tmp_path)
    _, kml = write_preview(tmp_path / "preview", OVERLAY_QUADS["west"])
    venv = tmp_path / "core"
    run(*uv(), "venv", "--quiet", "-p", sys.executable, venv)
    python = venv / "bin" / "python"
    # Offline, from uv's cache: a wheel missing there fails here, naming it.
    run(*uv(), "pip", "install", "--quiet", "--offline", "--python", python, ROOT)
    opened = json.loads(run(python, "-c", OPEN, tiff, store, kml).splitlines()[-1])
    assert opened["cog"] == float(counts.sum())
    assert opened["b12"] == values["b12"].tolist()
    assert opened["kml"] == ["gx:LatLonQuad", [lon for lon, _ in OVERLAY_QUADS["west"]]]
    assert "xstac-access" in opened["installed"]
    assert EXTRAS_ONLY.isdisjoint(opened["installed"])
