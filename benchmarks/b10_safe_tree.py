"""B10: a Sentinel-2 L2A SAFE product opened as a DataTree by range, and one 10 m band window.

The product is the replica's CDSE L2A SAFE zip (T32UNC; 42 members, 10 m bands of 10980² px at
``bench`` scale, 1830² in quick mode) behind the OData redirect and the CDSE bearer, as in B7.
The window is B04's first 512 x 512 pixels at 10 m, as reflectance (offset and quantification
applied, no data masked).

* ``ours``: ``xr.open_datatree(item, engine="stacasset", asset="PRODUCT", credentials=...)``
  (the zip's tail and the two metadata members), then
  ``tree["measurements/reflectance/r10m/b04"][:512, :512].values`` (a part of one member);
* ``seed``: seed 003: a token, the redirect asked by hand, the whole zip downloaded and
  unzipped (:func:`benchmarks.b7_safe_members.seed_unzip`), then the window read with rasterio
  from ``B04_10m.jp2`` and scaled by the formula of ``MTD_MSIL2A.xml``;
* ``eopf``: the same window of the replica's EOPF Zarr product, opened by xstac-access from its
  item as B2 does (served over HTTP by B2's counting server). It is another product (tile
  T34UCE, 10 m grids of 2745² px at ``bench`` scale, 1098² in quick mode), the only Sentinel-2
  L2A Zarr of the replica: the open costs what an EOPF tree costs (consolidated metadata, index
  coordinates) and the window the chunks it touches, so it shows what the SAFE layout costs
  against the Zarr layout for the same request, not the same pixels. ``same_values`` compares
  ``ours`` with ``seed`` only.

Targets: ours reads ≤ the zip's tail + the two metadata members + a third of B04's member
(bytes), in ≤ 12 requests; ≥ 10 x faster than the seed at 20 ms. Floor: the tail, then the two
metadata members together, then the window's share of B04's member.
"""

from __future__ import annotations

import shutil
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import xarray as xr
from rasterio.windows import Window

from benchmarks import _harness as h
from benchmarks.b2_eopf_tree import eopf_s2
from benchmarks.b7_safe_members import _empty, seed_unzip

ID = "B10"
TITLE = "SAFE product as DataTree + one 10 m window"
BAND = "measurements/reflectance/r10m/b04"
SIZE = 512
TAIL = 1024 + 65557  # the format sniff and the zip reader's tail read (end of central directory)
MAX_REQUESTS = 12
LABELS = {
    "ours": "xstac-access open_datatree + window",
    "seed": "seed 003 download + unzip + rasterio",
    "eopf": "xstac-access on the EOPF Zarr (T34UCE)",
}
CAUSES = {
    "vs_seed": (
        "Cause: on loopback (about 880 MB/s) the seed downloads the whole bench zip (117 MB) in "
        "about 0.15 s and unzips one member, while ours makes 11 requests one after another: "
        "the format sniff and the zip's tail, each through the redirect (302 + 206: 4), the two "
        "XML members (2), B04's local header (1), GDAL's HEAD and growing reads of the window "
        "(4). At 20 ms that is about 220 ms of round trips. The seed's cost grows with the "
        "product and the link where ours does not: a real L2A product is 0.7 to 1.1 GB, which "
        "B7's capped case (50 MB/s) downloads in 25 s and seed 003 took 138 s from CDSE. What "
        "would close it here: the sniff skipped once the tail shows a zip, the two XML members "
        "in one ranged read, a member's local header read with its first bytes, no HEAD for a "
        "member whose size the directory gives."
    ),
}

NOTES = [
    "The bench replica's L2A product is 117 MB zipped (real ones: 0.7 to 1.1 GB); the ci "
    "product used by `--quick` is 3.9 MB.",
    "The `eopf` baseline is another product (T34UCE; the replica's only Sentinel-2 L2A Zarr) "
    "read the same way: same window size, not the same pixels.",
]

SPEC = h.Spec(ID, TITLE, CAUSES, NOTES)


