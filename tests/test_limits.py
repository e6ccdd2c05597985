"""Connection limits per credential: CDSE allows a general user 4 concurrent connections.

The replica's file server refuses a user's 5th request in flight under ``/cdse/`` with 429 and
records the most it saw at once (``connections`` in its stats). Eight parallel downloads and a
dask compute reading tiles with eight threads must keep to four there, with the limit on by
default, while the requests beyond it wait in the client; with the limit off
(``max_connections=None``) the server sees more, which shows these tests can fail.

Concurrency is made visible without sleeps: the server holds the first four responses mid-body
(``hold_after_bytes``) until the test has seen four more requests wait for a slot in the client
(the limit on) or be refused at the server (the limit off), then lets them go.
"""

from __future__ import annotations

import asyncio
import uuid
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
import xarray as xr
from rasterio.io import MemoryFile

from xstac_access import credentials, download, errors, search
from xstac_access.credentials import BearerToken, broker_from
from xstac_access.credentials.broker import build_broker
from xstac_access.http.limits import Limiter, limiter_for
from xstac_access.readers._gdal import forget_datasets

THREADS = 8
TIMEOUT = 60.0


@pytest.fixture
def world(local_world, files):
    """The session world with clean counters and no faults; fresh credential providers."""
    credentials.reset()
    yield local_world
    credentials.reset()


@contextmanager
def cdse_folder(world) -> Iterator[tuple[Path, str, str]]:
    """A new folder under the download host's protected ``/cdse/download/``: ``(directory,
    base URL, served path)``; removed afterwards."""
    name = f"limits-{uuid.uuid4().hex[:8]}"
    folder = world.replica.files_root / "cdse" / "download" / name
    folder.mkdir(parents=True)
    try:
        yield folder, f"{world.endpoints.http_alt}/cdse/download/{name}", f"/cdse/download/{name}"
    finally:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()


def cdse_credentials(world, **options: Any) -> dict[str, Any]:
    """The CDSE preset pointed at the world, the download host's files included (as the real
    preset covers ``download.dataspace.copernicus.eu``); the preset's default limit unless
    ``options`` say otherwise."""
    cdse = world.credentials()["cdse"]
    cdse["hosts"] = [*cdse["hosts"], f"{world.endpoints.http_alt}/cdse/*"]
    return {"cdse": {**cdse, **options}}


def user_connections(files) -> dict[str, int]:
    """The server's connection record of the one user seen under ``/cdse/``."""
    (record,) = files.stats()["connections"].values()
    return record


def write_parts(folder: Path) -> dict[str, bytes]:
    """Eight files of 64 KiB (``part-<i>.bin``) in ``folder``: name -> bytes."""
    blobs = {f"part-{i}.bin": np.random.default_rng(i).bytes(64 * 1024) for i in range(THREADS)}
    for name, blob in blobs.items():
        (folder / name).write_bytes(blob)
    return blobs


def statuses(files, path: str) -> list[int]:
    return sorted(e["status"] for e in files.stats()["log"] if e["path"].startswith(path))


def while_held(files, work: Callable[[], Any], held_back: Callable[[], None]) -> Future:
    """Run ``work`` in a thread while the server holds four responses mid-body; once they are
    held, ``held_back()`` waits for the requests beyond them (and checks what it likes), then
    the responses go on. Returns ``work``'s future, done."""
    pool = ThreadPoolExecutor(1)
    future = pool.submit(work)
    try:
        files.wait_held(4)
        held_back()
    finally:
        files.release()
        pool.shutdown(wait=True)
    return future


# -- configuration --------------------------------------------------------------------------


