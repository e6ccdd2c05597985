"""The whole local world: every server the library meets in the wild, started together.

``LocalWorld`` picks the ports first (the replica's hrefs need every endpoint before any server
runs), then starts the OIDC server, the file server, moto, Azurite (when installed:
:mod:`xstac_access.testing.azurite`), PostgreSQL and the STAC quirks proxy concurrently in
threads while the replica is built, and loads the replica into each as
soon as both are ready. The STAC API counts as up once a real request lists the replica's
collections. Everything is stopped by PID: on ``stop()``, on a failed start, and at interpreter
exit. The token and file servers measure lifetimes on the world's shared clock
(:mod:`xstac_access.testing.clock`), which a test moves forward instead of sleeping.

A world can also run detached (``python -m xstac_access.testing start --state FILE``) or be
used by other processes through the state file it writes (``write_state``):
:mod:`xstac_access.testing.shared` borrows it, :mod:`xstac_access.testing.detached` stops it.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, Self

import platformdirs

from xstac_access.testing import clock, s3credentials, stacproxy, stacproxy_client
from xstac_access.testing._procs import (
    LOOPBACK,
    ManagedProcess,
    free_ports,
    start_process,
)
from xstac_access.testing.admin import FileServerAdmin, OidcAdmin
from xstac_access.testing.azurite import Azurite
from xstac_access.testing.endpoints import Endpoints, started
from xstac_access.testing.pgstac import PgStac
from xstac_access.testing.replica import (
    CDSE_S3_KEYS,
    Replica,
    azure_accounts,
    build_replica,
    hls,
)
from xstac_access.testing.s3 import DUMMY_KEYS, S3Store


def default_cache_dir() -> Path:
    """``$XSTAC_CACHE_DIR``, else platformdirs' user cache directory for ``xstac-access``
    (``$XDG_CACHE_HOME`` or ``~/.cache`` on Linux, ``~/Library/Caches`` on macOS,
    ``%LOCALAPPDATA%`` on Windows): replica files, pgstac template."""
    env = os.environ.get("XSTAC_CACHE_DIR")
    return Path(env) if env else Path(platformdirs.user_cache_dir("xstac-access", appauthor=False))


class LocalWorld:
    """The local replica world: OIDC server, file server (two ports), S3 store, STAC API and a
    proxy in front of it imitating real catalogues' search limits.

    Use as a context manager or call ``start()``/``stop()``. After ``start()``: ``endpoints``
    (base URLs), ``replica`` (what was served), ``files``, ``oidc`` and ``stac_quirks`` (admin
    clients of the file server, the token server and the STAC proxy), ``s3`` (the object store),
    ``azurite`` (Azure blob storage; its ``problem`` says why it is missing, if it is),
    ``clock_file`` (the servers' shared clock: :meth:`advance_clock`), ``pids`` and
    ``start_seconds``.
    """

    def __init__(
        self,
        workdir: Path | None = None,
        *,
        cache_dir: Path | None = None,
        latency_ms: int = 0,
        scale: str = "ci",
        seed: int = 0,
        access_token_lifetime: int = 300,
    ) -> None:
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir is not None else None
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.latency_ms = latency_ms
        self.scale = scale
        self.seed = seed
        self.access_token_lifetime = access_token_lifetime
        self.endpoints: Endpoints | None = None
        self.replica: Replica | None = None
        self.files: FileServerAdmin | None = None
        self.oidc: OidcAdmin | None = None
        self.stac_quirks: stacproxy_client.StacProxyAdmin | None = None
        self.s3: S3Store | None = None
        self.azurite: Azurite | None = None
        self.pgstac: PgStac | None = None
        self.start_seconds: float | None = None
        self.clock_file: Path | None = None
        #: Seconds each start step took, by name, measured from the start of ``start()``.
        self.timings: dict[str, float] = {}
        self._procs: dict[str, ManagedProcess] = {}
        self._lock = threading.Lock()
        self._began = 0.0
        self._started = False

    # -- context manager -------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def log_dir(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "logs"

    @property
    def pids(self) -> dict[str, int]:
        """PIDs of the running servers by name; each leads its own process group."""
        pids = {name: proc.pid for name, proc in self._procs.items()}
        if self.s3 is not None and self.s3.pid is not None:
            pids["moto-s3"] = self.s3.pid
        if self.azurite is not None and self.azurite.pid is not None:
            pids["azurite"] = self.azurite.pid
        if self.pgstac is not None:
            pids |= self.pgstac.pids
        return pids

    def credentials(self) -> dict[str, dict[str, Any]]:
        """The presets of the protected systems pointed at this world: MAAP (a fresh offline
        token from the token server), CDSE (password grant; the download host trusted for its
        redirect), CDSE's S3 keys for ``eodata``, Earthdata (login on the second host; S3 keys
        for ``lp-prod-protected`` from the file server's ``/s3credentials``), Earth Search's
        requester-pays buckets (a user's own AWS keys: the store takes any), the EOPF object
        store and the Planetary Computer (SAS tokens from the file server, blob storage on
        Azurite). What a user writes for the real catalogues, with the local endpoints; pass it
        as ``credentials=`` or to ``credentials.configure(**...)``."""
        e = self.endpoints
        assert e is not None and self.oidc is not None, "start() the world first"
        realm = f"{e.oidc}/realms/{{}}/protocol/openid-connect/token"
        return {
            "maap": {
                "offline_token": self.oidc.offline_token("maap", "maap-user"),
                "token_url": realm.format("maap"),
                "client_secret": "offline-token-public-secret",
                "hosts": [f"{e.http}/maap/data/*"],
            },
            "cdse": {
                "username": "cdse-user",
                "password": "cdse-pass",
                "token_url": realm.format("cdse"),
                "hosts": [f"{e.http}/cdse/*"],
                "trusted_hosts": [e.http_alt.split("://", 1)[1]],
            },
            "earthdata": {
                "username": "edl-user",
                "password": "edl-pass",
                "login_host": e.http_alt.split("://", 1)[1],
                "hosts": [f"{e.http}/hls/protected/*"],
                "s3_credentials": {hls.S3_BUCKET: f"{e.http}{s3credentials.PATH}"},
                "s3_endpoint_url": e.s3,
            },
            "cdse_s3": {**CDSE_S3_KEYS, "endpoint_url": e.s3},
            "earthsearch": {
                "key": DUMMY_KEYS["aws_access_key_id"],
                "secret": DUMMY_KEYS["aws_secret_access_key"],
                "endpoint_url": e.s3,
            },
            "eopf": {"endpoint_url": e.s3},
            "planetary_computer": {
                "token_url": f"{e.http}/sas/token/{{account}}/{{container}}",
                "blob_endpoint": f"{e.azure}/{{account}}",
            },
        }

    def s3_options(self) -> dict[str, Any]:
        """``storage_options`` for the replica's public and requester-pays buckets on this
        world's S3 store: a user's own AWS keys (the store takes any), who pays for reads
        (Earth Search's buckets want it said), and the endpoint."""
        assert self.endpoints is not None, "start() the world first"
        return {
            "key": DUMMY_KEYS["aws_access_key_id"],
            "secret": DUMMY_KEYS["aws_secret_access_key"],
            "requester_pays": True,
            "client_kwargs": {"endpoint_url": self.endpoints.s3},
        }

    def start(self) -> Self:
        """Start every server and load the replica; on any failure stop what started, raise."""
        if self._started:
            raise RuntimeError("this LocalWorld was already started")
        self._started = True
        self._began = time.monotonic()
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="xstac-world-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        atexit.register(self.stop)
        self.clock_file = clock.create(self.workdir / "clock")
        names = ("http", "http_alt", "s3", "oidc", "stac", "stac_quirks", "azure", "postgres")
        ports = dict(zip(names, free_ports(len(names)), strict=True))
        self.endpoints = Endpoints(
            **{name: f"http://{LOOPBACK}:{ports[name]}" for name in names[:-1]}
        )
        self.s3 = S3Store(self.log_dir, port=ports["s3"])
        self.pgstac = PgStac(
            self.workdir,
            cache_dir=self.cache_dir,
            db_port=ports["postgres"],
            api_port=ports["stac"],
        )
        try:
            self._start_all(ports)
        except BaseException:
            self.stop(keep_workdir=True)
            raise
        self.files = FileServerAdmin(self.endpoints.http)
        self.oidc = OidcAdmin(self.endpoints.oidc)
        self.stac_quirks = stacproxy_client.StacProxyAdmin(self.endpoints.stac_quirks)
        self.start_seconds = time.monotonic() - self._began
        return self

    def advance_clock(self, seconds: float) -> float:
        """Move this world's shared clock forward by ``seconds`` (tokens and signatures age at
        its servers, and in every process whose ``XSTAC_CLOCK_FILE`` names ``clock_file``)."""
        assert self.clock_file is not None, "start() the world first"
        return clock.advance(self.clock_file, seconds)

    @property
    def _clock_env(self) -> dict[str, str]:
        """The environment that puts a server on this world's clock."""
        return {clock.ENV: str(self.clock_file)}

    def _timed(self, name: str, step: Callable[..., Any], *args: Any) -> Any:
        """Run ``step(*args)`` and record when it finished, in seconds since ``start()``."""
        result = step(*args)
        self.timings[name] = round(time.monotonic() - self._began, 2)
        return result

    def _start_all(self, ports: dict[str, int]) -> None:
        """Build the replica and start the servers concurrently; re-raise the first error."""
        build = partial(build_replica, seed=self.seed, scale=self.scale)
        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="world") as pool:

            def run(name: str, step: Callable[..., Any], *args: Any) -> Future:
                return pool.submit(self._timed, name, step, *args)

            replica = run("replica", build, self.cache_dir, self.endpoints)
            oidc = run("oidc", self._start_oidc, ports["oidc"])
            api = run("stac", self._start_stac, run, replica)
            s3 = run("s3", self._start_s3, replica)
            files = run("fileserver", self._start_files, ports, replica)
            quirks = run("stac-proxy", self._start_stac_proxy, ports["stac_quirks"])
            azure = run("azurite", self._start_azurite, ports["azure"], replica)
            errors = [f.exception() for f in (replica, oidc, api, s3, files, quirks, azure)]
        for error in errors:
            if error is not None:
                raise error
        self.replica = replica.result()

    def _start_oidc(self, port: int) -> None:
        argv = [
            sys.executable, "-m", "xstac_access.testing.oidc", "--port", str(port),
            "--access-token-lifetime", str(self.access_token_lifetime),
        ]  # fmt: skip
        ready = f"{started(self.endpoints).oidc}/realms/maap/.well-known/openid-configuration"
        proc = start_process(
            "oidc", argv, log_dir=self.log_dir, env=self._clock_env, ready_url=ready
        )
        self._add("oidc", proc)

    def _start_files(self, ports: dict[str, int], replica: Future[Replica]) -> None:
        """Start the file server once the replica's files exist (it fetches JWKS lazily)."""
        built, endpoints = replica.result(), started(self.endpoints)
        config = started(self.workdir) / "fileserver-config.json"
        config.write_text(json.dumps(built.server_config, indent=1))
        argv = [
            sys.executable, "-m", "xstac_access.testing.fileserver",
            "--root", str(built.files_root), "--port", str(ports["http"]),
            "--alt-port", str(ports["http_alt"]), "--config", str(config),
            "--oidc-url", endpoints.oidc, "--latency-ms", str(self.latency_ms),
        ]  # fmt: skip
        ready = f"{endpoints.http}/__admin__/stats"
        proc = start_process(
            "fileserver", argv, log_dir=self.log_dir, env=self._clock_env, ready_url=ready
        )
        self._add("fileserver", proc)

    def _start_stac_proxy(self, port: int) -> None:
        """Start the proxy of catalogue personalities (it reaches pgstac only when asked)."""
        endpoints = started(self.endpoints)
        argv = [
            sys.executable, stacproxy.__file__, "--port", str(port),
            "--upstream", endpoints.stac,
        ]  # fmt: skip
        ready = f"{endpoints.stac_quirks}/__admin__/stats"
        proc = start_process("stac-proxy", argv, log_dir=self.log_dir, ready_url=ready)
        self._add("stac-proxy", proc)

    def _start_s3(self, replica: Future) -> None:
        """Start moto with the replica's buckets preloaded (far faster than uploading), behind
        the replica's bucket rules, on the world's clock (temporary keys expire on it)."""
        built: Replica = replica.result()
        started(self.s3).start(preload=built.s3_buckets, rules=built.s3_rules, env=self._clock_env)

    def _start_azurite(self, port: int, replica: Future) -> None:
        """Start Azurite while the replica is built, then upload its containers; without
        Azurite installed the world goes on without it (``azurite.problem`` says what to
        install)."""
        self.azurite = Azurite(self.log_dir, port, azure_accounts(self.seed))
        if self.azurite.start():
            self.azurite.upload(replica.result().azure_containers)

    def _start_stac(self, run: Callable[..., Future], replica: Future) -> None:
        """Start PostgreSQL, then load the catalogue while the API process boots; up once a
        real request lists the replica's collections.

        The API starts after the replica is built: on a cold cache, building keeps every core
        busy for tens of seconds, and an API booting alongside it (a heavy import) could run out
        of its start timeout on a loaded machine."""
        pgstac = started(self.pgstac)
        self._timed("postgres", pgstac.start_database)
        built: Replica = replica.result()
        api = run("stac-api-process", pgstac.start_api)
        pgstac.load(built.collections, built.items)
        api.result()
        pgstac.wait_for_collections(c["id"] for c in built.collections)

    def _add(self, name: str, proc: ManagedProcess) -> None:
        with self._lock:
            self._procs[name] = proc

    def stop(self, *, keep_workdir: bool = False) -> None:
        """Stop every server by PID. Idempotent; safe after a partial start.

        A work dir this world created itself is deleted unless ``keep_workdir`` (kept after a
        failed start, for its logs).
        """
        with self._lock:
            procs, self._procs = self._procs, {}
        if self.pgstac is not None:
            self.pgstac.stop()
        for proc in reversed(procs.values()):
            proc.stop()
        if self.s3 is not None:
            self.s3.stop()
        if self.azurite is not None:
            self.azurite.stop()
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        if self._own_workdir and not keep_workdir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- detached worlds -------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """What another process needs to use or stop this world, as JSON-able values."""
        return {
            "endpoints": self.endpoints.as_dict() if self.endpoints else None,
            "pids": self.pids,
            "controller_pid": os.getpid(),
            "workdir": str(self.workdir) if self.workdir else None,
            "pg_data_dir": str(self.pgstac.data_dir)
            if self.pgstac and self.pgstac.data_dir
            else None,
            "cache_dir": str(self.cache_dir),
            "clock_file": str(self.clock_file) if self.clock_file else None,
            "scale": self.scale,
            "seed": self.seed,
            "latency_ms": self.latency_ms,
            "access_token_lifetime": self.access_token_lifetime,
            "start_seconds": self.start_seconds,
            "timings": self.timings,
        }

    def write_state(self, path: Path) -> None:
        """Write ``state()`` to ``path`` atomically (readers poll for it to appear)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.state(), indent=1))
        tmp.replace(path)
