"""The whole local world starts, serves its replica, lends itself and stops leaving nothing.

One world is started for this module the way a user starts a detached one (``python -m
xstac_access.testing start --state FILE``); the tests use it through its state file, borrowed
as the demo, the examples and the benchmarks borrow the session's world, and end it with
``stop --state FILE``, since stopping is what is under test.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from xstac_access.testing.admin import FileServerAdmin, OidcAdmin
from xstac_access.testing.azurite import find_azurite
from xstac_access.testing.detached import stop_from_state
from xstac_access.testing.shared import BorrowedWorld

CLI = [sys.executable, "-m", "xstac_access.testing"]
SERVERS = {"oidc", "fileserver", "moto-s3", "postgres", "stac-api", "stac-proxy"}


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


@pytest.fixture(scope="module")
def detached(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """``(state file, what start printed)`` of a world started by the command line."""
    tmp = tmp_path_factory.mktemp("detached")
    state_file = tmp / "world.json"
    started = subprocess.run(
        [*CLI, "start", "--state", str(state_file), "--workdir", str(tmp / "w")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    yield state_file, started.stdout
    if state_file.exists():  # a test failed before the stop under test
        stop_from_state(state_file)


@pytest.fixture
def world(detached: tuple[Path, str]) -> Iterator[BorrowedWorld]:
    with BorrowedWorld(detached[0]) as borrowed:
        yield borrowed


def test_every_server_answers(world: BorrowedWorld) -> None:
    ep = world.endpoints
    assert get_json(ep.stac + "/")["type"] == "Catalog"
    assert isinstance(world.files.stats(), dict)
    discovery = get_json(ep.oidc + "/realms/maap/.well-known/openid-configuration")
    assert discovery["token_endpoint"].startswith(ep.oidc)
    buckets = {b["Name"] for b in world.s3.client().list_buckets()["Buckets"]}
    assert buckets == set(world.replica.s3_buckets)


def test_stac_api_holds_the_replica(world: BorrowedWorld) -> None:
    collections = get_json(world.endpoints.stac + "/collections?limit=100")["collections"]
    assert {c["id"] for c in collections} == {c["id"] for c in world.replica.collections}
    matched = get_json(world.endpoints.stac + "/search?limit=1")["numberMatched"]
    assert matched == len(world.replica.items)


def test_state_is_json(detached: tuple[Path, str]) -> None:
    state_file, printed = detached
    state = json.loads(state_file.read_text())
    assert json.loads(printed) == state
    assert set(state["pids"]) == SERVERS | ({"azurite"} if find_azurite() else set())
    assert all(running(pid) for pid in [*state["pids"].values(), state["controller_pid"]])
    assert (state["scale"], state["seed"], state["latency_ms"]) == ("ci", 0, 0)
    assert Path(state["clock_file"]).read_text().strip() == "0"


def test_a_borrowed_world_is_put_back_as_it_started_and_left_running(
    detached: tuple[Path, str],
) -> None:
    state = json.loads(detached[0].read_text())
    files = FileServerAdmin(state["endpoints"]["http"])
    protected = f"{state['endpoints']['http']}/maap/data/"  # needs a MAAP token
    with BorrowedWorld(detached[0], latency_ms=30) as world:
        assert world.pids == {} and files.stats()["latency_ms"] == 30
        world.files.set_faults([{"path": "/nowhere", "status": 503}])
        world.files.set_config({"protected": []})
        world.oidc.settings(access_token_lifetime=5, rotate_offline=False)
        world.oidc.offline_token()
    after = files.stats()
    assert (after["latency_ms"], after["faults"], after["log"], after["held"]) == (0, [], [], 0)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(protected + "x.tif", timeout=10)
    assert refused.value.code == 401  # the replica's protection config is back
    settings = OidcAdmin(state["endpoints"]["oidc"]).settings()
    assert (settings["access_token_lifetime"], settings["rotate_offline"]) == (300, True)
    assert all(running(pid) for pid in state["pids"].values())
    with pytest.raises(ValueError, match="serves scale 'ci'"):
        BorrowedWorld(detached[0], scale="bench").start()


def test_stop_leaves_nothing_running(detached: tuple[Path, str]) -> None:
    state_file, _ = detached
    state = json.loads(state_file.read_text())
    pids = {*state["pids"].values(), state["controller_pid"]}
    pg_data = Path(state["pg_data_dir"])
    assert in_directory(pg_data)
    stopped = subprocess.run([*CLI, "stop", "--state", str(state_file)],
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert stopped.returncode == 0, stopped.stderr
    log = state_file.with_name(state_file.name + ".log").read_text()
    assert "local world stopped: every server ended" in log  # by itself, not killed
    assert not state_file.exists()
    assert not [pid for pid in pids if running(pid)]
    assert group_members(pids) == []
    assert in_directory(pg_data) == []
    assert not pg_data.exists()