def test_cdse_allows_four_by_default_and_every_preset_and_rule_can_change_it(tmp_path, monkeypatch):
    def provider(presets: dict[str, Any], href: str = "https://zipper.dataspace.copernicus.eu/x"):
        return build_broker(presets, []).provider_for(href)

    user = {"username": "u", "password": "p"}
    monkeypatch.setenv("XSTAC_CONFIG", str(tmp_path / "none.toml"))
    assert provider({"cdse": user}).max_connections == 4
    assert provider({"cdse": {**user, "max_connections": None}}).max_connections is None
    assert provider({"cdse": {**user, "max_connections": 2}}).max_connections == 2
    earthdata = provider({"earthdata": {"token": "t"}}, "https://x.earthdata.nasa.gov/f")
    assert earthdata.max_connections is None  # no other service documents a limit

    monkeypatch.setenv("XSTAC_CDSE_MAX_CONNECTIONS", "8")
    assert provider({"cdse": user}).max_connections == 8
    monkeypatch.setenv("XSTAC_CDSE_MAX_CONNECTIONS", "none")
    assert provider({"cdse": user}).max_connections is None
    monkeypatch.delenv("XSTAC_CDSE_MAX_CONNECTIONS")

    config = tmp_path / "config.toml"
    config.write_text(
        '[maap]\noffline_token = "t"\nmax_connections = 3\n\n'
        '[[rules]]\npattern = "https://data.example.org/*"\ntype = "bearer"\ntoken = "t"\n'
        "max_connections = 6\n"
    )
    monkeypatch.setenv("XSTAC_CONFIG", str(config))
    assert provider({}, "https://catalog.maap.eo.esa.int/data/x.tif").max_connections == 3
    assert provider({}, "https://data.example.org/x.tif").max_connections == 6
    assert BearerToken("t", max_connections=5).max_connections == 5
    assert "max_connections=4" in repr(provider({"cdse": user}))

    with pytest.raises(errors.ResolveError, match=r"preset 'cdse': max_connections must be a "
                       r"positive whole number \(or none for no limit\), not 'lots'"):  # fmt: skip
        provider({"cdse": {**user, "max_connections": "lots"}})
    with pytest.raises(errors.ResolveError, match=r"BearerToken: max_connections .* not -1"):
        BearerToken("t", max_connections=-1)


def test_the_limit_travels_with_pickled_handles_to_other_processes(monkeypatch, tmp_path):
    import pickle

    monkeypatch.setenv("XSTAC_CONFIG", str(tmp_path / "none.toml"))
    broker = build_broker({"cdse": {"username": "u", "password": "p"}}, [])
    href = "https://download.dataspace.copernicus.eu/odata/v1/Products(1)/$value"
    access = pickle.loads(pickle.dumps(broker.access(href)))
    handle = pickle.loads(pickle.dumps(broker.handle()))
    assert access.provider_id == broker.access(href).provider_id
    assert access.max_connections == handle.access(href).max_connections == 4
    here = limiter_for(broker.access(href))
    assert limiter_for(access) is limiter_for(handle.access(href)) is here  # one per provider


def test_a_waiter_cancelled_before_or_after_its_turn_leaves_no_slot_behind():
    limiter = Limiter(1)

    async def cancelled_waiter(handed_over: bool) -> None:
        await limiter.acquire_async()  # the one slot
        waiter = asyncio.create_task(limiter.acquire_async())
        await asyncio.sleep(0)  # (a yield, not a wait) it queues
        assert limiter.waiting == 1
        if handed_over:
            limiter.release()  # the slot goes to the waiter ...
        waiter.cancel()  # ... which is cancelled before it runs again
        with pytest.raises(asyncio.CancelledError):
            await waiter
        await asyncio.sleep(0)
        if not handed_over:
            limiter.release()
        assert (limiter.in_use, limiter.waiting) == (0, 0)

    asyncio.run(cancelled_waiter(handed_over=False))
    asyncio.run(cancelled_waiter(handed_over=True))


# -- the limit at the server ----------------------------------------------------------------


