"""Earth Search and NASA CMR HLS (seed 001): search, a COG band, GeoTIFF and GeoJSON, Earthdata.

The seed lesson searches Earth Search by point, then by bbox, dates and ``eo:cloud_cover < 10``
(saving the result as GeoJSON), lists an item's assets, opens a remote COG band with rioxarray
and saves it as GeoTIFF; then it searches NASA CMR-STAC for HLS granules, sorts them by cloud
cover itself (CMR ignores cloud-cover filters), shows the public ``browse`` picture and sets up
Earthdata Login (a netrc entry and GDAL cookie files) for the protected bands.

Run::

    python examples/001_earth_search_hls.py             # offline, on the local replica
    python examples/001_earth_search_hls.py --online    # Earth Search v1 and CMR-STAC LPCLOUD

Online, Earth Search needs nothing. The HLS bands need NASA Earthdata Login: a
``machine urs.earthdata.nasa.gov login <user> password <password>`` line in ``~/.netrc`` is used
by default, or ``export XSTAC_EARTHDATA_TOKEN=<token>`` (an Earthdata Login token).

The lesson used Earth Search v0 (``sentinel-s2-l2a-cogs``, band keys ``B01`` ... ``B12``), since
retired; v1's ``sentinel-2-l2a`` names the same bands by common name (``coastal`` is ``B01``,
``red`` is ``B04``). CMR-STAC's HLS collection ids are ``HLSL30_2.0``/``HLSS30_2.0`` today
(``HLSL30.v2.0`` in the lesson).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import xarray as xr
from _local import Run, main
from shapely.geometry import Point

import xstac_access as xsa


@dataclass(frozen=True)
class Site:
    earth_search: str  # Earth Search v1 STAC API
    cmr: str  # NASA CMR-STAC, LP DAAC provider
    point: tuple[float, float] = (4.89, 52.37)  # Amsterdam, the lesson's point
    datetime: str = "2020-03-20/2020-03-30"
    hls_collection: str = "HLSL30_2.0"
    hls_point: tuple[float, float] = (-73.97, 40.78)
    hls_datetime: str = "2021-02-01/2021-03-30"


ONLINE = Site(
    earth_search="https://earth-search.aws.element84.com/v1",
    cmr="https://cmr.earthdata.nasa.gov/stac/LPCLOUD",
)


def local(world) -> Site:
    """The replica's Colorado tile 13TDE; its CMR imitation ignores filters like the real one."""
    return Site(
        earth_search=world.endpoints.stac, cmr=world.stac_quirks.url("cmr"),
        point=(-105.5, 40.2), datetime="2023-10-01/2023-10-31",
        hls_collection="HLSS30_2.0", hls_point=(-105.5, 40.2), hls_datetime="2023-10-01/2023-10-31",
    )  # fmt: skip


# --8<-- [start:workflow]
def workflow(site: Site, run: Run) -> None:
    point = Point(*site.point)
    at_point = xsa.search(
        site.earth_search, collections=["sentinel-2-l2a"], intersects=point, max_items=10
    )
    run.say("items at the point", [item.id for item in at_point])

    clear = xsa.search(
        site.earth_search, collections=["sentinel-2-l2a"], bbox=point.buffer(0.01).bounds,
        datetime=site.datetime, query={"eo:cloud_cover": {"lt": 10}},
    )  # fmt: skip
    clear.to_geojson(run.path("search.geojson"))
    run.say("cloud < 10 %", [item.id for item in clear])
    item = clear.items[0]
    run.say("assets", {key: asset.title for key, asset in item.assets.items()})

    coastal = xr.open_dataset(item, engine="stacasset", asset="coastal")  # the lesson's B01
    coastal["coastal"].rio.to_raster(run.path("coastal.tif"))
    run.say("coastal.tif", {"crs": str(coastal.rio.crs), "shape": list(coastal["coastal"].shape)})

    hls = xsa.search(
        site.cmr, collections=[site.hls_collection], intersects=Point(*site.hls_point),
        datetime=site.hls_datetime, sortby="eo:cloud_cover",
    )  # fmt: skip
    run.say("hls", {"items": [i.id for i in hls], "notes": hls.notes})
    granule = hls.items[0]  # the least cloudy
    browse = xr.open_dataset(granule, engine="stacasset", asset="browse")  # public
    run.picture("browse", browse.eo.quicklook(path=run.path("hls_browse.png")))

    b04 = xr.open_dataset(granule, engine="stacasset", asset="B04")  # Earthdata Login
    window = b04["B04"][:512, :512].values
    run.say("B04 window", {"shape": list(window.shape), "mean": float(window.mean())})


# --8<-- [end:workflow]


if __name__ == "__main__":
    raise SystemExit(main(__doc__, workflow, online=ONLINE, local=local, name=Path(__file__).stem))
