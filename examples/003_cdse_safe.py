"""Copernicus Data Space (seed 003): password login, SAFE zip members by range, vs EOPF Zarr.

The seed tutorial logs in with a password grant at CDSE's Keycloak, downloads the whole SAFE zip
of a Sentinel-2 L2A product (0.7 GB, 138 s), unzips it to read ``MTD_MSIL2A.xml`` and
``MTD_TL.xml``, then opens the same product as EOPF Zarr through s3fs with a custom endpoint
(1.5 s) and compares the metadata. Here the product comes from CDSE's current STAC catalogue
(``stac.dataspace.copernicus.eu/v1``: one asset per image file, ids without ``.SAFE``; the old
``catalogue.dataspace.copernicus.eu/stac`` is deprecated since 17 Nov 2025) and the zip is never
downloaded: its central directory and the wanted members are read by HTTP range (the bearer
token follows CDSE's OData redirect to the download host), the whole product opens as a
DataTree laid out like the EOPF product (metadata read at open, a 10 m window and a quicklook
from the product's 60 m copies read by range), the true-colour image is read from its own
asset, and the EOPF product opens from its STAC item.

Run::

    python examples/003_cdse_safe.py                    # offline, on the local replica
    python examples/003_cdse_safe.py --online           # stac.dataspace.copernicus.eu/v1
    python examples/003_cdse_safe.py --whole-zip        # also download the zip, as the seed

``--online`` needs a CDSE account (https://dataspace.copernicus.eu)::

    export XSTAC_CDSE_USERNAME=me@example.org XSTAC_CDSE_PASSWORD=...
    # or in ~/.config/xstac-access/config.toml:  [cdse]  username = "..."  password = "..."
    # two-factor accounts: configure(cdse={..., "totp": pyotp.TOTP(secret).now})

The password is sent once; later tokens come from the refresh token (each password login
counts against CDSE's session quota). The band assets live on ``s3://eodata``, which wants CDSE
S3 keys; without them they are read through their OData alternate with the same login. The
EOPF side is public. On the local replica the EOPF product is another Sentinel-2 L2A scene than
the SAFE one (the replica has one of each).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr
from _local import Run, main

import xstac_access as xsa

#: The seed's metadata fields, by the name of their XML element.
WANTED = (
    "PRODUCT_URI", "SPACECRAFT_NAME", "PROCESSING_LEVEL", "PRODUCT_TYPE", "PROCESSING_BASELINE",
    "PRODUCT_START_TIME", "GENERATION_TIME", "HORIZONTAL_CS_CODE",
    "CLOUDY_PIXEL_OVER_LAND_PERCENTAGE",
)  # fmt: skip


@dataclass(frozen=True)
class Site:
    cdse: str  # CDSE's STAC catalogue
    eopf: str  # the EOPF Sentinel Zarr sample service
    safe: tuple[str, str]  # (collection, item id) of the SAFE product
    zarr: tuple[str, str]  # (collection, item id) of its EOPF Zarr twin


ONLINE = Site(
    cdse="https://stac.dataspace.copernicus.eu/v1/",
    eopf="https://stac.core.eopf.eodc.eu/",
    safe=("sentinel-2-l2a", "S2C_MSIL2A_20250415T102041_N0511_R065_T32UNC_20250415T160234"),
    zarr=("sentinel-2-l2a", "S2C_MSIL2A_20250415T102041_N0511_R065_T32UNC_20250415T160234"),
)


def local(world) -> Site:
    return Site(
        cdse=world.stac_quirks.url("cdse"),  # the replica's CDSE v1 catalogue
        eopf=world.endpoints.stac,
        safe=("sentinel-2-l2a", "S2B_MSIL2A_20250605T103629_N0511_R008_T32UNC_20250605T130410"),
        zarr=("eopf-sentinel-2-l2a", "S2A_MSIL2A_20250109T100401_N0511_R122_T34UCE_20250109T122750"),  # noqa: E501
    )  # fmt: skip


def options(parser) -> None:
    parser.add_argument("--whole-zip", action="store_true", help="also download the SAFE zip")


def item_of(stac: str, which: tuple[str, str]):
    collection, item_id = which
    return xsa.search(stac, collections=[collection], ids=[item_id]).items[0]


# --8<-- [start:workflow]
def workflow(site: Site, run: Run) -> None:
    safe = item_of(site.cdse, site.safe)
    with timed(run, "SAFE zip"):  # the password login, then the zip's central directory
        listing = xr.open_dataset(safe, engine="stacasset", asset="Product")
        run.say("SAFE zip", {"members": listing.sizes["member"],
                             "MB": round(float(listing["size"].sum()) / 1e6, 2)})  # fmt: skip
    with timed(run, "SAFE metadata"):
        metadata = {}
        for member in ("*/MTD_MSIL2A.xml", "*/GRANULE/*/MTD_TL.xml"):
            xml = xr.open_dataset(safe, engine="stacasset", asset="Product", member=member)
            metadata |= {
                k.rsplit("/", 1)[-1]: v for k, v in xml.attrs.items() if k.endswith(WANTED)
            }
        run.say("SAFE metadata", metadata)
    with timed(run, "SAFE tree"):  # the whole product, laid out like EOPF's, read by range
        tree = xr.open_datatree(safe, engine="stacasset", asset="Product")
        r10m = tree["measurements/reflectance/r10m"]
        window = r10m["b04"][:512, :512].values  # one 10 m window: a part of one member
        run.say("SAFE tree", {
            "groups": [node.path for node in tree.subtree if node.data_vars],
            "r10m": sorted(r10m.data_vars), "b04 shape": list(r10m["b04"].shape),
            "b04 window mean": round(float(np.nanmean(window)), 4),
        })  # fmt: skip
    # the product's own 20 m / 60 m copies of B04, B03, B02: no 10 m image is read
    look = tree.eo.quicklook(max_size=512, path=run.path("safe_tree_quicklook.png"))
    run.picture("SAFE tree quicklook", look)
    tci = xr.open_dataset(safe, engine="stacasset", asset="TCI_60m")  # one file of the SAFE
    run.picture("SAFE TCI 60 m", tci.eo.quicklook(path=run.path("safe_tci_60m.png")))

    with timed(run, "Zarr metadata"):
        zarr = xr.open_datatree(item_of(site.eopf, site.zarr), engine="stacasset", chunks={})
        props = zarr.attrs["stac_discovery"]["properties"]
        keys = ("platform", "processing:level", "product:type", "proj:epsg", "eo:cloud_cover")
        run.say("Zarr metadata", {k: props.get(k) for k in keys})

    if run.options.whole_zip:  # what the seed does: the whole archive, for two XML files
        with timed(run, "whole zip"):  # saved as <NAME>.SAFE.zip, the server's name for it
            report = xsa.download(safe, run.path("downloads"), assets=["Product"])
            run.downloaded("whole zip", report)


@contextmanager
def timed(run: Run, step: str) -> Iterator[None]:
    began = time.perf_counter()
    yield
    run.say(f"{step}, seconds", round(time.perf_counter() - began, 2))


# --8<-- [end:workflow]


if __name__ == "__main__":
    raise SystemExit(
        main(__doc__, workflow, online=ONLINE, local=local, name=Path(__file__).stem,
             options=options)
    )  # fmt: skip