def test_eight_parallel_cdse_downloads_keep_to_four_connections(world, files, tmp_path):
    with cdse_folder(world) as (folder, base, path):
        blobs = write_parts(folder)
        creds = cdse_credentials(world)
        limiter = limiter_for(broker_from(creds).access(f"{base}/part-0.bin"))
        assert isinstance(limiter, Limiter) and limiter.limit == 4
        files.set_faults([{"path": f"{path}/*", "hold_after_bytes": 1024, "count": 4}])

        def four_wait_in_the_client() -> None:
            assert limiter.wait_for_waiting(4, TIMEOUT), limiter
            assert user_connections(files) == {"peak": 4, "refused": 0, "in_flight": 4}

        hrefs = [f"{base}/{name}" for name in blobs]
        report = while_held(
            files,
            lambda: download(hrefs, tmp_path, parallel=THREADS, retries=0, progress=False,
                             credentials=creds),
            four_wait_in_the_client,
        ).result()  # fmt: skip
        assert [e.status for e in report.entries] == ["fetched"] * 8, report.summary()
        assert {e.path.name.rpartition("-")[2]: e.path.read_bytes() for e in report.entries} == {
            name.rpartition("-")[2]: blob for name, blob in blobs.items()
        }
        assert statuses(files, path) == [200] * 8  # no 429, no retry
        assert user_connections(files) == {"peak": 4, "refused": 0, "in_flight": 0}
        assert limiter.in_use == 0 and limiter.waiting == 0


def test_without_the_limit_eight_downloads_overrun_the_server(world, files, tmp_path):
    with cdse_folder(world) as (folder, base, path):
        write_parts(folder)
        creds = cdse_credentials(world, max_connections=None)
        assert limiter_for(broker_from(creds).access(f"{base}/part-0.bin")) is None
        files.set_faults([{"path": f"{path}/*", "hold_after_bytes": 1024, "count": 4}])
        hrefs = [f"{base}/part-{i}.bin" for i in range(8)]
        report = while_held(
            files,
            lambda: download(hrefs, tmp_path, parallel=THREADS, retries=0, progress=False,
                             credentials=creds),
            lambda: files.wait_logged(4, f"{path}/*"),  # the four refused: held ones log later
        ).result()  # fmt: skip
        assert user_connections(files) == {"peak": 5, "refused": 4, "in_flight": 0}
        assert statuses(files, path) == [200] * 4 + [429] * 4
        assert sorted(e.status for e in report.entries) == ["failed"] * 4 + ["fetched"] * 4
        assert all(e.exception.status == 429 for e in report.failed)


def test_threads_and_the_fsspec_event_loop_share_one_limit(world, files, tmp_path):
    from xstac_access.credentials.filesystems import filesystem_for

    with cdse_folder(world) as (folder, base, path):
        blobs = {
            f"{base}/part-{i}.bin": np.random.default_rng(i).bytes(64 * 1024) for i in range(8)
        }
        for href, blob in blobs.items():
            (folder / href.rpartition("/")[2]).write_bytes(blob)
        creds = cdse_credentials(world)
        broker = broker_from(creds)
        limiter = limiter_for(broker.access(base + "/part-0.bin"))
        fs = filesystem_for(base, broker)  # zarr stores read through this (aiohttp middleware)
        hrefs = list(blobs)
        files.set_faults([{"path": f"{path}/*", "hold_after_bytes": 1024, "count": 4}])

        def both() -> tuple[Any, dict[str, bytes]]:
            with ThreadPoolExecutor(2) as pool:
                threads = pool.submit(download, hrefs[:4], tmp_path, parallel=4, retries=0,
                                      progress=False, credentials=creds)  # fmt: skip
                loop = pool.submit(fs.cat, hrefs[4:])  # four requests at once on fsspec's loop
                return threads.result(), loop.result()

        def four_wait_in_the_client() -> None:
            assert limiter.wait_for_waiting(4, TIMEOUT), limiter
            assert user_connections(files) == {"peak": 4, "refused": 0, "in_flight": 4}

        report, read = while_held(files, both, four_wait_in_the_client).result()
        assert [e.status for e in report.entries] == ["fetched"] * 4, report.summary()
        assert read == {href: blobs[href] for href in hrefs[4:]}
        assert statuses(files, path) == [200] * 8
        assert user_connections(files) == {"peak": 4, "refused": 0, "in_flight": 0}
        assert limiter.in_use == 0


#: The band of the dask tests: 1024 x 1024 uint16 values.
BAND = (np.arange(1024 * 1024, dtype="uint32") * 7919 % 65521).astype("uint16").reshape(1024, 1024)


