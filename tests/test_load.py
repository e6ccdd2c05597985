"""Many-item loads through odc-stac with the broker's credentials, against the file server."""

from __future__ import annotations

import pickle
import shutil

import numpy as np
import pytest
import xarray as xr

from xstac_access import credentials
from xstac_access._load import load
from xstac_access._load.driver import BrokeredRioDriver
from xstac_access.credentials.broker import BrokerHandle
from xstac_access.testing.stack import BANDS, value, write_stack

N_ITEMS, SIZE = 20, 256


@pytest.fixture(scope="module")
def stack(local_world):
    """20 items x 4 bands of 256 x 256 COGs, under the MAAP-protected prefix of the file server."""
    root = local_world.replica.files_root / "maap" / "data" / "_tests_stack"
    items = write_stack(
        root, f"{local_world.endpoints.http}/maap/data/_tests_stack", n_items=N_ITEMS, size=SIZE
    )
    yield items
    shutil.rmtree(root)


@pytest.fixture
def maap(local_world):
    credentials.reset()
    local_world.oidc.reset()
    options = local_world.credentials()["maap"]
    return credentials.broker_from({"maap": options}), options["offline_token"]


def test_twenty_items_load_into_one_cube_equal_to_the_per_item_reads(stack, maap, files):
    broker, _ = maap
    cube = load(stack, bands=list(BANDS), credentials=broker)
    assert cube.sizes == {"time": N_ITEMS, "y": SIZE, "x": SIZE}
    assert set(cube.data_vars) == set(BANDS)
    for i in (0, 7, N_ITEMS - 1):
        single = xr.open_dataset(stack[i], engine="stacasset", asset="nir", credentials=broker)
        np.testing.assert_array_equal(
            cube["nir"].isel(time=i).values, single["nir"].values.astype(cube["nir"].dtype)
        )
    rows, cols = np.indices((SIZE, SIZE))
    np.testing.assert_array_equal(cube["green"].isel(time=3).values, value(1, 3, rows, cols))
    log = [e for e in files.stats()["log"] if "/_tests_stack/" in e["path"]]
    assert log and all(e["authorization"] for e in log)  # every read carried the bearer
    assert {e["status"] for e in log} <= {200, 206}


def test_a_direct_load_from_the_main_thread_moves_to_a_helper_thread_once(stack, maap, monkeypatch):
    """GDAL options set from the main thread are process-wide, so reads there move to a helper
    thread; a load without chunks moves there whole (one hand-over, not one per file), and
    every read still runs off the main thread."""
    import threading

    from xstac_access.readers import _gdal

    broker, _ = maap
    pool = _gdal._main_thread_pool()
    handed, reads = [], []
    submit, call = pool.submit, _gdal.RasterSource._call
    monkeypatch.setattr(pool, "submit", lambda fn, *a: handed.append(fn) or submit(fn, *a))
    monkeypatch.setattr(
        _gdal.RasterSource,
        "_call",
        lambda self, *a: reads.append(threading.current_thread()) or call(self, *a),
    )
    forget_cached_blocks(stack[:5])
    cube = load(stack[:5], bands=["red", "nir"], credentials=broker)
    assert int(cube["red"].isel(time=4, y=0, x=0)) == value(0, 4, 0, 0)
    assert len(handed) == 1 and len(reads) == 10
    assert threading.main_thread() not in reads


def forget_cached_blocks(items) -> None:
    """GDAL keeps blocks it has read per URL for the process: make the next load ask again."""
    from xstac_access.readers._gdal import clear_vsicurl_cache

    for item in items:
        for asset in item["assets"].values():
            clear_vsicurl_cache("/vsicurl/" + asset["href"])


def test_a_coarse_resolution_reads_overviews_and_moves_fewer_bytes(local_world, maap, files):
    broker, _ = maap
    root = local_world.replica.files_root / "maap" / "data" / "_tests_stack_big"
    base = f"{local_world.endpoints.http}/maap/data/_tests_stack_big"
    big = write_stack(root, base, n_items=2, bands=("red",), size=1024)
    try:
        files.reset()
        full = load(big, bands=["red"], credentials=broker)
        moved_full = sent(files.stats(), "/_tests_stack_big/")
        forget_cached_blocks(big)
        files.reset()
        coarse = load(big, bands=["red"], resolution=80, credentials=broker)
        moved_coarse = sent(files.stats(), "/_tests_stack_big/")
    finally:
        shutil.rmtree(root)
    assert full.sizes["x"] == 1024 and coarse.sizes["x"] == 1024 // 8
    assert moved_coarse < moved_full / 8, (moved_coarse, moved_full)


def sent(stats: dict, part: str) -> int:
    return sum(e["bytes"] for e in stats["log"] if part in e["path"])


