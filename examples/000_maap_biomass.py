"""ESA MAAP, Biomass L1a (seed 000): search, footprint map, four polarisations, a window, download.

The seed notebook finds the Biomass collections with a CQL2 collection search, lists the
``S1_SCS__1S`` products, trades the 90-day offline token for an access token at ESA's Keycloak,
streams the ``*_map.kml`` footprint (``gx:LatLonQuad``) and the GCP-georeferenced 4-band
GeoTIFF through fsspec with a bearer header, reads a window and downloads the file with a tqdm
bar. Here each of those is one call; the token exchange happens behind the first data read.

Run::

    python examples/000_maap_biomass.py                 # offline, on the local replica
    python examples/000_maap_biomass.py --online        # https://catalog.maap.eo.esa.int

``--online`` needs your MAAP offline token (https://portal.maap.eo.esa.int, valid 90 days),
configured once in any of the library's ways::

    export XSTAC_MAAP_OFFLINE_TOKEN_FILE=~/.maap-offline-token     # or XSTAC_MAAP_OFFLINE_TOKEN
    # or in ~/.config/xstac-access/config.toml:  [maap]  offline_token_file = "..."

Discovery is public; only the ``enclosure_*`` files and the product zip need the token. Online
the GeoTIFF download is about 225 MB.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import xarray as xr
from _local import Run, main

import xstac_access as xsa


@dataclass(frozen=True)
class Site:
    stac: str  # the catalogue's STAC API
    collection: str = "BiomassLevel1a"
    datetime: str = "2025-11-21/2025-11-22"  # the seed's acquisitions
    window: tuple[int, int, int, int] = (0, 200, 1000, 1500)  # the seed's (col, row, width, height)


ONLINE = Site(stac="https://catalog.maap.eo.esa.int/catalogue/")


def local(world) -> Site:
    return Site(stac=world.endpoints.stac)


# --8<-- [start:workflow]
def workflow(site: Site, run: Run) -> None:
    biomass = "platform='Biomass' and parentIdentifier='EOP:ESA:MAAP'"
    found = xsa.collection_search(site.stac, filter=biomass, datetime="2025-12-01T00:00:00Z/..")
    run.say("collections", sorted(c.id for c in found))

    items = xsa.search(
        site.stac, collections=[site.collection], filter="product:type='S1_SCS__1S'",
        datetime=site.datetime, max_items=10,
    )  # fmt: skip
    table = items.to_dataframe().sort_values("id")
    run.say("items", table["id"].tolist())
    item = items.items[0]
    run.say("item", item.id)

    kml = xr.open_dataset(item, engine="stacasset", asset="quicklook_kml")
    kml.eo.explore().save(run.path("biomass_footprint.html"))
    run.say("footprint", kml.eo.footprint().wkt)

    ds = xr.open_dataset(item, engine="stacasset", asset="enclosure_i_abs_tiff")
    run.say("bands", {"names": list(ds.data_vars), "shape": [ds.sizes["y"], ds.sizes["x"]],
                      "gcps": len(ds.rio.get_gcps())})  # fmt: skip
    run.picture("quicklook", ds.eo.quicklook(path=run.path("biomass_polarisations.png")))

    col, row, width, height = site.window
    window = ds.isel(x=slice(col, col + width), y=slice(row, row + height)).to_array("band")
    values = window.values  # only the tiles of the window are read
    run.say("window", {"shape": list(values.shape), "mean": float(values.mean())})

    report = xsa.download(item, run.path("downloads"), assets=["enclosure_i_abs_tiff"])
    run.downloaded("download", report)


# --8<-- [end:workflow]


if __name__ == "__main__":
    raise SystemExit(main(__doc__, workflow, online=ONLINE, local=local, name=Path(__file__).stem))
