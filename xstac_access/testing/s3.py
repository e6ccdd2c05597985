"""The local world's S3-compatible object store: a moto server on 127.0.0.1.

It stands for the EOPF Sample Service's object store (Ceph RGW, ``tenant:bucket`` names,
anonymous) and for AWS S3 (Earth Search's requester-pays buckets in ``eu-central-1``, NASA DAAC
buckets readable with temporary keys) and CDSE's ``eodata`` (the user's own keys). Every bucket
is created ``public-read`` before anything is uploaded, because moto only answers anonymous HEAD
requests on such buckets (a bucket policy alone fixes GET but not HEAD); moto itself accepts any
key. Buckets with a :class:`~xstac_access.testing.s3_rules.BucketRule` are answered as the real
service does by the :class:`~xstac_access.testing.s3_rules.AwsRules` middleware in front of moto
(wrong region, requester pays, unknown keys). ``python -m xstac_access.testing.s3`` is the
server process itself: moto's WSGI app behind that middleware, with buckets preloaded into its
backend (each in its rule's region) before it listens.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from xstac_access.testing._procs import (
    LOOPBACK,
    ManagedProcess,
    free_port,
    start_process,
)
from xstac_access.testing.s3_rules import ADMIN_LOG, BucketRule

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

    def start(
        self,
        preload: Mapping[str, Path] | None = None,
        timeout: float = 60.0,
        *,
        rules: Iterable[BucketRule] = (),
        env: Mapping[str, str] | None = None,
    ) -> str:
        """Start moto on ``self.port`` and return its endpoint URL once it accepts connections.

        ``preload`` maps bucket names to directories put into the store before the server
        listens: written straight into moto's in-process backend, which is ~20x faster than
        one HTTP PUT per file (moto serves ~450 small PUTs/s; Zarr stores have thousands).
        ``rules`` make buckets answer as their real service does; ``env`` is added to the
        server's environment (the shared test clock, which temporary keys expire on).
        """
        argv = [sys.executable, "-m", "xstac_access.testing.s3", "--port", str(self.port)]
        for bucket, root in (preload or {}).items():
            argv += ["--preload", f"{bucket}={root}"]
        rules = list(rules)
        if rules:
            path = self.log_dir / f"s3-rules-{self.port}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps([rule.to_json() for rule in rules], indent=1))
            argv += ["--rules", str(path)]
        self._proc = start_process(
            "moto-s3", argv, log_dir=self.log_dir, env=dict(env or {}), ready_port=self.port,
            timeout=timeout,
        )  # fmt: skip
        return self.endpoint_url

    def rules_log(self, *, clear: bool = False) -> list[dict[str, Any]]:
        """What the store answered to the requests for buckets with rules (oldest first):
        ``method``, ``bucket``, ``key``, ``status``, AWS error ``code``, signing ``region``,
        ``signed``, ``requester_pays``. ``clear`` empties the log after reading it."""
        import requests

        url = f"{self.endpoint_url}{ADMIN_LOG}"
        entries = requests.get(url, timeout=10).json()
        if clear:
            requests.delete(url, timeout=10).raise_for_status()
        return entries

    def stop(self) -> None:
        """Stop the moto server; calling it again, or before ``start``, does nothing."""
        if self._proc is not None:
            self._proc.stop()
            self._proc = None

    def client(self) -> Any:
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


def _preload(specs: list[str], regions: Mapping[str, str]) -> None:
    """Create public-read buckets (in ``regions[bucket]``, else the default region) and their
    objects in this process's moto backend."""
    # moto itself is imported only here, in the server process: clients need boto3 alone.
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import get_canned_acl, s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for spec in specs:
        bucket, _, root = spec.partition("=")
        backend.create_bucket(bucket, regions.get(bucket, REGION))
        public = get_canned_acl("public-read")
        backend.put_bucket_acl(bucket, public)
        for path in _files(Path(root)):
            key = backend.put_object(bucket, path.relative_to(root).as_posix(), path.read_bytes())
            key.set_acl(public)  # a backend put defaults to "private", unlike an HTTP PUT


def main(argv: list[str] | None = None) -> None:
    """Run moto's S3 app on 127.0.0.1 behind the bucket rules (``--rules FILE.json``), after
    preloading buckets (``--preload NAME=DIR``)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--preload", action="append", default=[], metavar="BUCKET=DIR")
    parser.add_argument("--rules", help="JSON list of bucket rules")
    args = parser.parse_args(argv)
    rules = [BucketRule.from_json(r) for r in json.loads(Path(args.rules).read_text())] if (
        args.rules
    ) else []  # fmt: skip
    _preload(args.preload, {rule.bucket: rule.region for rule in rules if rule.region})
    _serve(args.port, rules)


def _serve(port: int, rules: list[BucketRule]) -> None:
    """What ``moto_server`` does, with the rules' middleware around moto's WSGI app."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import run_simple

    from xstac_access.testing.s3_rules import AwsRules

    app = AwsRules(DomainDispatcherApplication(create_backend_app), rules)
    run_simple(LOOPBACK, port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
