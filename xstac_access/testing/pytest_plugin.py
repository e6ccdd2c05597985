"""Pytest fixtures giving tests one running local world per session.

Enable with ``pytest_plugins = ["xstac_access.testing.pytest_plugin"]`` in ``conftest.py``.
The world starts on first use (tests that do not ask for it pay nothing) and stops at the end
of the session, by PID, whatever happened in between.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from xstac_access.testing.endpoints import Endpoints

if TYPE_CHECKING:  # imported when first used: the servers' dependencies are heavy
    from xstac_access.testing.world import LocalWorld


@pytest.fixture(scope="session")
def local_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalWorld]:
    """A started ``LocalWorld`` (CI scale, no latency) shared by the whole test session."""
    from xstac_access.testing.world import LocalWorld

    world = LocalWorld(tmp_path_factory.mktemp("local-world"))
    with world:
        yield world


@pytest.fixture(scope="session")
def endpoints(local_world: LocalWorld) -> Endpoints:
    """Base URLs of the session's local world."""
    return local_world.endpoints


@pytest.fixture(scope="session")
def stac_api_url(endpoints: Endpoints) -> str:
    """Root URL of the session's local STAC API."""
    return endpoints.stac