def open_band(world, folder: Path, base: str, **options: Any) -> tuple[xr.DataArray, Any]:
    """:data:`BAND` as a CDSE band in ``folder`` (128 px tiles, uncompressed: a 256 px chunk is
    four tiles in two runs of the file, which GDAL asks for in two ranges), opened in 256 px
    dask chunks; the header is read and cached now, so a compute asks only for tiles.
    ``(band, its credential)``."""
    profile = {"driver": "GTiff", "width": 1024, "height": 1024, "count": 1, "dtype": "uint16",
               "tiled": True, "blockxsize": 128, "blockysize": 128, "crs": "EPSG:32632",
               "transform": rasterio.transform.from_origin(499980, 5800020, 10, 10)}  # fmt: skip
    with rasterio.open(folder / "B04_10m.tif", "w", **profile) as dst:
        dst.write(BAND, 1)
    creds = cdse_credentials(world, **options)
    href = f"{base}/B04_10m.tif"
    ds = xr.open_dataset(href, engine="stacasset", credentials=creds, chunks={"x": 256, "y": 256})
    return ds[next(iter(ds.data_vars))], broker_from(creds).access(href)


def test_a_dask_compute_with_eight_threads_keeps_to_four_connections(world, files):
    with cdse_folder(world) as (folder, base, path):
        band, access = open_band(world, folder, base)
        limiter = limiter_for(access)
        files.reset()
        files.set_faults([{"path": f"{path}/*", "hold_after_bytes": 1, "count": 4}])

        def four_wait_in_the_client() -> None:
            assert limiter.wait_for_waiting(4, TIMEOUT), limiter
            assert user_connections(files) == {"peak": 4, "refused": 0, "in_flight": 4}

        values = while_held(
            files, lambda: band.data.compute(scheduler="threads", num_workers=THREADS),
            four_wait_in_the_client,
        ).result()  # fmt: skip
        np.testing.assert_array_equal(values, BAND)
        # 16 chunks of 2 x 2 tiles, each two runs of the file: 32 ranges, one after another
        assert statuses(files, path) == [206] * 32
        assert user_connections(files) == {"peak": 4, "refused": 0, "in_flight": 0}


def test_without_the_limit_a_dask_compute_overruns_the_server(world, files):
    with cdse_folder(world) as (folder, base, path):
        band, access = open_band(world, folder, base, max_connections=None)
        assert limiter_for(access) is None
        files.reset()
        files.set_faults([{"path": f"{path}/*", "hold_after_bytes": 1, "count": 4}])
        compute = while_held(
            files, lambda: band.data.compute(scheduler="threads", num_workers=THREADS),
            lambda: files.wait_logged(1, f"{path}/*"),  # one refused while four are held
        )  # fmt: skip
        compute.exception()  # GDAL gives up on some, or retries them through: either way
        record = user_connections(files)
        assert record["peak"] > 4 and record["refused"] > 0, record
        assert 429 in statuses(files, path)


@pytest.mark.filterwarnings("ignore:The specified chunks separate")  # many reads of one JP2
def test_eight_threads_reading_a_zip_member_keep_to_four_connections(world, files):
    item = next(i for i in world.replica.items if i["collection"] == "cdse-sentinel-2-l2a")
    creds = cdse_credentials(world)
    tci = xr.open_dataset(item, engine="stacasset", asset="PRODUCT", member="manifest:TCI_60m",
                          credentials=creds, chunks={"x": 64, "y": 64})  # fmt: skip
    forget_datasets()  # every dask thread opens the member itself, as a fresh process would
    files.reset()
    files.set_latency(20)  # every request lasts: the threads' opens and reads overlap
    try:
        values = tci.to_array().data.compute(scheduler="threads", num_workers=THREADS)
    finally:
        files.set_latency(0)
    (archive,) = (world.replica.files_root / "cdse" / "download").glob("*.SAFE.zip")
    member = tci.attrs["zip_member"]
    with zipfile.ZipFile(archive) as zf, MemoryFile(zf.read(member)) as mem, mem.open() as src:
        np.testing.assert_array_equal(values, src.read())
    files.wait_idle()
    assert set(statuses(files, "/cdse/")) <= {200, 206}  # no 429
    # Only the bound: whether two of GDAL's reads of one small member overlap depends on
    # timing (a thread wanting a region another is fetching waits for it in GDAL's cache).
    record = user_connections(files)
    assert record["refused"] == 0 and 1 <= record["peak"] <= 4, record


