"""Make the documentation's pictures from the local replica: ``python docs/_pictures.py``.

Starts one local world (as ``examples/*.py --local`` do, or borrows the one ``$XSTAC_WORLD``
names), runs every example's workflow on it
into ``docs/images/generated/<example>/`` (the pictures, files and ``summary.json`` the example
itself makes), then the few pictures of the ``.eo`` page that no example makes, into
``docs/images/generated/eo/``. A ``.complete`` stamp is written last: ``docs/_hooks.py`` runs
this script before a build when the stamp is missing, and ``make docs`` always runs it.
The folder is generated, never committed (``.gitignore``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import xarray as xr

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "images" / "generated"
STAMP = OUT / ".complete"

sys.path.insert(0, str(ROOT / "examples"))

from _local import Run, load_examples, site_for  # noqa: E402

import xstac_access as xsa  # noqa: E402


def eo_pictures(world, out: Path) -> None:
    """Geocoding a GCP-only GRD and an interactive map of a swath: the ``.eo`` page's own."""
    e = world.endpoints
    grd = xsa.search(e.stac, collections=["sentinel-1-grd"], max_items=1).items[0]
    sar = xr.open_dataset(grd, engine="stacasset", asset="hh", storage_options=world.s3_options())
    sar.eo.quicklook(path=out / "grd_pixels.png")
    sar.eo.geocode().eo.quicklook(path=out / "grd_geocoded.png")
    lfr = xsa.search(e.stac, collections=["sentinel-3-olci-l2-lfr"], max_items=1).items[0]
    olci = xr.open_dataset(lfr, engine="stacasset", asset="measurements")[["gifapar"]]
    olci.eo.explore(zoom_start=5).save(out / "olci_explore.html")


def main() -> int:
    began = time.perf_counter()
    shutil.rmtree(OUT, ignore_errors=True)
    with site_for(False, None, lambda world: world) as world:
        for name, module in load_examples().items():
            parser = argparse.ArgumentParser()
            if hasattr(module, "options"):
                module.options(parser)
            run = Run(out=OUT / name, options=parser.parse_args([]))
            print(f"-- {name}")
            module.workflow(module.local(world), run)
            run.write_summary()
        (OUT / "eo").mkdir(parents=True)
        eo_pictures(world, OUT / "eo")
    STAMP.write_text(f"made in {time.perf_counter() - began:.1f} s\n")
    print(f"pictures in {OUT} ({STAMP.read_text().strip()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
