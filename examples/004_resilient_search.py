"""Any STAC API, resiliently (seed 004): a search that survives the catalogue, then a quicklook.

The seed snippet posts the search three times by hand (``query``, then no filter, then a
CQL2-JSON filter) until a catalogue accepts one, scores the item's assets to find a COG, and
reads a low-resolution overview through GDAL's ``/vsicurl/`` to plot it. Here ``search`` reads
the API's conformance classes, sends the filter in a form the catalogue takes (evaluating it
itself when none is) and says what it did in ``found.notes``; ``.eo.quicklook`` reads the
smallest sufficient COG overview.

Run::

    python examples/004_resilient_search.py             # offline: a catalogue without `query`
    python examples/004_resilient_search.py --online    # Earth Search v1 (public)

Offline, the catalogue is the local STAC API behind a proxy that answers ``query`` with HTTP
400 and does not declare the Query extension, as some real deployments do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import xarray as xr
from _local import Run, main

import xstac_access as xsa


@dataclass(frozen=True)
class Site:
    stac: str
    collection: str = "sentinel-2-l2a"
    bbox: tuple[float, float, float, float] = (-105.9, 40.1, -105.3, 40.6)  # Rocky Mountain NP
    datetime: str = "2024-08-01T00:00:00Z/2024-08-07T23:59:59Z"
    asset: str = "visual"


ONLINE = Site(stac="https://earth-search.aws.element84.com/v1")


def local(world) -> Site:
    """The replica's Earth Search tiles over the park, behind a proxy that rejects ``query``."""
    return Site(stac=world.stac_quirks.url("noquery"), datetime="2023-10-01/2023-10-31")


# --8<-- [start:workflow]
def workflow(site: Site, run: Run) -> None:
    found = xsa.search(
        site.stac, collections=[site.collection], bbox=site.bbox, datetime=site.datetime,
        query={"eo:cloud_cover": {"lt": 20}}, max_items=1,
    )  # fmt: skip
    run.say("found", {"items": [i.id for i in found], "query sent as": found.strategy.query,
                      "notes": found.notes})  # fmt: skip
    item = found.items[0]
    run.say("cloud cover", item.properties["eo:cloud_cover"])

    visual = xr.open_dataset(item, engine="stacasset", asset=site.asset)
    run.say("full size", {"shape": [visual.sizes["y"], visual.sizes["x"]],
                          "crs": str(visual.rio.crs)})  # fmt: skip
    ql = visual.eo.quicklook(max_size=256, path=run.path("overview_quicklook.png"))
    run.picture("quicklook", ql)


# --8<-- [end:workflow]


if __name__ == "__main__":
    raise SystemExit(main(__doc__, workflow, online=ONLINE, local=local, name=Path(__file__).stem))
