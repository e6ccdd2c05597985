"""B3: the Sentinel-2 true-colour quicklook of ``/quality/l2a_quicklook/r60m`` of an EOPF product.

The product and its HTTP serving are B2's (:func:`benchmarks.b2_eopf_tree.eopf_s2`). The
``tci`` array is (band, y, x) uint8: 3 x 457 x 457 in 108 chunks of 77 x 77 at ``bench`` scale
(3 x 183 x 183 in quick mode). Both variants end with a PNG of the picture in memory.

* ``ours``: ``xr.open_dataset(item, engine="stacasset", asset="product",
  group="quality/l2a_quicklook/r60m").eo.quicklook()``, saved as PNG;
* ``seed``: seed 002's Sentinel 2 example: ``xr.open_datatree(href, **kwargs)``, then
  ``dt["/quality/l2a_quicklook/r60m"].to_dataset()["tci"].plot.imshow(rgb="band")``, saved.

Target: bytes ≤ 1.05 x (consolidated metadata + the tci chunks). Floor: the metadata, then the
group's coordinates and the tci chunks at once (zarr's chunk concurrency bounds ``C``).
"""

from __future__ import annotations

import io
from typing import Any

import xarray as xr

from benchmarks import _harness as h
from benchmarks.b2_eopf_tree import eopf_s2, sizes
from xstac_access.readers._zarrstore import index_chunk_keys

ID = "B3"
TITLE = "S2 TCI quicklook from an EOPF product"
GROUP = "quality/l2a_quicklook/r60m"
LABELS = {"ours": "xstac-access .eo.quicklook", "seed": "seed 002 DataTree + plot.imshow"}
CAUSES: dict[str, str] = {}


SPEC = h.Spec(ID, TITLE, CAUSES)


def prepare(ctx: h.Context) -> dict[str, Any]:
    import matplotlib

    matplotlib.use("Agg")  # the seed draws with pyplot: no display here
    return eopf_s2(ctx)


def tci_keys(consolidated: dict[str, Any]) -> list[str]:
    """Every chunk key of the tci array."""
    array = consolidated[f"{GROUP}/tci/.zarray"]
    sep = array.get("dimension_separator") or "."
    counts = [-(-n // c) for n, c in zip(array["shape"], array["chunks"], strict=True)]
    keys = [""]
    for count in counts:
        keys = [f"{k}{sep if k else ''}{i}" for k in keys for i in range(count)]
    return [f"{GROUP}/tci/{k}" for k in keys]


def measure(ctx: h.Context, s: dict[str, Any]) -> list[dict[str, Any]]:
    import matplotlib.pyplot as plt

    admin, path, item = s["admin"], s["path"], s["item"]
    asset = item["assets"]["product"]

    def ours() -> dict[str, Any]:
        ds = xr.open_dataset(item, engine="stacasset", asset="product", group=GROUP)
        png = io.BytesIO()
        look = ds.eo.quicklook()
        look.figure.savefig(png, format="png")
        return {"shape": list(look.shape), "png_bytes": png.tell()}

    def seed() -> dict[str, Any]:
        dt = xr.open_datatree(asset["href"], **asset["xarray:open_datatree_kwargs"])
        da = dt[f"/{GROUP}"].to_dataset()["tci"]
        da.plot.imshow(rgb="band")
        png = io.BytesIO()
        plt.gcf().savefig(png, format="png")
        plt.close("all")
        return {"shape": list(da.shape[1:]), "png_bytes": png.tell()}

    runs = h.alternate(
        ctx, {"ours": ours, "seed": seed}, h.file_counter(admin, h.under(path)), reset=[admin]
    )
    summaries = {name: h.summary(r, LABELS[name]) for name, r in runs.items()}
    metadata = (s["local"] / ".zmetadata").stat().st_size
    tci_found, tci_bytes = sizes(s["local"], tci_keys(s["consolidated"]))
    coord_found, coord_bytes = sizes(s["local"], index_chunk_keys(s["consolidated"], GROUP))
    bytes_min = metadata + tci_bytes
    stages = [(1, 1), (tci_found + coord_found, 10)]  # zarr's default async.concurrency
    fl = h.floor(stages, bytes_min + coord_bytes, ctx.latency_ms, ctx.bandwidth)
    ours_bytes = summaries["ours"]["bytes"]
    targets = [
        h.target(
            "bytes",
            "bytes ≤ 1.05 x (metadata + tci chunks)",
            h.ratio(ours_bytes, bytes_min),
            1.05,
            deterministic=True,
        ),
    ]
    return [
        SPEC.record(
            ctx,
            summaries,
            floor_=fl,
            targets=targets,
            minimum={
                "metadata": metadata,
                "tci_chunks": tci_found,
                "tci_bytes": tci_bytes,
                "coordinate_bytes": coord_bytes,
            },
        )
    ]
