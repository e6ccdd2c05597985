"""The local world's STAC API: stac-fastapi-pgstac on a private PostgreSQL 15 + PostGIS.

The database lives on tmpfs when it can (fsync is off anyway: nothing here must survive a
crash) and starts from a template data directory cached between runs, already initialised and
migrated to the installed pgstac version, so a warm start is a directory copy plus a server
start. PostgreSQL refuses to run as root: as root, ``initdb`` and ``postgres`` run as the
``postgres`` user through ``setpriv`` (which execs, so the PID we hold is the postmaster's).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

import psycopg
from pypgstac import __version__ as pypgstac_version
from pypgstac.db import PgstacDB
from pypgstac.load import Loader, Methods
from pypgstac.migrate import Migrate

from xstac_access.testing._procs import (
    LOOPBACK,
    ManagedProcess,
    free_port,
    get_json,
    start_process,
)

PG_BIN = Path(os.environ.get("XSTAC_PG_BIN", "/usr/lib/postgresql/15/bin"))
DB_USER = "postgres"
DB_NAME = "postgres"
#: Any password works under ``trust`` auth, but stac-fastapi-pgstac requires one to be set.
DB_PASSWORD = "postgres"  # noqa: S105 (a local throwaway database)
#: Where a fresh data directory goes when running as root (the work dir, e.g. pytest's
#: ``/tmp/pytest-of-root``, may not be traversable by the ``postgres`` user).
SHM = Path("/dev/shm")  # noqa: S108 (a private mkdtemp below it, mode 0700)


def _as_db_owner() -> list[str]:
    """The argv prefix that runs a PostgreSQL binary as a non-root user."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]


def _chown_to_db_owner(path: Path) -> None:
    if os.geteuid() == 0:
        import pwd  # POSIX only, as running as root is: imported where it is needed

        user = pwd.getpwnam("postgres")
        os.chown(path, user.pw_uid, user.pw_gid)


