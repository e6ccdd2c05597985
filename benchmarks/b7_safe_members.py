"""B7: two XML members and the 60 m TCI out of a SAFE zip behind the CDSE redirect and bearer.

The archive is the replica's Sentinel-2 L2A SAFE (``manifest.safe``, product and tile metadata,
every image of ``IMG_DATA`` as georeferenced JPEG 2000, the ``TCI_60m`` of 1830² px among them),
made about 0.7 GB as seed 003's product is: the benchmark adds incompressible quality-mask
fillers and writes it once into its data cache. Its
item's ``PRODUCT`` asset is an OData ``$value`` URL on the main host, redirected (302) to the
download host, which wants a CDSE bearer token. Quick mode reads the ``ci`` replica's 4.6 MB zip.

* ``ours``: three ``xr.open_dataset(item, engine="stacasset", asset="PRODUCT", member=...,
  credentials=...)``: ``"*/MTD_MSIL2A.xml"``, ``"*/MTD_TL.xml"`` (attributes) and
  ``"manifest:TCI_60m"`` (the image, values loaded);
* ``seed``: seed 003: a token (password grant), the redirect's ``Location`` asked by hand (the
  bearer must not be dropped), the whole zip streamed to disk in ``iter_content(8192)`` chunks,
  every member extracted, then the two XMLs parsed and the TCI read with rasterio.

Two cases: ``loopback`` (the file server as fast as this machine allows) and, at 20 ms only,
``capped``: every response throttled to 50 MB/s, as a download from a remote archive is.
Target: bytes ≤ the three members + 1 MB; ≥ 100 x faster than the seed at 20 ms.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import requests
import xarray as xr

from benchmarks import _harness as h

ID = "B7"
TITLE = "members of a SAFE zip behind a redirect + bearer"
NOTES = [
    "The 0.7 GB SAFE zip is written by the benchmark (the replica's bench zip is 0.3 GB): the "
    "replica's members plus ten more band-image fillers, all listed in its manifest.",
]
MEMBERS = ("MTD_MSIL2A.xml", "MTD_TL.xml", "TCI_60m.jp2")
LABELS = {"ours": "xstac-access member=", "seed": "seed 003 download + unzip"}
TARGET_BYTES = 700 * h.MB
CAP = 50 * h.MB
BENCH_UUID = "7b7b7b7b-0000-4000-8000-000000000007"
CAUSES = {
    "vs_seed": (
        "Cause: on loopback the seed's 0.7 GB is cheap (1.5 s to download and unzip here), "
        "while ours pays its round trips: 6 requests, one after another (the archive's tail "
        "through the redirect, 2; one per XML member; the manifest; the TCI with its local "
        "header, one range), plus decoding the 1830² JPEG 2000 TCI (~70 ms on two cores). The "
        "floor (3 round trips + the members: 60 ms) caps the ratio at 26 x at 20 ms here. With "
        "every response capped at 50 MB/s, as from a remote archive, the seed takes 24.5 s and "
        "ours 0.23 s: 107 x, the target met. What would close it on loopback: nothing that "
        "matters on a real link, where the seed's 0.7 GB takes minutes (138 s in seed 003)."
    ),
}


SPEC = h.Spec(ID, TITLE, CAUSES, NOTES)


def write_big_safe(path: Path, folder: Path, size: int) -> None:
    """The replica's bench SAFE (its ``folder``) with quality-mask fillers added until it is
    about ``size`` bytes (the manifest lists them all, with their SHA3 checksums, as a real one
    does)."""
    from xstac_access.testing.replica import _raster, _s2safe, cdse

    members = _s2safe.folder_members(folder)
    rng = _raster.rng_for(0, "b7-filler")
    granule = next(k for k in members if k.endswith("MTD_TL.xml")).rpartition("/")[0]
    extra = [f"QI_DATA/MSK_QUALIT_{b}.jp2" for b in ("B01", "B02", "B03", "B04", "B05", "B06",
                                                      "B07", "B08", "B8A", "B09")]  # fmt: skip
    missing = size - sum(len(b) for b in members.values())
    for name in extra:
        members[f"{granule}/{name}"] = rng.bytes(max(0, missing // len(extra)))
    _s2safe.zip_members(path, cdse.NAME, members)


def prepare(ctx: h.Context) -> dict[str, Any]:
    from xstac_access.testing.replica import cdse

    world = ctx.world
    item = next(i for i in world.replica.items if i["collection"] == "cdse-sentinel-2-l2a")
    zips = world.replica.files_root / "cdse" / "download"
    local = next(zips.glob("*.SAFE.zip"))
    if not ctx.quick:  # a 0.7 GB archive behind its own OData URL and redirect
        folder = world.replica.s3_buckets["eodata"] / cdse.SAFE_KEY
        local = h.cached("b7-safe-700mb-v2.zip", lambda p: write_big_safe(p, folder, TARGET_BYTES))
        path = f"/cdse/download/_b7/{local.name}"
        ctx.stack.enter_context(h.served(world, {path: local}))
        odata = f"/cdse/odata/v1/Products({BENCH_UUID})/$value"
        config = json.loads(json.dumps(world.replica.server_config))
        config["redirects"].append(
            {"host": "main", "path": odata, "to_host": "alt", "to_path": path, "status": 302}
        )
        world.files.set_config(config)
        ctx.stack.callback(world.files.set_config, world.replica.server_config)
        item = json.loads(json.dumps(item))
        item["assets"]["PRODUCT"]["href"] = f"{world.endpoints.http}{odata}"
    work = Path(tempfile.mkdtemp(prefix="xstac-b7-"))
    ctx.stack.callback(shutil.rmtree, work, True)
    with zipfile.ZipFile(local) as zf:
        infos = [i for i in zf.infolist() if i.filename.endswith(MEMBERS)]
        directory = sum(46 + len(i.filename.encode()) + len(i.extra) for i in zf.infolist())
    return {
        "item": item,
        "credentials": world.credentials(),
        "token": h.BearerToken(world, "cdse"),
        "zip_bytes": local.stat().st_size,
        "member_bytes": sum(i.compress_size + 30 + len(i.filename.encode()) for i in infos),
        "directory_bytes": directory + 22,
        "work": work,
    }


def variants(s: dict[str, Any]) -> dict[str, Any]:
    item, creds, work = s["item"], s["credentials"], s["work"]

    def ours() -> dict[str, Any]:
        def member(name: str) -> xr.Dataset:
            return xr.open_dataset(
                item, engine="stacasset", asset="PRODUCT", member=name, credentials=creds
            )

        product, tile = member("*/MTD_MSIL2A.xml"), member("*/MTD_TL.xml")
        tci = member("manifest:TCI_60m").load()
        values = np.stack([tci[v].values for v in tci.data_vars])
        return _info(len(product.attrs) + len(tile.attrs), values)

    def seed() -> dict[str, Any]:
        safe = seed_unzip(item["assets"]["PRODUCT"]["href"], s["token"], work)
        manifest = ET.parse(safe / "manifest.safe").getroot()
        tci = next(
            loc.get("href")
            for loc in manifest.iter("fileLocation")
            if "TCI_60m" in (loc.get("href") or "")
        )
        count = 0
        for xml in ("MTD_MSIL2A.xml", f"GRANULE/{_granule(safe)}/MTD_TL.xml"):
            count += sum(1 for _ in ET.parse(safe / xml).getroot().iter())
        with rasterio.open(safe / tci) as src:
            values = src.read()
        return _info(count, values)

    return {"ours": ours, "seed": seed}


def seed_unzip(href: str, token: h.BearerToken, work: Path) -> Path:
    """Seed 003's way to a product: the redirect's ``Location`` asked by hand with the bearer
    (which ``requests`` would drop on the way), the whole zip streamed to ``work`` in 8 KB
    chunks, every member extracted; returns the ``<NAME>.SAFE`` folder."""
    headers = {"Authorization": f"Bearer {token.value}"}
    target = requests.get(href, headers=headers, allow_redirects=False, timeout=60)
    zip_path = work / "sentinel_2_SAFE.zip"
    with requests.Session() as session:
        session.headers.update(headers)
        response = session.get(target.headers["Location"], stream=True, timeout=60)
        with open(zip_path, "wb") as file:
            for chunk in response.iter_content(chunk_size=8192):
                if chunk:
                    file.write(chunk)
    with zipfile.ZipFile(zip_path, "r") as zip_ref:
        zip_ref.extractall(work)
    return next(p for p in work.iterdir() if p.name.endswith(".SAFE"))


def _granule(safe: Path) -> str:
    return next((safe / "GRANULE").iterdir()).name


def _info(metadata: int, values: np.ndarray) -> dict[str, Any]:
    return {
        "metadata_items": metadata,
        "tci_shape": list(values.shape),
        "tci_sum": int(values.sum(dtype="int64")),
    }


def measure(ctx: h.Context, s: dict[str, Any]) -> list[dict[str, Any]]:
    cases = [("loopback", None)] + ([("capped", CAP)] if ctx.latency_ms == 20 else [])
    rows = []
    for case, cap in cases:
        rule = [{"path": "/cdse/download/*", "slow_bytes_per_s": cap}] if cap else []
        count = h.file_counter(ctx.world.files, h.under("/cdse/"))
        with h.faults(ctx.world.files, rule):
            runs = h.alternate(ctx, variants(s), count, after=lambda _: _empty(s["work"]))
        summaries = {name: h.summary(r, LABELS[name]) for name, r in runs.items()}
        bytes_min = s["member_bytes"] + s["directory_bytes"]
        bandwidth = min(ctx.bandwidth, cap or ctx.bandwidth)
        fl = h.floor([(1, 1), (1, 1), (3, 3)], bytes_min, ctx.latency_ms, bandwidth)
        ours, seed = summaries["ours"], summaries["seed"]
        targets = [
            h.target(
                "bytes",
                "bytes ≤ members + 1 MB",
                round((ours["bytes"] - s["member_bytes"]) / h.MB, 3),
                1.0,
                deterministic=True,
            ),
        ]
        targets += h.vs_seed(ctx, seed["median_s"], ours["median_s"], 100)
        rows.append(
            SPEC.record(
                ctx,
                summaries,
                case=case,
                floor_=fl,
                targets=targets,
                zip_bytes=s["zip_bytes"],
                member_bytes=s["member_bytes"],
                same_values=h.same(summaries, "tci_sum"),
                cap_bytes_per_s=cap,
            )
        )
    return rows


def _empty(work: Path) -> None:
    """Remove what the seed downloaded and extracted (between runs, untimed)."""
    for child in work.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()
