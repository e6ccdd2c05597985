"""Fixtures of the tests of ``xstac_access.testing``: the token and file servers of
``local_servers.py``, started once, and a clean slate for each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from local_servers import CONFIG, Servers, running_servers


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    with running_servers(tmp_path_factory.mktemp("servers")) as started:
        yield started


@pytest.fixture
def w(servers: Servers) -> Iterator[Servers]:
    """The servers with counters cleared before, and latency, faults, held responses and
    lifetimes reset after."""
    servers.files.reset()
    servers.tokens.reset()
    yield servers
    servers.files.clear_faults()
    servers.files.set_latency(0)
    servers.files.set_config(CONFIG)
    servers.tokens.set_access_token_lifetime(300)


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        yield session
