"""The offline demo (``xstac demo`` / ``make demo``): the seed workflows on the local replica.

It starts the local world (STAC API, file server, S3 store, token server on 127.0.0.1), searches
the catalogue, opens a Cloud-Optimized GeoTIFF and a GCP-only SAR GeoTIFF through
``xr.open_dataset(..., engine="stacasset")``, reads a window of each and prints what a user needs
to see: the dataset, its CRS or GCPs, and how many requests and bytes the read cost.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

import numpy as np
import xarray as xr

WINDOW = 512


def run_demo(*, latency_ms: int = 0, out: TextIO = sys.stdout) -> None:
    """Run the demo against a fresh local world and print its report to ``out``."""
    from pystac_client import Client

    from .testing.world import LocalWorld

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    say("Starting the local replica world (STAC API, HTTP, S3, OIDC on 127.0.0.1)...")
    with LocalWorld(latency_ms=latency_ms) as world:
        ends = world.endpoints
        say(
            f"  up in {world.start_seconds:.1f} s: STAC API {ends.stac}, files {ends.http}, "
            f"S3 {ends.s3}, OIDC {ends.oidc}"
        )
        catalog = Client.open(ends.stac)
        say()
        say("1. Search Earth Search-like Sentinel-2 L2A, least cloudy first")
        search = catalog.search(collections=["sentinel-2-l2a"], max_items=10)
        items = sorted(search.items(), key=lambda i: i.properties.get("eo:cloud_cover", 100))
        for item in items:
            say(
                f"   {item.id}  {item.datetime:%Y-%m-%d}  "
                f"cloud {item.properties.get('eo:cloud_cover', float('nan')):5.1f} %"
            )
        item = items[0]

        say()
        say(f"2. Open asset 'red' of {item.id} (a COG over HTTP), lazily")
        world.files.reset()
        ds = xr.open_dataset(item, engine="stacasset", asset="red")
        say(_indent(repr(ds)))
        say(
            f"   CRS {ds.rio.crs}, size {ds.sizes['y']} x {ds.sizes['x']}, "
            f"overviews {ds['red'].encoding['overviews']}"
        )
        _report_window(say, world, ds["red"], item.assets["red"].href, ends.http)

        say()
        say("3. Open a GCP-only Sentinel-1 GRD GeoTIFF (no geotransform) from the S3 store")
        grd = next(catalog.search(collections=["sentinel-1-grd"], max_items=1).items())
        s3 = {"anon": True, "client_kwargs": {"endpoint_url": ends.s3}}
        grd_ds = xr.open_dataset(grd, engine="stacasset", asset="hh", storage_options=s3)
        say(_indent(repr(grd_ds)))
        gcps = grd_ds.rio.get_gcps()
        lons = [g.x for g in gcps]
        lats = [g.y for g in gcps]
        say(
            f"   {len(gcps)} GCPs in {grd_ds.rio.crs}: lon {min(lons):.2f}..{max(lons):.2f}, "
            f"lat {min(lats):.2f}..{max(lats):.2f}"
        )
        started = time.perf_counter()
        window = grd_ds["hh"][:WINDOW, :WINDOW].values
        say(
            f"   window {window.shape} read in {time.perf_counter() - started:.2f} s, "
            f"mean DN {np.nanmean(window):.1f}"
        )
        _maap_step(say, world, catalog)
        _eopf_step(say, catalog)
    say()
    say("Done: every server was stopped.")


def _maap_step(say, world, catalog) -> None:
    """ESA MAAP: an offline token configured once, then a protected Biomass-like GeoTIFF."""
    from . import credentials

    ends = world.endpoints
    say()
    say("4. ESA MAAP: configure the offline token once, open a protected Biomass L1a GeoTIFF")
    say('   credentials.configure(maap={"offline_token": <token>})  # + local endpoints here')
    credentials.configure(maap={
        "offline_token": world.oidc.offline_token("maap", "maap-user"),
        "token_url": f"{ends.oidc}/realms/maap/protocol/openid-connect/token",
        "client_secret": "offline-token-public-secret", "hosts": [f"{ends.http}/maap/data/*"],
    })  # fmt: skip
    try:
        item = next(catalog.search(collections=["BiomassLevel1a"], max_items=1).items())
        world.files.reset()
        ds = xr.open_dataset(item, engine="stacasset", asset="enclosure_i_abs_tiff")
        say(
            f"   {item.id}: bands {list(ds.data_vars)}, {ds.sizes['y']} x {ds.sizes['x']} px, "
            f"{len(ds.rio.get_gcps())} GCPs"
        )
        window = ds.to_array("band")[:, :256, :256].values
        stats = world.files.stats()
        data = [e for e in stats["log"] if e["path"].startswith("/maap/data/")]
        tokens = world.oidc.stats()["token_requests"]
        say(
            f"   window {window.shape} read with {len(data)} authorised requests, "
            f"{sum(e['bytes'] for e in data) / 1e6:.2f} MB; token requests: {tokens}"
        )
    finally:
        credentials.reset()


def _report_window(say, world, array: xr.DataArray, href: str, base: str) -> None:
    """Read a WINDOW x WINDOW block; print what the open and the read cost at the server."""
    path = href[len(base) :]
    opened = _counts(world, path)
    started = time.perf_counter()
    block = array[:WINDOW, :WINDOW].values
    seconds = time.perf_counter() - started
    requests, moved = _counts(world, path)
    total = _file_size(world, path)
    say(
        f"   open: {opened[0]} requests, {opened[1] / 1e3:.0f} kB; window {block.shape} read in "
        f"{seconds:.2f} s; in all {requests} requests, {moved / 1e6:.2f} MB of a "
        f"{total / 1e6:.2f} MB file ({moved / total:.1%})"
    )


def _counts(world, path: str) -> tuple[int, int]:
    stats = world.files.stats()
    return stats["requests"].get(f"main:{path}", 0), stats["bytes"].get(f"main:{path}", 0)


def _file_size(world, path: str) -> int:
    return (world.replica.files_root / path.lstrip("/")).stat().st_size


def _indent(text: str) -> str:
    return "\n".join("   " + line for line in text.splitlines())


def _eopf_step(say, catalog) -> None:
    """EOPF Zarr: the product as a DataTree from its catalogue hints, and a KML footprint."""
    say()
    say("5. EOPF Sentinel-2 L2A product as a DataTree; a Biomass footprint from its KML")
    item = next(catalog.search(collections=["eopf-sentinel-2-l2a"], max_items=1).items())
    tree = xr.open_datatree(item, engine="stacasset", chunks={})
    r10m = tree["measurements/reflectance/r10m"]
    say(
        f"   {item.id}: groups {sorted(tree.children)}; r10m {sorted(r10m.data_vars)} "
        f"{dict(r10m.sizes)}, chunks {r10m['b04'].data.chunksize}"
    )
    biomass = next(catalog.search(collections=["BiomassLevel1a"], max_items=1).items())
    footprint = xr.open_dataset(biomass, engine="stacasset", asset="quicklook_kml")
    say(f"   footprint: {footprint.attrs['footprint_wkt'][:72]}...")
