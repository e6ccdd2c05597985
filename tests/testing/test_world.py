"""The whole local world starts, serves its replica, and stops leaving nothing running.

One world is started for this module (in-process) and one more through the command line's
detached ``start --state`` / ``stop --state``, since stopping is what is under test.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from xstac_access.testing.world import LocalWorld


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.load(resp)


def running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def group_members(pgids: set[int]) -> list[int]:
    """Live processes in any of the process groups ``pgids`` (servers and their children)."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if fields[0] != "Z" and int(fields[2]) in pgids:
                members.append(int(entry.name))
    return members


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalWorld]:
    with LocalWorld(tmp_path_factory.mktemp("world")) as started:
        yield started


def test_every_server_answers(world: LocalWorld) -> None:
    ep = world.endpoints
    assert get_json(ep.stac + "/")["type"] == "Catalog"
    assert isinstance(world.files.stats(), dict)
    discovery = get_json(ep.oidc + "/realms/maap/.well-known/openid-configuration")
    assert discovery["token_endpoint"].startswith(ep.oidc)
    buckets = {b["Name"] for b in world.s3.client().list_buckets()["Buckets"]}
    assert buckets == set(world.replica.s3_buckets)
    assert world.start_seconds is not None and world.start_seconds < 60


def test_stac_api_holds_the_replica(world: LocalWorld) -> None:
    collections = get_json(world.endpoints.stac + "/collections?limit=100")["collections"]
    assert {c["id"] for c in collections} == {c["id"] for c in world.replica.collections}
    matched = get_json(world.endpoints.stac + "/search?limit=1")["numberMatched"]
    assert matched == len(world.replica.items)


def test_state_is_json(world: LocalWorld, tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    world.write_state(path)
    state = json.loads(path.read_text())
    assert state["endpoints"] == world.endpoints.as_dict()
    assert state["pids"] == world.pids
    assert set(state["pids"]) == {
        "oidc", "fileserver", "moto-s3", "postgres", "stac-api", "stac-proxy"
    }  # fmt: skip
    assert all(running(pid) for pid in state["pids"].values())


def in_directory(path: Path) -> list[int]:
    """Live processes whose working directory is ``path`` (PostgreSQL backends are; they run in
    sessions of their own, outside the postmaster's process group)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cwd").resolve() == path.resolve() and running(int(entry.name)):
                    found.append(int(entry.name))
            except (FileNotFoundError, PermissionError, ProcessLookupError):
                continue
    return found


def test_stop_leaves_nothing_running(world: LocalWorld) -> None:
    pids = set(world.pids.values())
    pg_data = world.pgstac.data_dir
    assert in_directory(pg_data)
    world.stop()
    world.stop()
    assert not [pid for pid in pids if running(pid)]
    assert group_members(pids) == []
    assert in_directory(pg_data) == []
    assert not pg_data.exists()
    assert world.pids == {}


def test_detached_start_and_stop_by_state_file(tmp_path: Path) -> None:
    state_file = tmp_path / "world.json"
    cli = [sys.executable, "-m", "xstac_access.testing"]
    started = subprocess.run(
        [*cli, "start", "--state", str(state_file), "--workdir", str(tmp_path / "w")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert started.returncode == 0, started.stderr
    state = json.loads(state_file.read_text())
    assert json.loads(started.stdout) == state
    assert get_json(state["endpoints"]["stac"] + "/")["type"] == "Catalog"
    pids = {*state["pids"].values(), state["controller_pid"]}
    assert all(running(pid) for pid in pids)

    stopped = subprocess.run(
        [*cli, "stop", "--state", str(state_file)], capture_output=True, text=True, timeout=60
    )
    assert stopped.returncode == 0, stopped.stderr
    assert not state_file.exists()
    assert not [pid for pid in pids if running(pid)]
    assert group_members(pids) == []
    assert not Path(state["pg_data_dir"]).exists()
