"""The local world's S3-compatible object store: a moto server on 127.0.0.1.

It stands for the EOPF Sample Service's object store, which users read without credentials:
every bucket is created ``public-read`` before anything is uploaded, because moto only answers
anonymous HEAD requests on such buckets (a bucket policy alone fixes GET but not HEAD). Writes
are signed with dummy keys, which moto accepts. ``python -m xstac_access.testing.s3`` is the
server process itself: moto's server, with buckets preloaded into its backend before it listens.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from botocore.config import Config

from xstac_access.testing._procs import (
    LOOPBACK,
    ManagedProcess,
    free_port,
    start_process,
)

#: Credentials moto accepts for signed writes; readers use no credentials at all.
DUMMY_KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
REGION = "us-east-1"


class S3Store:
    """A moto S3 server started as a child process, with helpers to fill public buckets.

    ``port`` may be chosen ahead (the replica's hrefs need the endpoint before the server runs);
    by default a free one is picked.
    """

    def __init__(self, log_dir: Path, port: int | None = None) -> None:
        self.log_dir = log_dir
        self.port = port if port is not None else free_port()
        self.endpoint_url = f"http://{LOOPBACK}:{self.port}"
        self._proc: ManagedProcess | None = None
        self._client = None

    @property
    def pid(self) -> int | None:
        """PID of the moto server, or None when it is not running."""
        return self._proc.pid if self._proc is not None else None

    def start(self, preload: Mapping[str, Path] | None = None, timeout: float = 60.0) -> str:
        """Start moto on ``self.port`` and return its endpoint URL once it accepts connections.

        ``preload`` maps bucket names to directories put into the store before the server
        listens: written straight into moto's in-process backend, which is ~20x faster than
        one HTTP PUT per file (moto serves ~450 small PUTs/s; Zarr stores have thousands).
        """
        argv = [sys.executable, "-m", "xstac_access.testing.s3", "--port", str(self.port)]
        for bucket, root in (preload or {}).items():
            argv += ["--preload", f"{bucket}={root}"]
        self._proc = start_process(
            "moto-s3", argv, log_dir=self.log_dir, ready_port=self.port, timeout=timeout
        )
        return self.endpoint_url

    def stop(self) -> None:
        """Stop the moto server; calling it again, or before ``start``, does nothing."""
        if self._proc is not None:
            self._proc.stop()
            self._proc = None

    def client(self):
        """A boto3 S3 client signed with dummy keys, path-style, for writing to the store."""
        if self._client is None:
            self._client = boto3.client(
                "s3",
                endpoint_url=self.endpoint_url,
                region_name=REGION,
                config=Config(
                    s3={"addressing_style": "path"},
                    max_pool_connections=32,
                    retries={"max_attempts": 3},
                ),
                **DUMMY_KEYS,
            )
        return self._client

    def create_bucket(self, name: str) -> None:
        """Create bucket ``name`` readable by anyone (ACL ``public-read``); fine if it exists."""
        client = self.client()
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(Bucket=name, ACL="public-read")

    def upload_tree(self, bucket: str, root: Path, *, prefix: str = "", workers: int = 16) -> int:
        """Upload every file below ``root`` to a running store's ``bucket`` (keys relative to
        ``root``, after ``prefix``), in parallel. Returns the count."""
        files = _files(root)
        client = self.client()

        def put(path: Path) -> None:
            key = prefix + path.relative_to(root).as_posix()
            client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())

        with ThreadPoolExecutor(max_workers=workers) as pool:
            for _ in pool.map(put, files):
                pass
        return len(files)

    def url(self, bucket: str, key: str = "") -> str:
        """The plain (unsigned, path-style) HTTP URL of ``key`` in ``bucket``."""
        return f"{self.endpoint_url}/{bucket}/{key}" if key else f"{self.endpoint_url}/{bucket}"


def _files(root: Path) -> list[Path]:
    return sorted(p for p in Path(root).rglob("*") if p.is_file())


def _preload(specs: list[str]) -> None:
    """Create public-read buckets and their objects in this process's moto backend."""
    # moto itself is imported only here, in the server process: clients need boto3 alone.
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import get_canned_acl, s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for spec in specs:
        bucket, _, root = spec.partition("=")
        backend.create_bucket(bucket, REGION)
        public = get_canned_acl("public-read")
        backend.put_bucket_acl(bucket, public)
        for path in _files(Path(root)):
            key = backend.put_object(bucket, path.relative_to(root).as_posix(), path.read_bytes())
            key.set_acl(public)  # a backend put defaults to "private", unlike an HTTP PUT


def main(argv: list[str] | None = None) -> None:
    """Run moto's S3 server on 127.0.0.1, after preloading buckets (``--preload NAME=DIR``)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--preload", action="append", default=[], metavar="BUCKET=DIR")
    args = parser.parse_args(argv)
    _preload(args.preload)
    from moto.server import main as moto_main

    moto_main(["-H", LOOPBACK, "-p", str(args.port)])


if __name__ == "__main__":
    main()
