"""Shared fixtures: real data copied into tests/data, and the local world of real servers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest_plugins = ["xstac_access.testing.pytest_plugin"]

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


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
