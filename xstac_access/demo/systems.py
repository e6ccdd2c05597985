"""The demo's five seed workflows, one function per catalogue, each on the local replica.

Each function's first docstring line is its heading in the demo's report. What a seed notebook
does in a page of plumbing is here one or two calls: the credential is configured once, every
open is lazy, every picture is one ``.eo`` call, every download one :func:`download` call.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from .. import credentials
from .._download import download
from .._search import collection_search, search
from ..testing.endpoints import started
from .stage import Demo, indent

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..eo.quicklook import Quicklook

# The ``type: ignore[arg-type]`` on xr.open_dataset / open_datatree: xarray annotates
# ``filename_or_obj`` as paths, buffers and stores, while an engine may take anything (this
# one takes STAC items); the demo calls it the way users do.
WINDOW = 512
BIOMASS = "platform='Biomass' and parentIdentifier='EOP:ESA:MAAP'"  # seed 000's CQL2 filter


def _limits(ql: Quicklook) -> str:
    unit = " dB" if ql.kind == "sar" else ""
    return ", ".join(f"{k} {lo:.2f}..{hi:.2f}{unit}" for k, (lo, hi) in ql.limits.items())


def _picture(demo: Demo, ql: Quicklook, cost: Any) -> None:
    level = "" if ql.overview_level is None else f" (overview {ql.overview_level})"
    saved = ql.path.name if ql.path is not None else "(not saved)"
    demo.step(
        f"quicklook -> {saved}: {ql.kind}, {ql.shape[0]} x {ql.shape[1]} px read"
        f"{level}; {_limits(ql)}; {cost}"
    )


def _downloaded(demo: Demo, report: Any) -> None:
    names = ", ".join(f"{e.path.name} ({e.status})" for e in report.entries if e.path)
    demo.step(f"download: {report.summary()}")
    demo.step(f"   {names}")


def maap(demo: Demo) -> None:
    """ESA MAAP, Biomass L1a (seed 000): collection search, footprint, 4 polarisations, download"""
    world, e = demo.world, started(demo.world.endpoints)
    found = collection_search(
        e.stac, filter="platform='Biomass' and parentIdentifier='EOP:ESA:MAAP'"
    )
    demo.step(f"collection search (CQL2 filter on the server): {sorted(c.id for c in found)}")
    items = search(e.stac, collections=["BiomassLevel1a"], sortby="-datetime")
    table = items.to_dataframe()[["id", "datetime"]].to_string(index=False)
    demo.step(f"{len(items)} items, newest first:\n{indent(table)}")
    item = items.items[0]

    quad = xr.open_dataset(item, engine="stacasset", asset="quicklook_kml")  # type: ignore[arg-type]
    lonlat = zip(quad.longitude.values, quad.latitude.values, strict=True)
    corners = ", ".join(f"{lon:.3f} {lat:.3f}" for lon, lat in lonlat)
    demo.step(f"KML quad corners (lon lat): {corners}")
    demo.step(f"footprint (the item's, carried with the data): {quad.eo.footprint().wkt[:60]}...")

    demo.step('credentials.configure(maap={"offline_token": ...})  # once; local endpoints here')
    credentials.configure(maap=world.credentials()["maap"])
    ds = xr.open_dataset(item, engine="stacasset", asset="enclosure_i_abs_tiff")  # type: ignore[arg-type]
    gcps = ds.rio.get_gcps()
    demo.step(
        f"enclosure_i_abs_tiff: bands {list(ds.data_vars)}, {ds.sizes['y']} x {ds.sizes['x']} "
        f"px, {len(gcps)} GCPs"
    )
    with demo.cost("/maap/data/") as cost:
        window = ds.to_array("band")[:, :256, :256].values
    tokens = started(world.oidc).stats()["token_requests"]
    demo.step(f"window {window.shape}: {cost}; token requests: {tokens}")
    with demo.cost("/maap/data/") as cost:
        ql = ds.eo.quicklook(path=demo.path("biomass_polarisations.png"))
    _picture(demo, ql, cost)
    with demo.cost("/maap/") as cost:
        report = download(
            item, demo.path("downloads/maap"), assets=["quicklook_kml", "enclosure_i_abs_tiff"]
        )
    _downloaded(demo, report)


def earth_search(demo: Demo) -> None:
    """Earth Search and NASA CMR (seed 001): search, a COG window, RGB, GCP geocoding, Earthdata"""
    world, e = demo.world, started(demo.world.endpoints)
    found = search(
        e.stac,
        collections=["sentinel-2-l2a"],
        bbox=[-106.0, 39.0, -104.0, 41.0],
        datetime="2023-01-01/2023-12-31",
        query={"eo:cloud_cover": {"lt": 20}},
        sortby="eo:cloud_cover",
    )
    saved = found.to_geojson(demo.path("earth_search.geojson"))
    demo.step(f"{len(found)} items with cloud < 20 %, least cloudy first -> {saved.name}")
    item = found.items[0]
    for key in ("red", "visual"):
        demo.step(f"{key}: {_file_size_text(demo, item.assets[key].href)}")

    ds = xr.open_dataset(item, engine="stacasset", asset="red")  # type: ignore[arg-type]
    demo.step(f"open {item.id} 'red': CRS {ds.rio.crs}, {ds.sizes['y']} x {ds.sizes['x']} px")
    path = item.assets["red"].href[len(e.http) :]
    with demo.cost(path) as cost:
        block = ds["red"][:WINDOW, :WINDOW].values
    size = demo.file_size(item.assets["red"].href)
    demo.step(
        f"window {block.shape}: {cost} of a {size / 1e6:.2f} MB file "
        f"({cost.bytes / size:.1%}); mean {np.nanmean(block):.4f}"
    )
    visual = xr.open_dataset(item, engine="stacasset", asset="visual")  # type: ignore[arg-type]
    with demo.cost(item.assets["visual"].href[len(e.http) :]) as cost:
        ql = visual.eo.quicklook(max_size=512, path=demo.path("earth_search_rgb.png"))
    _picture(demo, ql, cost)

    grd = search(e.stac, collections=["sentinel-1-grd"], max_items=1).items[0]
    sar = xr.open_dataset(grd, engine="stacasset", asset="hh", storage_options=world.s3_options())  # type: ignore[arg-type]
    began = time.perf_counter()
    geo = sar.eo.geocode()
    lat, lon = geo["latitude"], geo["longitude"]
    corners = [(float(lat[i, j]), float(lon[i, j])) for i, j in ((0, 0), (-1, -1))]
    demo.step(
        f"S1 GRD on S3, {len(sar.rio.get_gcps())} GCPs -> 2-D lat/lon {lat.shape} (lazy), "
        f"first/last pixel {corners[0][0]:.3f},{corners[0][1]:.3f} / "
        f"{corners[1][0]:.3f},{corners[1][1]:.3f} in {time.perf_counter() - began:.2f} s"
    )

    cmr = search(
        started(world.stac_quirks).url("cmr"),
        collections=["HLSS30_2.0"],
        query={"eo:cloud_cover": {"lt": 30}},
    )
    demo.step(f"HLS through a CMR-like API that ignores cloud cover: {len(cmr)} items")
    for text in cmr.notes:
        demo.step(f"   note: {text}")
    credentials.configure(earthdata=world.credentials()["earthdata"])
    granule = cmr.items[0]
    b04 = xr.open_dataset(granule, engine="stacasset", asset="B04")  # type: ignore[arg-type]
    with demo.cost("/") as cost:
        values = b04["B04"][:256, :256].values
    demo.step(f"Earthdata login (netrc-like, cookies kept): B04 window {values.shape}: {cost}")
    with demo.cost("/hls/") as cost:
        report = download(granule, demo.path("downloads/hls"), assets=["B04", "Fmask"])
    _downloaded(demo, report)


def eopf(demo: Demo) -> None:
    """EOPF Sentinel Zarr samples (seed 002): S2 tree, S1 OCN wind, S3 OLCI GIFAPAR, gridding"""
    e = started(demo.world.endpoints)
    s2 = search(e.stac, collections=["eopf-sentinel-2-l2a"], max_items=1).items[0]
    tree = xr.open_datatree(s2, engine="stacasset", chunks={})  # type: ignore[arg-type]
    r10m = tree["measurements/reflectance/r10m"]
    demo.step(
        f"S2 L2A tree from the asset's xarray:open_datatree_kwargs: groups {sorted(tree.children)};"
        f" r10m {sorted(r10m.data_vars)} {dict(r10m.sizes)}, chunks {r10m['b04'].data.chunksize}"
    )
    tci = tree["quality/l2a_quicklook/r60m"].to_dataset()
    ql = tci.eo.quicklook(path=demo.path("eopf_s2_tci.png"))
    demo.step(f"quicklook -> {ql.path.name}: {ql.kind}, {ql.shape[0]} x {ql.shape[1]} px")

    ocn = search(e.stac, collections=["sentinel-1-l2-ocn"], max_items=1).items[0]
    wind = xr.open_dataset(ocn, engine="stacasset", asset="owi_measurements")  # type: ignore[arg-type]
    ql = wind.eo.quicklook(bands="wind_speed", path=demo.path("eopf_s1_ocn_wind_speed.png"))
    demo.step(f"S1 OCN wind on its swath -> {ql.path.name}: {_limits(ql)} m/s")

    lfr = search(e.stac, collections=["sentinel-3-olci-l2-lfr"], max_items=1).items[0]
    olci = xr.open_dataset(lfr, engine="stacasset", asset="measurements")  # type: ignore[arg-type]
    ql = olci.eo.quicklook(bands="gifapar", path=demo.path("eopf_s3_olci_gifapar.png"))
    demo.step(f"S3 OLCI GIFAPAR on its swath -> {ql.path.name}: {_limits(ql)}")
    began = time.perf_counter()
    grid = olci[["gifapar"]].eo.grid(resolution=0.01)
    filled = int(np.isfinite(grid["gifapar"].values).sum())
    demo.step(
        f"gridded (linear on the swath's triangles, no scipy): {dict(grid.sizes)} in "
        f"{time.perf_counter() - began:.2f} s, {filled} cells filled, CRS {grid.rio.crs}"
    )
    ql = grid.eo.quicklook(bands="gifapar", path=demo.path("eopf_s3_olci_gifapar_gridded.png"))
    demo.step(f"the regular grid -> {ql.path.name}: {ql.shape[0]} x {ql.shape[1]} px read")


def cdse(demo: Demo) -> None:
    """Copernicus Data Space (seed 003): STAC v1, password grant, zip members by range, a band"""
    world = demo.world
    cdse = started(world.stac_quirks).url("cdse")
    found = search(cdse, collections=["sentinel-2-l2a"], max_items=1)
    item = found.items[0]
    demo.step(f"CDSE STAC v1: {item.id}, {len(item.assets)} assets (SAFE files, the zip)")
    demo.step('credentials.configure(cdse={"username": ..., "password": ...})')
    credentials.configure(cdse=world.credentials()["cdse"])
    by_range = 0
    with demo.cost("/cdse/") as cost:
        listing = xr.open_dataset(item, engine="stacasset", asset="Product")  # type: ignore[arg-type]
    by_range += cost.bytes
    demo.step(f"members of the SAFE zip: {listing.sizes['member']}, listed with {cost}")
    with demo.cost("/cdse/") as cost:
        mtd = xr.open_dataset(item, engine="stacasset", asset="Product", member="*/MTD_MSIL2A.xml")  # type: ignore[arg-type]
    by_range += cost.bytes
    baseline = mtd.attrs["General_Info/Product_Info/PROCESSING_BASELINE"]
    demo.step(f"MTD_MSIL2A.xml as attrs (processing baseline {baseline}): {cost}")
    with demo.cost("/cdse/") as cost:  # s3://eodata without S3 keys: its OData alternate
        tci = xr.open_dataset(item, engine="stacasset", asset="TCI_60m")  # type: ignore[arg-type]
        ql = tci.eo.quicklook(path=demo.path("cdse_tci_60m.png"))
    by_range += cost.bytes
    _picture(demo, ql, cost)
    with demo.cost("/cdse/") as cost:
        report = download(item, demo.path("downloads/cdse"), assets=["Product"])
    _downloaded(demo, report)
    demo.step(
        f"by range: {by_range / 1e6:.2f} MB for the listing, the XML and the TCI; the seed's "
        f"whole-zip download: {cost.bytes / 1e6:.2f} MB ({cost.bytes / by_range:.0f}x)"
    )


def resilient(demo: Demo) -> None:
    """Any STAC API (seed 004): a catalogue that rejects `query`, then an overview quicklook"""
    world = demo.world
    found = search(
        started(world.stac_quirks).url("noquery"),
        collections=["sentinel-2-l2a"],
        query={"eo:cloud_cover": {"lt": 20}},
        max_items=5,
    )
    demo.step(f"{len(found)} items with cloud < 20 % (query sent as {found.strategy.query})")
    for text in found.notes:
        demo.step(f"   note: {text}")
    item = found.items[0]
    visual = xr.open_dataset(item, engine="stacasset", asset="visual")  # type: ignore[arg-type]
    path = item.assets["visual"].href[len(started(world.endpoints).http) :]
    with demo.cost(path) as cost:
        ql = visual.eo.quicklook(max_size=256, path=demo.path("overview_quicklook.png"))
    _picture(demo, ql, cost)
    with demo.cost(path) as cost:
        report = download(item, demo.path("downloads/earth_search"), assets=["visual"])
    _downloaded(demo, report)


def _file_size_text(demo: Demo, href: str) -> str:
    return f"{demo.file_size(href) / 1e6:.2f} MB COG"


ALL: tuple[Callable[[Demo], None], ...] = (maap, earth_search, eopf, cdse, resilient)
