"""The local token and file servers that the tests of ``xstac_access.testing`` talk to.

One OIDC server and one file server, real child processes (not the session's world: the file
server serves a small tree of its own, with its own protection config), on a clock of their
own that the tests move forward instead of sleeping, started once (fixture ``servers``; ``w`` is
them with a clean slate for one test). Test modules load it as a plugin (``pytest_plugins``) and
use it only through those fixtures: a ``conftest.py`` here would take the module name
``conftest`` from the one in ``tests/``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
import requests

from xstac_access.testing import clock
from xstac_access.testing._procs import free_ports, start_process
from xstac_access.testing.admin import FileServerAdmin, OidcAdmin

ODATA = "/cdse/odata/v1/Products(abc)/$value"
CONFIG = {
    "protected": [
        {"prefix": "/maap/data/", "host": "main", "scheme": "bearer", "realm": "maap"},
        {"prefix": "/cdse/download/", "host": "alt", "scheme": "bearer", "realm": "cdse"},
        {"prefix": "/hls/protected/", "host": "main", "scheme": "earthdata"},
    ],
    "redirects": [
        {"host": "main", "path": ODATA, "to_host": "alt", "to_path": "/cdse/download/X.zip"},
        {
            "host": "main",
            "path": "/old/big.bin",
            "to_host": "main",
            "to_path": "/big.bin",
            "status": 301,
        },
    ],
    "earthdata": {"username": "edl-user", "password": "edl-pass"},
}


@dataclass
class Servers:
    """The running servers and what the file server serves."""

    main: str
    alt: str
    oidc: str
    files: FileServerAdmin
    tokens: OidcAdmin
    big: bytes
    outside: Path
    clock_file: Path

    config: ClassVar[dict] = CONFIG  # the file server's protection config
    odata: ClassVar[str] = ODATA  # a CDSE-style download path, redirected to the other host

    def advance_clock(self, seconds: float) -> None:
        """Age every token and signature at both servers by ``seconds``."""
        clock.advance(self.clock_file, seconds)

    def token(self, realm: str = "cdse", host: str | None = None) -> str:
        """An access token from a password grant (``host`` overrides the Host header)."""
        users = {
            "cdse": ("cdse-public", "cdse-user", "cdse-pass"),
            "earthdata": ("earthdata-public", "edl-user", "edl-pass"),
        }
        client_id, user, password = users[realm]
        answer = requests.post(
            f"{self.oidc}/realms/{realm}/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": client_id,
                "username": user,
                "password": password,
            },
            headers={"Host": host} if host else None,
        )
        answer.raise_for_status()
        return answer.json()["access_token"]

    @staticmethod
    def bearer(value: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {value}"}


@contextmanager
def running_servers(base: Path) -> Iterator[Servers]:
    """Start both servers on a tree of their own under ``base``; stop them on exit."""
    root = base / "root"
    for rel in ("sub", "maap/data", "cdse/download", "hls/protected"):
        (root / rel).mkdir(parents=True)
    big = os.urandom(1_000_000)
    (root / "big.bin").write_bytes(big)
    (root / "small.txt").write_text("hello\n")
    for rel in ("maap/data/x.tif", "cdse/download/X.zip", "hls/protected/g.tif"):
        (root / rel).write_bytes(b"secret data " + rel.encode())
    outside = base / "outside.txt"
    outside.write_text("must not be served")
    config = base / "config.json"
    config.write_text(json.dumps(CONFIG))
    logs = base / "logs"
    ticks = clock.create(base / "clock")
    env = {clock.ENV: str(ticks)}
    oidc_port, port, alt_port = free_ports(3)
    oidc, main = f"http://127.0.0.1:{oidc_port}", f"http://127.0.0.1:{port}"
    files_argv = [sys.executable, "-m", "xstac_access.testing.fileserver", "--root", str(root)]
    files_argv += ["--port", str(port), "--alt-port", str(alt_port)]
    files_argv += ["--config", str(config), "--oidc-url", oidc]
    oidc_argv = [sys.executable, "-m", "xstac_access.testing.oidc", "--port", str(oidc_port)]
    # Both start at once: the file server fetches the JWKS only when a token arrives.
    with ThreadPoolExecutor(2) as pool:
        starts = [
            pool.submit(
                start_process, "oidc", oidc_argv, log_dir=logs, env=env,
                ready_url=f"{oidc}/realms/maap/.well-known/openid-configuration",
            ),
            pool.submit(
                start_process, "fileserver", files_argv, log_dir=logs, env=env,
                ready_url=f"{main}/__admin__/stats",
            ),
        ]  # fmt: skip
    procs = [start.result() for start in starts if start.exception() is None]
    try:
        if len(procs) < len(starts):
            raise next(exc for start in starts if (exc := start.exception()) is not None)
        yield Servers(
            main, f"http://127.0.0.1:{alt_port}", oidc, FileServerAdmin(main), OidcAdmin(oidc),
            big, outside, ticks,
        )  # fmt: skip
    finally:
        for proc in procs:
            proc.stop()


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
