"""The local S3 store (moto) serves public buckets the way the EOPF object store does.

Readers use no credentials: plain HTTP GET and HEAD on ``{endpoint}/{bucket}/{key}``, byte
ranges answered with 206, and anonymous s3fs listing; the same for a bucket preloaded at start
and one uploaded afterwards.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest
import s3fs

from xstac_access.testing.s3 import S3Store

PAYLOAD = bytes(range(256)) * 64


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Store]:
    tree = tmp_path_factory.mktemp("tree")
    (tree / "product.zarr" / "measurements").mkdir(parents=True)
    (tree / "product.zarr" / ".zmetadata").write_text('{"zarr_consolidated_format": 1}')
    (tree / "product.zarr" / "measurements" / "0.0").write_bytes(PAYLOAD)
    s3 = S3Store(tmp_path_factory.mktemp("s3-logs"))
    try:
        s3.start(preload={"eopf-public": tree})
        s3.create_bucket("uploaded")
        assert s3.upload_tree("uploaded", tree) == 2
        yield s3
    finally:
        s3.stop()


def fetch(url: str, method: str = "GET", **headers: str) -> tuple[int, Message, bytes]:
    req = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


BUCKETS = pytest.mark.parametrize("bucket", ["eopf-public", "uploaded"])  # preloaded, uploaded


@BUCKETS
def test_anonymous_http_get_and_head(store: S3Store, bucket: str) -> None:
    url = store.url(bucket, "product.zarr/measurements/0.0")
    status, _, body = fetch(url)
    assert (status, body) == (200, PAYLOAD)
    status, headers, body = fetch(url, method="HEAD")
    assert status == 200 and body == b""
    assert int(headers["Content-Length"]) == len(PAYLOAD)


@BUCKETS
def test_range_get_returns_206(store: S3Store, bucket: str) -> None:
    url = store.url(bucket, "product.zarr/measurements/0.0")
    status, headers, body = fetch(url, Range="bytes=100-199")
    assert status == 206
    assert headers["Content-Range"] == f"bytes 100-199/{len(PAYLOAD)}"
    assert body == PAYLOAD[100:200]


def test_missing_key_is_404(store: S3Store) -> None:
    status, _, _ = fetch(store.url("eopf-public", "product.zarr/nope"))
    assert status == 404


@BUCKETS
def test_anonymous_s3fs_listing(store: S3Store, bucket: str) -> None:
    fs = s3fs.S3FileSystem(anon=True, client_kwargs={"endpoint_url": store.endpoint_url})
    assert fs.ls(f"{bucket}/product.zarr", detail=False) == [
        f"{bucket}/product.zarr/.zmetadata",
        f"{bucket}/product.zarr/measurements",
    ]
    assert fs.cat(f"{bucket}/product.zarr/.zmetadata") == b'{"zarr_consolidated_format": 1}'


def test_stop_is_idempotent_and_ends_the_server(tmp_path: Path) -> None:
    s3 = S3Store(tmp_path)
    s3.start()
    pid = s3.pid
    s3.stop()
    s3.stop()
    assert s3.pid is None
    assert not Path(f"/proc/{pid}").exists()
