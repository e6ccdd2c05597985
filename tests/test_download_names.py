"""Download file names: the server's Content-Disposition for hrefs that name no file (CDSE's
OData ``$value``), ``<item id>.zip`` for archives, and a name known only after the first
response that still resumes, locks and skips like any other.

The replica's CDSE download host sends ``Content-Disposition: attachment;
filename="<NAME>.SAFE.zip"`` behind the OData redirect, for the legacy item (id ``<NAME>.SAFE``,
asset ``PRODUCT``) and the v1 item (id ``<NAME>``, asset ``Product``) alike.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import pytest
from conftest import replica_item

from xstac_access import credentials, download, errors
from xstac_access._download.filenames import disposition_name
from xstac_access.testing.replica import cdse, cdse_v1

ZIP = f"{cdse.NAME}.SAFE.zip"


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def world(local_world, files):
    credentials.reset()
    return local_world


@pytest.fixture
def creds(world) -> dict:
    return {"cdse": world.credentials()["cdse"]}


@pytest.fixture
def served_zip(world):
    return world.replica.files_root / "cdse" / "download" / ZIP


def download_log(files) -> list[tuple[str, int, str | None]]:
    """``(host, status, Range)`` of every request, each of which carried the bearer."""
    files.wait_idle()  # a response is logged once sent: the client may be done first
    log = files.stats()["log"]
    assert all(e["authorization"] for e in log)  # the bearer survived the redirect
    return [(e["host"], e["status"], e["range"]) for e in log]


def test_v1_and_legacy_products_are_saved_under_the_servers_name(
    world, files, creds, served_zip, tmp_path
):
    v1 = replica_item(world, cdse_v1.COLLECTION)
    legacy = replica_item(world, cdse.COLLECTION)
    report = download([v1, legacy], tmp_path, assets=["Product", "PRODUCT"], credentials=creds,
                      progress=False)  # fmt: skip
    fetched = {e.item: e for e in report.entries if e.status != "failed"}
    assert {e.status for e in fetched.values()} == {"fetched"}
    for item in (v1, legacy):  # v1's id has no .SAFE: only the header gives this name
        assert fetched[item["id"]].path == tmp_path / item["id"] / ZIP
        assert sha256(fetched[item["id"]].path) == sha256(served_zip)
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [ZIP, ZIP]
    assert sorted(download_log(files)) == [("alt", 200, None)] * 2 + [("main", 302, None)] * 2
    # no request more than a download named by its href costs (the two run in parallel: any order)
    files.reset()  # again: the file under the server's name is found, checked and kept
    again = download(v1, tmp_path, assets="Product", credentials=creds, progress=False)
    (entry,) = again.entries
    assert (entry.status, entry.path) == ("skipped", tmp_path / v1["id"] / ZIP)
    assert [(h, s) for h, s, _ in download_log(files)] == [("main", 302), ("alt", 200)]


def test_a_cut_transfer_keeps_its_planned_part_and_resumes_into_the_servers_name(
    world, files, creds, served_zip, tmp_path
):
    v1 = replica_item(world, cdse_v1.COLLECTION)
    path = f"/cdse/download/{ZIP}"
    files.set_faults([{"path": path, "host": "alt", "reset_after_bytes": 1_500_000, "count": 1}])
    (cut,) = download(v1, tmp_path, assets="Product", credentials=creds, retries=0,
                      progress=False).entries  # fmt: skip
    assert cut.status == "failed" and isinstance(cut.exception, errors.AccessError)
    folder = tmp_path / v1["id"]
    part = folder / f"{v1['id']}.zip.part"  # the planned name, known before any request
    assert sorted(p.name for p in folder.iterdir()) == [part.name, part.name + ".json"]
    assert json.loads((folder / (part.name + ".json")).read_text())["name"] == ZIP
    have = part.stat().st_size
    files.reset()
    (entry,) = download(v1, tmp_path, assets="Product", credentials=creds,
                        progress=False).entries  # fmt: skip
    assert (entry.status, entry.path) == ("resumed", folder / ZIP), entry.error
    assert download_log(files) == [("main", 302, f"bytes={have}-"), ("alt", 206, f"bytes={have}-")]
    assert files.bytes_for(path, host="alt") == served_zip.stat().st_size - have
    assert sha256(entry.path) == sha256(served_zip)
    assert sorted(p.name for p in folder.iterdir()) == [ZIP]


@pytest.fixture
def nameless(world):
    """A zip served at an href that names no file (``.../Products(x)/$value``), without a
    Content-Disposition: ``(href, local path)``."""
    folder = world.replica.files_root / f"_names_{os.getpid()}" / "Products(x)"
    folder.mkdir(parents=True)
    shutil.copyfile(world.replica.files_root / "cdse" / "download" / ZIP, folder / "$value")
    yield f"{world.endpoints.http}/{folder.parent.name}/Products(x)/$value", folder / "$value"
    shutil.rmtree(folder.parent)


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"type": "application/zip", "roles": ["data"]}, "{id}.zip"),
        ({"type": "application/octet-stream", "roles": ["data", "archive"]}, "{id}.zip"),
        ({"type": "application/octet-stream", "roles": ["data"]}, "Product.bin"),  # as before
    ],
)
def test_without_a_header_an_archive_is_named_after_its_item(
    world, files, nameless, tmp_path, fields, name
):
    href, local = nameless
    item = replica_item(world, cdse_v1.COLLECTION)
    item["assets"]["Product"] = {"href": href, **fields}
    (entry,) = download(item, tmp_path, assets="Product", progress=False).entries
    assert entry.status == "fetched", entry.error
    assert entry.path == tmp_path / item["id"] / name.format(id=item["id"])
    assert sha256(entry.path) == sha256(local)


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ('attachment; filename="S2B_MSIL2A_X.SAFE.zip"', "S2B_MSIL2A_X.SAFE.zip"),
        ("attachment; filename=plain.zip", "plain.zip"),
        ('attachment; filename="a \\"quoted\\" name.zip"', "a_quoted_name.zip"),
        # RFC 6266: filename* (RFC 8187) wins over filename, wherever it stands
        (
            "attachment; filename=\"fallback.zip\"; filename*=UTF-8''r%C3%A9sum%C3%A9.zip",
            "r_sum_.zip",
        ),
        ("attachment; filename*=UTF-8''caf%C3%A9.zip; filename=\"cafe.zip\"", "caf_.zip"),
        ("attachment; filename*=utf-8'en'data%20set.zip", "data_set.zip"),
        # never a path: the last component only, never hidden, never . or ..
        ('attachment; filename="../../etc/passwd"', "passwd"),
        ('attachment; filename="C:\\\\Users\\\\x\\\\evil.zip"', "evil.zip"),
        ('attachment; filename=".bashrc"', "bashrc"),
        ('attachment; filename=".."', None),
        ('attachment; filename="dir/.."', None),
        ('attachment; filename="  "', None),
        ("attachment; filename*=UTF-8''%2E%2E", None),
        ("attachment; filename*=UTF-8''%FF%FE.zip", None),  # not UTF-8, and no fallback
        ("attachment", None),
        ("inline; filename=report.pdf", "report.pdf"),
        (None, None),
    ],
)
def test_content_disposition_names_are_parsed_and_made_safe(header, name):
    assert disposition_name(header) == name