def test_lazy_cube_pickles_without_the_token_and_computes(stack, maap, files):
    broker, offline = maap
    forget_cached_blocks(stack[:3])
    cube = load(stack[:3], bands=["blue"], chunks={"x": 128, "y": 128}, credentials=broker)
    assert cube["blue"].chunks is not None
    assert not files.stats()["log"] or all(
        "/_tests_stack/" not in e["path"] for e in files.stats()["log"]
    )  # nothing read before compute
    blob = pickle.dumps(cube["blue"].data.dask)
    assert offline.encode() not in blob and b"Bearer" not in blob
    values = cube["blue"].isel(time=1).values
    assert values[0, 0] == value(2, 1, 0, 0)


def test_the_driver_pickles_without_secrets(stack, maap):
    broker, offline = maap
    from xstac_access._load import _pystac_items, _sources

    items = _pystac_items(stack[:2])
    driver = BrokeredRioDriver(_sources(items, ["red"], broker), BrokerHandle(broker))
    assert len(driver.sources) == 2
    blob = pickle.dumps(driver)
    assert offline.encode() not in blob
    assert driver.capture_env().get("GDAL_HTTP_HEADERS") is None


def test_each_task_of_a_cube_carries_one_files_worth_of_reader_state(stack, maap):
    """The driver rides in every task of the graph: pickled, it keeps the broker's rules, not a
    source per file, so a task's size does not grow with the cube (it held all 80 sources of a
    20-item load: 16 KB a task, growing with the square of the cube on dask.distributed)."""
    import cloudpickle

    broker, _ = maap

    def largest_task(n: int) -> bytes:
        cube = load(stack[:n], bands=list(BANDS), chunks={"x": SIZE, "y": SIZE},
                    credentials=broker)  # fmt: skip
        return max((cloudpickle.dumps(t) for t in dict(cube.__dask_graph__()).values()), key=len)

    small, large = largest_task(2), largest_task(N_ITEMS)
    assert len(large) <= len(small) + 64, (len(small), len(large))
    assert large.count(b"/_tests_stack/") <= 2  # its own file (and its odc source's copy)
    worker = pickle.loads(pickle.dumps(BrokeredRioDriver({}, BrokerHandle(broker))))
    assert worker.sources == {}  # a source is made per file the worker reads, from the rules


def test_without_credentials_the_protected_stack_is_a_typed_auth_error(stack):
    credentials.reset()
    from xstac_access import errors

    with pytest.raises(errors.AuthError, match="asset 'red' of item 'stack-test-000'"):
        load(stack[:1], bands=["red"], credentials={})


def test_an_item_collection_through_the_engine_is_a_lazy_cube(stack, maap, files):
    import pystac

    broker, _ = maap
    collection = pystac.ItemCollection([pystac.Item.from_dict(i) for i in stack[:5]])
    forget_cached_blocks(stack[:5])
    files.reset()
    cube = xr.open_dataset(
        collection, engine="stacasset", bands=["red", "nir"], resolution=20, credentials=broker
    )
    assert sent(files.stats(), "/_tests_stack/") == 0  # lazy: nothing read yet
    assert cube.sizes == {"time": 5, "y": SIZE // 2, "x": SIZE // 2}
    chunked = xr.open_dataset(
        collection, engine="stacasset", bands="nir", chunks={}, credentials=broker
    )
    assert chunked["nir"].chunks is not None
    assert int(cube["red"].isel(time=2, x=0, y=0)) >= 1000 + 40
    same = xr.open_dataset(
        {"type": "FeatureCollection", "features": stack[:5]},
        engine="stacasset", bands="red", resolution=20, credentials=broker,
    )  # fmt: skip
    xr.testing.assert_equal(same["red"].compute(), cube["red"].compute())
    with pytest.raises(ValueError, match="takes bands=, resolution="):
        xr.open_dataset(collection, engine="stacasset", group="x", credentials=broker)


def test_a_cube_computes_on_worker_processes_with_the_credential_relayed(
    stack, maap, files, local_world
):
    """Two worker processes read the protected COGs: each gets short-lived access material from
    this process, never the offline token, and the values equal the stack's known ones."""
    from distributed import Client, LocalCluster

    broker, offline = maap
    forget_cached_blocks(stack[:4])
    cube = load(stack[:4], bands=["red", "nir"], chunks={"x": 128, "y": 128}, credentials=broker)
    graph = pickle.dumps(dict(cube.__dask_graph__()))
    assert offline.encode() not in graph and b"Bearer" not in graph
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster),
    ):
        red, nir = (cube[b].values for b in ("red", "nir"))
    band = {name: i for i, name in enumerate(BANDS)}
    for t in range(4):
        for y, x in ((0, 0), (SIZE - 1, SIZE - 1), (130, 7)):
            assert red[t, y, x] == value(band["red"], t, y, x)
            assert nir[t, y, x] == value(band["nir"], t, y, x)
    reads = [e for e in files.stats()["log"] if "/_tests_stack/" in e["path"]]
    assert reads and {e["status"] for e in reads} <= {200, 206}
    assert all(e["authorization"] for e in reads)
    grants = local_world.oidc.token_requests("maap", "refresh_token")
    provider = broker.provider_for(stack[0]["assets"]["red"]["href"])
    assert grants >= 1 and sum(provider.grants.values()) == grants  # all from this process
