"""Pytest fixtures giving tests one running local world per session.

Enable with ``pytest_plugins = ["xstac_access.testing.pytest_plugin"]`` in ``conftest.py``.
The world starts on first use (tests that do not ask for it pay nothing) and stops at the end
of the session, by PID, whatever happened in between. While it runs, the session's
``XSTAC_CLOCK_FILE`` names the world's clock, so the library in this process and in every
process started from it (dask workers, subprocesses) measures token lifetimes on the clock the
servers use, and a test ages tokens with ``local_world.advance_clock(seconds)``. Subprocesses
that should use this world rather than start their own (the demo, the examples, the
benchmarks) get ``world_env``: the environment with ``XSTAC_WORLD`` naming its state file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from xstac_access.testing.endpoints import Endpoints, started

if TYPE_CHECKING:  # imported when first used: the servers' dependencies are heavy
    from xstac_access.testing.world import LocalWorld


@pytest.fixture(scope="session")
def local_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalWorld]:
    """A started ``LocalWorld`` (CI scale, no latency) shared by the whole test session."""
    from xstac_access.testing.clock import ENV as CLOCK_ENV
    from xstac_access.testing.world import LocalWorld

    world = LocalWorld(tmp_path_factory.mktemp("local-world"))
    with world:
        world.write_state(started(world.workdir) / "world.json")
        before = os.environ.get(CLOCK_ENV)
        os.environ[CLOCK_ENV] = str(world.clock_file)
        try:
            yield world
        finally:
            if before is None:
                os.environ.pop(CLOCK_ENV, None)
            else:
                os.environ[CLOCK_ENV] = before


@pytest.fixture(scope="session")
def world_env(local_world: LocalWorld) -> dict[str, str]:
    """The environment for a subprocess that borrows the session's world (``XSTAC_WORLD``)."""
    from xstac_access.testing.shared import WORLD_ENV

    return {**os.environ, WORLD_ENV: str(started(local_world.workdir) / "world.json")}


@pytest.fixture(scope="session")
def endpoints(local_world: LocalWorld) -> Endpoints:
    """Base URLs of the session's local world."""
    return started(local_world.endpoints)


@pytest.fixture(scope="session")
def stac_api_url(endpoints: Endpoints) -> str:
    """Root URL of the session's local STAC API."""
    return endpoints.stac
