"""Shared fixtures: real data copied into tests/data, and the local world of real servers."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

pytest_plugins = ["xstac_access.testing.pytest_plugin"]

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


def replica_item(world, collection: str, index: int = 0) -> dict:
    """A copy of one of the replica's items of ``collection`` (by id order): tests may change it
    without touching the session's world."""
    items = sorted((i for i in world.replica.items if i["collection"] == collection),
                   key=lambda i: i["id"])  # fmt: skip
    return copy.deepcopy(items[index])


def load_item(name: str) -> dict:
    """A real STAC item from tests/data/items by (unique) file-name prefix."""
    matches = sorted((DATA / "items").glob(f"{name}*.json"))
    assert len(matches) == 1, matches
    return json.loads(matches[0].read_text())


@pytest.fixture
def files(local_world):
    """The file server's admin client, with counters reset and no faults (cleared after too)."""
    local_world.files.reset()
    local_world.files.clear_faults()
    yield local_world.files
    local_world.files.clear_faults()


GROUPSPEC = DATA / "zarr" / "groupspec"


def write_groupspec(spec: dict, path) -> None:
    """Write a store's metadata (no chunks) from a pydantic-zarr style hierarchy description."""
    path.mkdir(parents=True, exist_ok=True)
    node = {k: v for k, v in spec.items() if k != "members"}
    if spec.get("zarr_format") == 3:
        node.setdefault("node_type", "array" if "shape" in spec else "group")
        (path / "zarr.json").write_text(json.dumps(node))
    elif "shape" in spec:
        (path / ".zarray").write_text(
            json.dumps({k: v for k, v in node.items() if k != "attributes"})
        )
        (path / ".zattrs").write_text(json.dumps(spec.get("attributes", {})))
    else:
        (path / ".zgroup").write_text(json.dumps({"zarr_format": 2}))
        (path / ".zattrs").write_text(json.dumps(spec.get("attributes", {})))
    for name, member in (spec.get("members") or {}).items():
        write_groupspec(member, path / name)


@contextmanager
def eopf_product_over_http(world, folder: str) -> Iterator[tuple[dict, str]]:
    """The replica's S2 EOPF product copied under the file server (whose counters and faults
    then see every request), with its item pointing there: ``(item, served path)``."""
    item = replica_item(world, "eopf-sentinel-2-l2a")
    s3 = world.endpoints.s3
    bucket, _, key = item["assets"]["product"]["href"][len(s3) + 1 :].partition("/")
    source = world.replica.s3_buckets[bucket] / key
    target = world.replica.files_root / folder / source.name
    shutil.copytree(source, target)
    try:
        base = f"{world.endpoints.http}/{folder}/{source.name}"
        yield (
            json.loads(json.dumps(item).replace(item["assets"]["product"]["href"], base)),
            (f"/{folder}/{source.name}"),
        )
    finally:
        shutil.rmtree(target.parent)