class PgStac:
    """A PostgreSQL server with pgstac, plus a stac-fastapi-pgstac app in front of it.

    ``start(collections, items)`` does everything; ``start_database``, ``load`` and
    ``start_api`` are the same steps one at a time, for callers that overlap them with other
    work. ``url`` is the STAC API root; its self links use that same ``127.0.0.1`` base, since
    stac-fastapi builds links from the request's Host header.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        cache_dir: Path | None = None,
        db_port: int | None = None,
        api_port: int | None = None,
    ) -> None:
        self.workdir = workdir
        self.log_dir = workdir / "logs"
        self.cache_dir = cache_dir
        self.db_port = db_port if db_port is not None else free_port()
        self.api_port = api_port if api_port is not None else free_port()
        self.url = f"http://{LOOPBACK}:{self.api_port}"
        self.data_dir: Path | None = None
        self._db: ManagedProcess | None = None
        self._api: ManagedProcess | None = None

    # -- addresses -------------------------------------------------------------------------

    @property
    def dsn(self) -> str:
        return f"postgresql://{DB_USER}:{DB_PASSWORD}@{LOOPBACK}:{self.db_port}/{DB_NAME}"

    @property
    def db_env(self) -> dict[str, str]:
        """Connection settings under both names stac-fastapi-pgstac versions have read."""
        env = {
            "PGUSER": DB_USER,
            "PGPASSWORD": DB_PASSWORD,
            "PGHOST": LOOPBACK,
            "PGPORT": str(self.db_port),
            "PGDATABASE": DB_NAME,
        }
        env |= {
            "POSTGRES_USER": DB_USER,
            "POSTGRES_PASS": DB_PASSWORD,
            "POSTGRES_HOST_READER": LOOPBACK,
            "POSTGRES_HOST_WRITER": LOOPBACK,
            "POSTGRES_PORT": str(self.db_port),
            "POSTGRES_DBNAME": DB_NAME,
        }
        return env

    @property
    def pids(self) -> dict[str, int]:
        """PIDs of the running parts, by name (``postgres``, ``stac-api``)."""
        procs = {"postgres": self._db, "stac-api": self._api}
        return {name: proc.pid for name, proc in procs.items() if proc is not None}

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, collections: Iterable[dict], items: Iterable[dict]) -> str:
        """Start the database, load the catalogue, start the API; return the API root URL."""
        self.start_database()
        self.load(collections, items)
        return self.start_api()

    def start_database(self, timeout: float = 60.0) -> None:
        """Create a data directory (from the cached template when there is one), start
        PostgreSQL on ``db_port`` and make sure the pgstac schema is in place."""
        self.data_dir = self._new_data_dir()
        template = self._template_dir()
        if template is not None and (template / "PG_VERSION").exists():
            subprocess.run(["cp", "-a", f"{template}/.", str(self.data_dir)], check=True)
            self._start_postgres(timeout)
            return
        self._initdb()
        self._start_postgres(timeout)
        self._migrate()
        if template is not None:
            self._save_template(template, timeout)

    def load(self, collections: Iterable[dict], items: Iterable[dict]) -> None:
        """Insert collections then items, skipping ids already present."""
        db = PgstacDB(dsn=self.dsn)
        try:
            loader = Loader(db)
            loader.load_collections(iter(list(collections)), insert_mode=Methods.insert_ignore)
            items = list(items)
            if items:
                loader.load_items(iter(items), insert_mode=Methods.insert_ignore)
        finally:
            db.close()

    def start_api(self, timeout: float = 120.0) -> str:
        """Start the stac-fastapi-pgstac app with uvicorn; return its root URL once it answers
        a request that needs the database (``/collections``), not merely its ping."""
        argv = [
            sys.executable, "-m", "uvicorn", "stac_fastapi.pgstac.app:create_app", "--factory",
            "--host", LOOPBACK, "--port", str(self.api_port),
            "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        env = self.db_env | {
            "STAC_FASTAPI_TITLE": "xstac-access local STAC API",
            "STAC_FASTAPI_DESCRIPTION": "pgstac replica of the real catalogues, for tests",
            "STAC_FASTAPI_LANDING_ID": "xstac-local",
            "STAC_FASTAPI_VERSION": "local",
            "DB_MIN_CONN_SIZE": "1",
            "DB_MAX_CONN_SIZE": "4",
        }
        self._api = start_process(
            "stac-api", argv, log_dir=self.log_dir, env=env, cwd=self.workdir,
            ready=self._lists_collections, timeout=timeout,
        )  # fmt: skip
        return self.url

    def wait_for_collections(self, ids: Iterable[str], timeout: float = 60.0) -> None:
        """Wait until a real search of the API lists every collection of ``ids`` (the load is
        committed and the API's pool sees it); the error names the API and shows its log."""
        assert self._api is not None, "start_api() first"
        wanted = set(ids)
        self._api.wait_ready(
            lambda: wanted <= self._listed_collections(), timeout, "listing the loaded collections"
        )

    def _listed_collections(self) -> set[str]:
        try:
            body = get_json(f"{self.url}/collections?limit=1000", timeout=5)
        except (OSError, ValueError):
            return set()
        return {c["id"] for c in body.get("collections", [])} if isinstance(body, dict) else set()

    def _lists_collections(self) -> bool:
        try:
            body = get_json(f"{self.url}/collections?limit=1", timeout=5)
        except (OSError, ValueError):
            return False
        return isinstance(body, dict) and "collections" in body

    def stop(self) -> None:
        """Stop the API, then PostgreSQL (immediate shutdown), and delete the data directory.
        Idempotent."""
        if self._api is not None:
            self._api.stop()
            self._api = None
        if self._db is not None:
            # SIGQUIT is PostgreSQL's immediate shutdown: no checkpoint, nothing to keep.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._db.pid, signal.SIGQUIT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._db.popen.wait(timeout=5)
            self._db.stop()
            self._db = None
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None

    # -- steps -----------------------------------------------------------------------------

    def _new_data_dir(self) -> Path:
        if os.geteuid() == 0 and SHM.is_dir() and os.access(SHM, os.W_OK):
            path = Path(tempfile.mkdtemp(prefix="xstac-pgdata-", dir=SHM))
        elif os.geteuid() == 0:
            path = Path(tempfile.mkdtemp(prefix="xstac-pgdata-"))
        else:
            path = self.workdir / "pgdata"
            path.mkdir(parents=True)
        path.chmod(0o700)
        _chown_to_db_owner(path)
        return path

    def _template_dir(self) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / "pgstac-template" / f"pg{_pg_major()}-pgstac{pypgstac_version}"

    def _initdb(self) -> None:
        argv = [
            *_as_db_owner(), str(PG_BIN / "initdb"), "-D", str(self.data_dir),
            "-U", DB_USER, "-A", "trust", "--no-sync", "-E", "UTF8", "--locale", "C.UTF-8",
        ]  # fmt: skip
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{done.stdout}\n{done.stderr}")

    def _start_postgres(self, timeout: float) -> None:
        argv = [
            *_as_db_owner(), str(PG_BIN / "postgres"), "-D", str(self.data_dir),
            "-c", f"listen_addresses={LOOPBACK}", "-p", str(self.db_port),
            "-k", str(self.data_dir), "-c", "fsync=off", "-c", "synchronous_commit=off",
            "-c", "full_page_writes=off", "-c", "max_connections=50",
        ]  # fmt: skip
        self._db = start_process(
            "postgres", argv, log_dir=self.log_dir, ready=self._accepts_sessions, timeout=timeout
        )

    def _accepts_sessions(self) -> bool:
        """Whether PostgreSQL takes sessions (its port opens before startup has finished)."""
        try:
            with psycopg.connect(self.dsn, connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def _migrate(self) -> None:
        """Install pgstac and turn on ``context`` so searches report ``numberMatched``, as the
        real APIs (Earth Search, ESA MAAP) do."""
        db = PgstacDB(dsn=self.dsn)
        try:
            Migrate(db).run_migration()
            db.query_one(
                "INSERT INTO pgstac_settings (name, value) VALUES ('context', 'on') "
                "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value RETURNING name"
            )
        finally:
            db.close()

    def _save_template(self, template: Path, timeout: float) -> None:
        """Stop cleanly, copy the data directory into the cache atomically, start again."""
        assert self._db is not None and self.data_dir is not None
        os.killpg(self._db.pid, signal.SIGINT)  # fast shutdown: checkpoint, then exit
        self._db.popen.wait(timeout=timeout)
        self._db = None
        template.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".building-", dir=template.parent))
        subprocess.run(["cp", "-a", f"{self.data_dir}/.", str(staging)], check=True)
        try:
            staging.rename(template)
        except OSError:  # another run saved it first
            shutil.rmtree(staging, ignore_errors=True)
        self._start_postgres(timeout)


def _pg_major() -> str:
    out = subprocess.run(
        [str(PG_BIN / "postgres"), "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()[-1].split(".")[0]
