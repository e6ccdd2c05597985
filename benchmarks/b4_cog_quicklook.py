"""B4: the quicklook of a 10980 x 10980 COG with overviews, against a full read and seed 004.

The COG is a Sentinel-2-like true-colour image (3 bands uint8, a landscape with texture and
clouds from the replica's generators), written once by GDAL's COG driver (512² tiles, DEFLATE
with predictor, internal overviews 2, 4, 8, 16) into the benchmark data cache and served,
public, by the world's file server (2048² in quick mode). Every variant ends with a PNG in
memory of about the same picture.

* ``ours``: ``xr.open_dataset(href, engine="stacasset").eo.quicklook()`` (it chooses the
  coarsest overview whose long side is at least 1024 px), saved as PNG;
* ``full``: the full-resolution image read through rioxarray ``/vsicurl/`` (tuned settings),
  strided to the same picture;
* ``seed``: seed 004's ``stream_stac_quicklook`` read: ``rasterio.open("/vsicurl/...")`` with
  its ``gdal_env``, ``ds.read(out_shape=...)`` at the ``overview_level`` giving ours' overview
  (all three bands, for the same picture), so GDAL reads that overview.

Target: bytes ≤ 1.2 x (header + the chosen overview's tiles). Floor: the header, then those
tiles (consecutive in a COG: one range).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import xarray as xr

import xstac_access  # noqa: F401  (the .eo accessor)
from benchmarks import _harness as h

ID = "B4"
TITLE = "quicklook of a 10980² COG with overviews"
PATH = f"{h.SERVED_PREFIX}/b4/visual.tif"
LABELS = {
    "ours": "xstac-access .eo.quicklook",
    "full": "full-resolution read",
    "seed": "seed 004 /vsicurl/ overview read",
}
GDAL = {"GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR", "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES"}
CAUSES: dict[str, str] = {}


SPEC = h.Spec(ID, TITLE, CAUSES)


def write_visual(path: Path, size: int) -> None:
    """A true-colour COG of ``size`` x ``size`` px (10 m pixels of one UTM tile)."""
    from rasterio.transform import from_origin

    from xstac_access.testing.replica import _raster

    words = _raster.seed_words(0, "b4-visual")
    classes = _raster.landscape(words, (size, size))
    clouds = _raster.cloud_mask(_raster.seed_words(0, "b4-clouds"), (size, size), 15.0)
    rng = _raster.rng_for(0, "b4-texture")
    bands = [_raster.textured(_raster.reflectance(classes, f, clouds), rng) for f in (2, 1, 0)]
    rgb = _raster.true_colour(*bands)
    del bands
    transform = from_origin(600000.0, 5000040.0, 109800 / size, 109800 / size)
    tags = {"DESCRIPTION": "b4 visual"}
    _raster.write_cog(path, rgb, "EPSG:32632", transform, None, tags=tags, blocksize=512)


def prepare(ctx: h.Context) -> dict[str, Any]:
    size = 2048 if ctx.quick else 10980
    local = h.cached(f"b4-visual-{size}.tif", lambda p: write_visual(p, size))
    url = ctx.stack.enter_context(h.served(ctx.world, {PATH: local}))[PATH]
    with rasterio.open(local) as src:
        factors = src.overviews(1)
        shape = (src.height, src.width)
    level = max(i for i, f in enumerate(factors) if max(s // f for s in shape) >= 1024)
    chosen = h.geotiff_blocks(local, level)
    header = h.cog_header_bytes(local)
    tiles = sorted(set(chosen.values()))
    return {
        "url": url,
        "level": level,
        "factor": factors[level],
        "layout": {
            "size": size,
            "overviews": factors,
            "file_bytes": local.stat().st_size,
            "header_bytes": header,
            "overview_tiles": len(tiles),
            "overview_tile_bytes": sum(n for _, n in tiles),
            "overview_runs": h.runs_of(tiles),
        },
    }


def _png(values: np.ndarray) -> int:
    """Size of a PNG of a (3, y, x) picture drawn the way a notebook draws it."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 6))
    fig.add_subplot().imshow(np.moveaxis(values, 0, -1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.tell()


def measure(ctx: h.Context, s: dict[str, Any]) -> list[dict[str, Any]]:
    url, factor = s["url"], s["factor"]

    def ours() -> dict[str, Any]:
        look = xr.open_dataset(url, engine="stacasset").eo.quicklook()
        buf = io.BytesIO()
        look.figure.savefig(buf, format="png")
        return {"shape": list(look.shape), "overview_level": look.overview_level}

    def full() -> dict[str, Any]:
        import rioxarray

        with rasterio.Env(**GDAL):
            values = rioxarray.open_rasterio("/vsicurl/" + url).values
        picture = values[:, ::factor, ::factor]
        _png(picture)
        return {"shape": list(picture.shape[1:])}

    def seed() -> dict[str, Any]:  # seed 004, overview_level chosen to match ours
        overview_level = s["level"] + 1
        gdal_env = {"AWS_NO_SIGN_REQUEST": "YES", "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": "tif,tiff"}
        with rasterio.Env(**gdal_env), rasterio.open("/vsicurl/" + url) as ds:
            olist = ds.overviews(1)
            idx = max(0, min(overview_level - 1, len(olist) - 1))
            out_h, out_w = max(1, ds.height // olist[idx]), max(1, ds.width // olist[idx])
            arr = ds.read(out_shape=(ds.count, out_h, out_w))
        _png(arr)
        return {"shape": [out_h, out_w]}

    variants = {"ours": ours, "full": full, "seed": seed}
    runs = h.alternate(ctx, variants, h.file_counter(ctx.world.files, h.under(PATH)))
    summaries = {name: h.summary(r, LABELS[name]) for name, r in runs.items()}
    lay = s["layout"]
    bytes_min = lay["header_bytes"] + lay["overview_tile_bytes"]
    fl = h.floor([(1, 1), (lay["overview_runs"], 1)], bytes_min, ctx.latency_ms, ctx.bandwidth)
    targets = [
        h.target(
            "bytes",
            "bytes ≤ 1.2 x (header + overview tiles)",
            h.ratio(summaries["ours"]["bytes"], bytes_min),
            1.2,
            deterministic=True,
        ),
    ]
    return [
        SPEC.record(ctx, summaries, floor_=fl, targets=targets, layout=lay, overview_factor=factor)
    ]
