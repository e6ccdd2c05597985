"""The local S3 store (moto) serves public buckets the way the EOPF object store does, and
buckets with rules the way AWS and CDSE do.

Public buckets: plain HTTP GET and HEAD on ``{endpoint}/{bucket}/{key}``, byte ranges answered
with 206, and anonymous s3fs listing; the same for a bucket preloaded at start and one uploaded
afterwards; Ceph tenant bucket names path-style. Buckets with rules: AWS's answers to a wrong
region, requester pays, SigV4 signatures checked (presigned URLs too, expiring on the shared
clock), temporary keys with their session token until they expire.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import boto3
import botocore.exceptions
import pytest
import s3fs
from botocore.config import Config

from xstac_access.testing import clock, s3credentials
from xstac_access.testing.s3 import S3Store
from xstac_access.testing.s3_rules import BucketRule

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


# -- buckets answered as their real services do ------------------------------------------------

TENANT_BUCKET = "e05ab01a9d56408d82ac32d69a5aae2a:202504-s02msil2a-eu"
EU_KEYS = {"aws_access_key_id": "AKIDUSER", "aws_secret_access_key": "any"}  # moto takes any
CDSE = {"aws_access_key_id": "cdse-key", "aws_secret_access_key": "cdse-secret"}
SECRET = bytes(range(32))  # of the temporary keys' issuer


@pytest.fixture(scope="module")
def ruled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[S3Store, Path]]:
    """A store with a tenant bucket, a requester-pays bucket in eu-central-1, a bucket for its
    own static keys and one for temporary keys, on a clock of its own."""
    tree = tmp_path_factory.mktemp("ruled-tree")
    (tree / "x.bin").write_bytes(PAYLOAD)
    clock_file = clock.create(tmp_path_factory.mktemp("clock") / "clock")
    rules = [
        BucketRule("pays-eu", region="eu-central-1", requester_pays=True),
        BucketRule("eodata", keys={CDSE["aws_access_key_id"]: CDSE["aws_secret_access_key"]}),
        BucketRule("daac", region="us-west-2", temporary_secret=SECRET.hex()),
    ]
    s3 = S3Store(tmp_path_factory.mktemp("ruled-logs"))
    buckets = {name: tree for name in (TENANT_BUCKET, "pays-eu", "eodata", "daac")}
    try:
        s3.start(preload=buckets, rules=rules, env={clock.ENV: str(clock_file)})
        yield s3, clock_file
    finally:
        s3.stop()


def client(store: S3Store, region: str, **keys: str):
    return boto3.client(
        "s3", endpoint_url=store.endpoint_url, region_name=region,
        config=Config(
            s3={"addressing_style": "path"}, signature_version="s3v4",
            retries={"max_attempts": 1},
        ),
        **keys,
    )  # fmt: skip


def test_a_tenant_bucket_is_served_path_style_with_the_colon_encoded_or_not(ruled) -> None:
    store, _ = ruled
    for bucket in (TENANT_BUCKET, TENANT_BUCKET.replace(":", "%3A")):  # botocore sends %3A
        status, _, body = fetch(store.url(bucket, "x.bin"))
        assert (status, body) == (200, PAYLOAD)


def test_wrong_region_answers_are_awss(ruled) -> None:
    store, _ = ruled
    url = store.url("pays-eu", "x.bin")
    status, headers, body = fetch(url, method="HEAD")  # anonymous: refused, no body on HEAD
    assert (status, body) == (403, b"")
    for region, (code, expected) in {
        "us-west-2": (301, b"<Code>PermanentRedirect</Code>"),
        "us-east-1": (400, b"<Code>AuthorizationHeaderMalformed</Code>"),
    }.items():
        request = client(store, region, **EU_KEYS).generate_presigned_url(
            "get_object", Params={"Bucket": "pays-eu", "Key": "x.bin", "RequestPayer": "requester"}
        )
        status, headers, body = fetch(request)
        assert (status, headers["x-amz-bucket-region"]) == (code, "eu-central-1")
        assert expected in body
    assert (
        b"<Endpoint>pays-eu.s3.eu-central-1.amazonaws.com</Endpoint>"
        in fetch(
            client(store, "us-west-2", **EU_KEYS).generate_presigned_url(
                "get_object", Params={"Bucket": "pays-eu", "Key": "x.bin"}
            )
        )[2]
    )
    eu = client(store, "eu-central-1", **EU_KEYS)
    with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
        eu.get_object(Bucket="pays-eu", Key="x.bin")  # not saying it pays
    assert (
        eu.get_object(Bucket="pays-eu", Key="x.bin", RequestPayer="requester")["Body"].read()
        == PAYLOAD
    )


def test_presigned_urls_are_verified_and_expire_on_the_shared_clock(ruled) -> None:
    store, clock_file = ruled
    cdse = client(store, "default", **CDSE)
    url = cdse.generate_presigned_url(
        "get_object", Params={"Bucket": "eodata", "Key": "x.bin"}, ExpiresIn=600
    )
    assert fetch(url)[0] == 200
    assert fetch(url.replace("X-Amz-Signature=", "X-Amz-Signature=0"))[0] == 403
    clock.advance(clock_file, 601)
    status, _, body = fetch(url)
    assert status == 403 and b"Request has expired" in body


def test_temporary_keys_need_their_session_token_and_expire(ruled) -> None:
    store, clock_file = ruled
    issued = s3credentials.issue(SECRET, _clock_now(clock_file), lifetime=60)
    keys = {"aws_access_key_id": issued.access_key_id,
            "aws_secret_access_key": issued.secret_access_key}  # fmt: skip
    with pytest.raises(botocore.exceptions.ClientError, match="InvalidToken"):
        client(store, "us-west-2", **keys).get_object(Bucket="daac", Key="x.bin")
    daac = client(store, "us-west-2", **keys, aws_session_token=issued.session_token)
    assert daac.get_object(Bucket="daac", Key="x.bin")["Body"].read() == PAYLOAD
    clock.advance(clock_file, 61)
    with pytest.raises(botocore.exceptions.ClientError, match="ExpiredToken"):
        daac.get_object(Bucket="daac", Key="x.bin")
    log = store.rules_log()
    assert all("AKID" not in str(e) and issued.access_key_id not in str(e) for e in log)


def _clock_now(clock_file: Path) -> float:
    import time

    return time.time() + clock.read(clock_file)
