"""EOPF Sentinel Zarr samples (seed 002): S2 DataTree, TCI quicklook, S1 OCN wind, S3 OLCI GIFAPAR.

The seed tutorial picks the item's top-level Zarr asset by its roles, opens it with
``xr.open_datatree(href, **asset.extra_fields["xarray:open_datatree_kwargs"])``, compares chunk
sizes at 10/20/60 m, plots the 60 m true-colour quicklook, and grids the Sentinel-1 OCN wind and
the Sentinel-3 OLCI GIFAPAR swaths (2-D latitude/longitude) with ``scipy.interpolate.griddata``
(minutes per swath, and the whole convex hull filled). Here the engine reads the asset's open
hints itself and ``.eo.grid`` interpolates on the swath's own triangles in well under a second.

Run::

    python examples/002_eopf_zarr.py                    # offline, on the local replica
    python examples/002_eopf_zarr.py --online           # https://stac.core.eopf.eodc.eu

The EOPF sample service and its object store are public: ``--online`` needs no credential.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from pathlib import Path

import xarray as xr
from _local import Run, main

import xstac_access as xsa


@dataclass(frozen=True)
class Site:
    stac: str
    s2: tuple[str, str]  # (collection, item id) of each product
    s1_ocn: tuple[str, str]
    s3_lfr: tuple[str, str]


ONLINE = Site(
    stac="https://stac.core.eopf.eodc.eu/",
    s2=("sentinel-2-l2a", "S2A_MSIL2A_20250605T104701_N0511_R051_T35WMU_20250605T125416"),
    s1_ocn=("sentinel-1-l2-ocn", "S1A_IW_OCN__2SDV_20250604T193923_20250604T193948_059501_0762FA_C971"),  # noqa: E501
    s3_lfr=(
        "sentinel-3-olci-l2-lfr",
        "S3A_OL_2_LFR____20250605T102430_20250605T102730_20250605T122455_0179_126_336_2160_PS1_O_NR_003",
    ),
)  # fmt: skip


def local(world) -> Site:
    return Site(
        stac=world.endpoints.stac,
        s2=("eopf-sentinel-2-l2a", "S2A_MSIL2A_20250109T100401_N0511_R122_T34UCE_20250109T122750"),
        s1_ocn=("sentinel-1-l2-ocn", "S1A_IW_OCN__2SDV_20250321T063156_20250321T063221_058399_0738CE_2479"),  # noqa: E501
        s3_lfr=(
            "sentinel-3-olci-l2-lfr",
            "S3B_OL_2_LFR____20250416T063752_20250416T064052_20250416T083835_0179_105_248_3240_ESA_O_NR_003",
        ),
    )  # fmt: skip


def item_of(site: Site, which: tuple[str, str]):
    collection, item_id = which
    return xsa.search(site.stac, collections=[collection], ids=[item_id]).items[0]


# --8<-- [start:workflow]
def workflow(site: Site, run: Run) -> None:
    s2 = xr.open_datatree(item_of(site, site.s2), engine="stacasset", chunks={})
    run.say("S2 groups", sorted(s2.children))
    reflectance = s2["measurements/reflectance"]
    run.say(
        "S2 chunk sizes", {res: chunk_sizes(reflectance[res]) for res in ("r10m", "r20m", "r60m")}
    )
    b08 = s2["measurements/reflectance/r10m"]["b08"]
    run.say("S2 b08", {"long_name": b08.attrs.get("long_name"), "shape": list(b08.shape)})
    tci = s2["quality/l2a_quicklook/r60m"].to_dataset()
    run.picture("S2 TCI", tci.eo.quicklook(path=run.path("s2_tci.png")))

    ocn = xr.open_datatree(item_of(site, site.s1_ocn), engine="stacasset", chunks={})
    owi = next(iter(ocn["owi"].children.values()))["measurements"].to_dataset()
    wind = gridded(run, "S1 wind", owi[["wind_direction", "wind_speed"]])
    run.picture("S1 wind map", wind.eo.quicklook(path=run.path("s1_ocn_wind.png")))

    lfr = xr.open_datatree(item_of(site, site.s3_lfr), engine="stacasset", chunks={})
    olci = lfr["measurements"].to_dataset()[["gifapar"]]
    run.picture("S3 swath", olci.eo.quicklook(path=run.path("s3_olci_gifapar_swath.png")))
    gifapar = gridded(run, "S3 GIFAPAR", olci)
    run.picture("S3 GIFAPAR map", gifapar.eo.quicklook(path=run.path("s3_olci_gifapar.png")))


def chunk_sizes(node: xr.DataTree) -> list[int]:
    """The chunk sizes of a group's arrays, as the seed prints them."""
    return sorted(set(itertools.chain(*node.to_dataset().chunksizes.values())))


def gridded(run: Run, step: str, swath: xr.Dataset) -> xr.Dataset:
    """``.eo.grid`` at 0.01°, as the seed's griddata, and what it made."""
    began = time.perf_counter()
    grid = swath.eo.grid(resolution=0.01).compute()
    first = grid[next(iter(swath.data_vars))]
    run.say(step, {
        "sizes": dict(grid.sizes), "cells filled": int(grid["coverage"].sum()),
        "crs": str(grid.rio.crs), "seconds": round(time.perf_counter() - began, 2),
        "range": [round(float(first.min()), 3), round(float(first.max()), 3)],
    })  # fmt: skip
    return grid


# --8<-- [end:workflow]


if __name__ == "__main__":
    raise SystemExit(main(__doc__, workflow, online=ONLINE, local=local, name=Path(__file__).stem))