def prepare(ctx: h.Context) -> dict[str, Any]:
    world = ctx.world
    item = next(i for i in world.replica.items if i["collection"] == "cdse-sentinel-2-l2a")
    local = next((world.replica.files_root / "cdse" / "download").glob("*.SAFE.zip"))
    with zipfile.ZipFile(local) as zf:
        infos = {i.filename.rsplit("/", 1)[-1]: i for i in zf.infolist()}
    band = next(i for n, i in infos.items() if n.endswith("_B04_10m.jp2"))
    metadata = sum(infos[n].compress_size for n in ("MTD_MSIL2A.xml", "MTD_TL.xml"))
    with rasterio.open(f"/vsizip/{local}/{band.filename}") as src:
        pixels = src.width * src.height
    work = Path(tempfile.mkdtemp(prefix="xstac-b10-"))
    ctx.stack.callback(shutil.rmtree, work, True)
    return {
        "item": item,
        "credentials": world.credentials(),
        "token": h.BearerToken(world, "cdse"),
        "zip_bytes": local.stat().st_size,
        "metadata_bytes": metadata,
        "band_bytes": band.compress_size,
        "band_pixels": pixels,
        "work": work,
        "eopf": eopf_s2(ctx),
    }


def _info(values: np.ndarray) -> dict[str, Any]:
    """What a variant read: the window's shape and mean reflectance (float32 arithmetic
    differs in the 8th digit between the scalings: 5 decimals compare them)."""
    return {"shape": list(values.shape), "mean": round(float(np.nanmean(values)), 5)}


def variants(s: dict[str, Any]) -> dict[str, Any]:
    item, creds, work, eopf = s["item"], s["credentials"], s["work"], s["eopf"]

    def ours() -> dict[str, Any]:
        tree = xr.open_datatree(item, engine="stacasset", asset="PRODUCT", credentials=creds)
        return _info(tree[BAND][:SIZE, :SIZE].values)

    def seed() -> dict[str, Any]:
        safe = seed_unzip(item["assets"]["PRODUCT"]["href"], s["token"], work)
        root = ET.parse(safe / "MTD_MSIL2A.xml").getroot()
        quantification = float(next(root.iter("BOA_QUANTIFICATION_VALUE")).text or "")
        offset = next(e for e in root.iter("BOA_ADD_OFFSET") if e.get("band_id") == "3").text
        (path,) = safe.glob("GRANULE/*/IMG_DATA/R10m/*_B04_10m.jp2")
        with rasterio.open(path) as src:
            dn = src.read(1, window=Window(0, 0, SIZE, SIZE)).astype(np.float32)
        values = np.where(dn == 0, np.nan, (dn + float(offset or 0)) / np.float32(quantification))
        return _info(values.astype(np.float32))

    def zarr() -> dict[str, Any]:
        tree = xr.open_datatree(eopf["item"], engine="stacasset", asset="product", chunks={})
        return _info(tree[BAND][:SIZE, :SIZE].values)

    return {"ours": ours, "seed": seed, "eopf": zarr}


def measure(ctx: h.Context, s: dict[str, Any]) -> list[dict[str, Any]]:
    cdse = h.file_counter(ctx.world.files, h.under("/cdse/"))
    zarr = h.file_counter(s["eopf"]["admin"], h.under(s["eopf"]["path"]))

    def count() -> tuple[int, int]:
        (r1, b1), (r2, b2) = cdse(), zarr()
        return r1 + r2, b1 + b2

    runs = h.alternate(
        ctx,
        variants(s),
        count,
        reset=[ctx.world.files, s["eopf"]["admin"]],
        after=lambda _: _empty(s["work"]),
    )
    summaries = {name: h.summary(r, LABELS[name]) for name, r in runs.items()}
    ours, seed = summaries["ours"], summaries["seed"]
    opened = TAIL + s["metadata_bytes"]
    window = s["band_bytes"] * min(1.0, SIZE * SIZE / s["band_pixels"])  # its share of B04
    fl = h.floor([(1, 1), (2, 2), (1, 1)], int(opened + window), ctx.latency_ms, ctx.bandwidth)
    targets = [
        h.target(
            "bytes",
            "bytes ≤ tail + metadata members + ⅓ of B04's member",
            h.ratio(ours["bytes"], opened + s["band_bytes"] / 3),
            1.0,
            deterministic=True,
        ),
        h.target(
            "requests",
            f"requests ≤ {MAX_REQUESTS}",
            ours["requests"],
            MAX_REQUESTS,
            deterministic=True,
        ),
    ]
    targets += h.vs_seed(ctx, seed["median_s"], ours["median_s"], 10)
    return [
        SPEC.record(
            ctx,
            summaries,
            floor_=fl,
            targets=targets,
            zip_bytes=s["zip_bytes"],
            metadata_bytes=s["metadata_bytes"],
            band_bytes=s["band_bytes"],
            same_values=h.same({k: summaries[k] for k in ("ours", "seed")}, "mean"),
        )
    ]
