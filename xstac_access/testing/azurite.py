"""The local world's Azure blob storage: Azurite, Microsoft's emulator, on 127.0.0.1.

It stands for the Planetary Computer's storage accounts (``cpdataeuwest``...). Azurite comes
from the npm registry (``scripts/bootstrap.sh`` installs :data:`PACKAGE` into
``<venv>/node``); it runs in memory, with telemetry off, for the accounts the replica names
(``AZURITE_ACCOUNTS``), each with a key derived from the replica's seed. Reads need a SAS
token signed with that key: the file server's Planetary-Computer-style token endpoint mints real
Azure service SAS tokens for these accounts (:func:`container_sas`), which Azurite checks as
Azure does: signature, permissions, and expiry on the wall clock, so their ``se`` is the
lifetime from now in wall time while ``msft:expiry`` is on the world's shared clock (a test
moving that clock ages a token for the library, not for Azurite). The replica's containers
are uploaded once Azurite listens, with the account key.

Without npm or Node.js the world starts all the same, without Azurite; ``problem`` then says
what to install, and the tests that need Azure blob storage fail with that message.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import sys
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from xstac_access.testing._procs import LOOPBACK, ManagedProcess, start_process

#: The npm package, pinned: 3.35.0 is the last release that runs on Node.js 20 (3.36 wants 22).
PACKAGE = "azurite@3.35.0"
MISSING = (
    "Azurite (the Azure blob storage emulator, npm package azurite) is not installed, so the "
    "local world has no Azure blob storage. Install Node.js >= 18 with npm (Debian: apt-get "
    "install nodejs npm) and run scripts/bootstrap.sh, which puts it in <venv>/node (or: npm "
    f"install --prefix <venv>/node {PACKAGE})."
)


def find_azurite() -> Path | None:
    """The ``azurite-blob`` program: the one bootstrap installed beside this interpreter's
    virtual environment, else one on ``PATH``; ``None`` when there is neither (or no node)."""
    if shutil.which("node") is None:
        return None
    local = Path(sys.prefix) / "node" / "node_modules" / ".bin" / "azurite-blob"
    if local.exists():
        return local
    found = shutil.which("azurite-blob")
    return Path(found) if found else None


def account_key(account: str, seed: int) -> str:
    """The replica's key of a storage account (base64 of 64 bytes, as Azure's keys are)."""
    return base64.b64encode(hashlib.sha512(f"azurite:{seed}:{account}".encode()).digest()).decode()


def container_sas(account: str, key: str, container: str, expiry: float) -> str:
    """A service SAS token reading and listing ``container`` until ``expiry`` (epoch seconds),
    signed with the account ``key``: what the Planetary Computer's token API hands out."""
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    return generate_container_sas(
        account,
        container,
        account_key=key,
        permission=ContainerSasPermissions(read=True, list=True),
        expiry=datetime.fromtimestamp(expiry, tz=UTC),
    )


class Azurite:
    """An Azurite blob service started as a child process, holding the replica's containers.

    ``accounts`` maps account names to keys; ``port`` is chosen ahead (the world's credentials
    name the endpoint before the server runs).
    """

    def __init__(self, log_dir: Path, port: int, accounts: Mapping[str, str]) -> None:
        self.log_dir, self.port, self.accounts = log_dir, port, dict(accounts)
        self.endpoint = f"http://{LOOPBACK}:{port}"
        self.problem: str | None = None
        self._proc: ManagedProcess | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def account_url(self, account: str) -> str:
        """The blob service URL of ``account`` (path style: the account is the first segment)."""
        return f"{self.endpoint}/{account}"

    def start(self, timeout: float = 60.0) -> bool:
        """Start Azurite and wait until it listens; ``False`` (and :attr:`problem` set) when it
        is not installed."""
        program = find_azurite()
        if program is None:
            self.problem = MISSING
            return False
        argv = [
            str(program), "--blobHost", LOOPBACK, "--blobPort", str(self.port),
            "--inMemoryPersistence", "--disableTelemetry", "--disableProductStyleUrl",
            "--skipApiVersionCheck", "--silent",
        ]  # fmt: skip
        env = {"AZURITE_ACCOUNTS": ";".join(f"{a}:{k}" for a, k in self.accounts.items())}
        self._proc = start_process(
            "azurite", argv, log_dir=self.log_dir, env=env, ready_port=self.port, timeout=timeout
        )
        return True

    def upload(self, containers: Mapping[str, Path], workers: int = 16) -> int:
        """Create each ``"<account>/<container>"`` and upload every file below its folder (blob
        names relative to it). Returns how many blobs were written."""
        from azure.storage.blob import BlobServiceClient

        jobs = []
        for name, root in containers.items():
            account, _, container = name.partition("/")
            credential = {"account_name": account, "account_key": self.accounts[account]}
            service = BlobServiceClient(self.account_url(account), credential, retry_total=2)
            client = service.get_container_client(container)
            client.create_container()
            files = sorted(p for p in Path(root).rglob("*") if p.is_file())
            jobs += [(client, path.relative_to(root).as_posix(), path) for path in files]

        def put(job: tuple) -> None:
            client, blob, path = job
            client.upload_blob(blob, path.read_bytes(), overwrite=True)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            for _ in pool.map(put, jobs):
                pass
        return len(jobs)

    def stop(self) -> None:
        """Stop Azurite (its data lives in its memory and goes with it); idempotent."""
        if self._proc is not None:
            self._proc.stop()
            self._proc = None
