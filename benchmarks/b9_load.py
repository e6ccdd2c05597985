"""B9: load 20 items x 4 bands into one cube, against odc-stac with a hand-made configure_rio.

The baseline is what a user writes today for a protected catalogue: fetch a token, put it in
GDAL's process-wide ``GDAL_HTTP_HEADERS`` with ``odc.stac.configure_rio`` and call
``odc.stac.load``. Ours is ``xstac_access.load(items, credentials=...)``: the token is
looked up per read and never set process-wide. Both read the same COG stack
(``xstac_access.testing.stack``: 20 items x 4 bands of 512² uint16, 256² tiles, deflate,
overviews; 5 items of 256² in quick mode) written under ``/maap/data/_bench_stack/``, behind
the MAAP bearer token. Both load without dask (``odc.stac.load``'s default), so reads run one after
another. Target: ≤ 1.1 x odc-stac's wall time, same bytes.
"""

from __future__ import annotations

import shutil
from typing import Any

import odc.stac
import pystac

from benchmarks import _harness as h
from xstac_access import load
from xstac_access.testing.stack import BANDS, write_stack

ID = "B9"
TITLE = "load 20 items x 4 bands"
N_ITEMS = 20
PREFIX = "/maap/data/_bench_stack"
LABELS = {"ours": "xstac-access load", "odc": "odc.stac.load + configure_rio"}
CAUSES: dict[str, str] = {}


SPEC = h.Spec(ID, TITLE, CAUSES)


def prepare(ctx: h.Context) -> dict[str, Any]:
    world = ctx.world
    root = world.replica.files_root / PREFIX.lstrip("/")
    size = 256 if ctx.quick else 512
    count = 5 if ctx.quick else N_ITEMS
    items = write_stack(root, f"{world.endpoints.http}{PREFIX}", n_items=count, size=size)
    ctx.stack.callback(shutil.rmtree, root, True)
    files = sorted(root.rglob("*.tif"))
    return {
        "items": items,
        "pystac": [pystac.Item.from_dict(i) for i in items],
        "credentials": world.credentials(),
        "token": h.BearerToken(world, "maap"),
        "files": files,
        "size": size,
    }


def measure(ctx: h.Context, s: dict[str, Any]) -> list[dict[str, Any]]:
    def odc_load() -> dict[str, Any]:
        headers = f"Authorization: Bearer {s['token'].value}"
        odc.stac.configure_rio(cloud_defaults=True, GDAL_HTTP_HEADERS=headers)
        try:
            cube = odc.stac.load(s["pystac"], bands=list(BANDS))
        finally:
            odc.stac.configure_rio()  # the token leaves the process-wide settings
        return {"checksum": int(cube["nir"].sum())}

    def ours() -> dict[str, Any]:
        cube = load(s["items"], bands=list(BANDS), credentials=s["credentials"])
        return {"checksum": int(cube["nir"].sum())}

    runs = h.alternate(
        ctx, {"ours": ours, "odc": odc_load}, h.file_counter(ctx.world.files, h.under(PREFIX))
    )
    summaries = {name: h.summary(r, LABELS[name]) for name, r in runs.items()}
    ours_s, odc_s = summaries["ours"], summaries["odc"]
    # per file: the header, then its full-resolution tiles (one merged range), one file at a time
    files = len(s["files"])
    data = sum(_data_bytes(p) for p in s["files"])
    fl = h.floor([(files, 1), (files, 1)], data, ctx.latency_ms, ctx.bandwidth)
    targets = [
        h.target(
            "wall", "wall ≤ 1.1 x odc-stac", h.ratio(ours_s["median_s"], odc_s["median_s"]), 1.1
        ),
        h.target(
            "bytes",
            "same bytes as odc-stac",
            h.ratio(ours_s["bytes"], odc_s["bytes"]),
            1.0,
            deterministic=True,
        ),
    ]
    return [
        SPEC.record(
            ctx,
            summaries,
            floor_=fl,
            targets=targets,
            same_values=h.same(summaries, "checksum"),
            stack={"items": N_ITEMS, "bands": len(BANDS), "size": s["size"], "files": files},
        )
    ]


def _data_bytes(path: Any) -> int:
    """The header and the full-resolution tiles of one COG."""
    return h.cog_header_bytes(path) + sum(n for _, n in h.geotiff_blocks(path).values())