@pytest.mark.filterwarnings("ignore:The specified chunks separate")  # many reads of one JP2
def test_eight_threads_reading_a_cdse_v1_band_through_odata_keep_to_four_connections(world, files):
    (item,) = search(world.stac_quirks.url("cdse"), collections=["sentinel-2-l2a"]).items
    asset = item.assets["B04_10m"].to_dict()  # on s3://eodata; read through its OData twin
    creds = cdse_credentials(world)
    band = xr.open_dataset(item, engine="stacasset", asset="B04_10m", mask_and_scale=False,
                           credentials=creds, chunks={"x": 128, "y": 128})  # fmt: skip
    forget_datasets()  # every dask thread opens the band itself, as a fresh process would
    files.reset()
    files.set_latency(20)  # every request lasts: the threads' opens and reads overlap
    try:
        values = band["B04"].data.compute(scheduler="threads", num_workers=THREADS)
    finally:
        files.set_latency(0)
    bucket, key = asset["href"][len("s3://") :].split("/", 1)
    with rasterio.open(world.replica.s3_buckets[bucket] / key) as src:
        np.testing.assert_array_equal(values, src.read(1))
    files.wait_idle()
    assert set(statuses(files, "/cdse/")) <= {200, 206}  # no 429
    record = user_connections(files)
    assert record["refused"] == 0 and 1 < record["peak"] <= 4, record


def test_eight_threads_reading_a_safe_trees_band_through_odata_keep_to_four_connections(
    world, files
):
    """The SAFE reader's images are zip members GDAL reads by range: the same per-host limit."""
    item = next(i for i in world.replica.items if i["collection"] == "cdse-sentinel-2-l2a")
    creds = cdse_credentials(world)
    tree = xr.open_datatree(item, engine="stacasset", asset="PRODUCT", mask_and_scale=False,
                            credentials=creds, chunks={"x": 128, "y": 128})  # fmt: skip
    band = tree["measurements/reflectance/r10m"]["b04"]
    assert band.data.npartitions > THREADS
    forget_datasets()  # every dask thread opens the member itself
    files.reset()
    files.set_latency(20)  # every request lasts: the threads' opens and reads overlap
    try:
        values = band.data.compute(scheduler="threads", num_workers=THREADS)
    finally:
        files.set_latency(0)
    (zipped,) = (world.replica.files_root / "cdse" / "download").glob("*.SAFE.zip")
    with zipfile.ZipFile(zipped) as zf:
        (member,) = [n for n in zf.namelist() if n.endswith("_B04_10m.jp2")]
    with rasterio.open(f"/vsizip/{zipped}/{member}") as src:
        np.testing.assert_array_equal(values, src.read(1))
    files.wait_idle()
    assert set(statuses(files, "/cdse/")) <= {200, 206}  # no 429
    record = user_connections(files)
    assert record["refused"] == 0 and 1 < record["peak"] <= 4, record


def limit_here(access: Any) -> int | None:
    """In a worker process: the limit of that process's limiter for ``access``."""
    limiter = limiter_for(access)
    return limiter.limit if limiter is not None else None


def test_worker_processes_each_keep_the_limit_so_two_of_two_keep_the_server_at_four(world, files):
    from distributed import Client, LocalCluster

    with cdse_folder(world) as (folder, base, path):
        band, access = open_band(world, folder, base, max_connections=2)  # 2 processes x 2
        files.reset()
        files.set_latency(20)  # every request lasts: eight threads overlap
        try:
            with (
                LocalCluster(n_workers=2, threads_per_worker=4, processes=True,
                             dashboard_address=":0") as cluster,
                Client(cluster) as client,
            ):  # fmt: skip
                limits = client.run(limit_here, access)
                values = band.data.compute()
        finally:
            files.set_latency(0)
        assert list(limits.values()) == [2, 2]
        np.testing.assert_array_equal(values, BAND)
        files.wait_idle()
        assert set(statuses(files, path)) <= {200, 206}
        record = user_connections(files)
        assert record["refused"] == 0 and record["peak"] <= 4, record
