"""download() against the local world: parallel, resumable, verified, with credentials.

Every claim about the wire is checked at the server (its request log and byte counters). The
replica items carry no ``file:checksum``/``file:size``: tests add them to deep copies, computed
from the served files, the way Earth Search v1 items carry them.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import replica_item

from xstac_access import credentials, download, errors
from xstac_access.credentials import S3Credentials

BANDS = ["red", "green", "blue", "nir"]


def served_path(world, href: str) -> str:
    assert href.startswith(world.endpoints.http), href
    return href[len(world.endpoints.http) :]


def source_file(world, href: str) -> Path:
    return world.replica.files_root / served_path(world, href).lstrip("/")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def with_file_info(item: dict, keys, source) -> dict:
    """Give ``keys`` the ``file:size`` and sha2-256 ``file:checksum`` of their source bytes."""
    for key in keys:
        path = source(item["assets"][key]["href"])
        item["assets"][key]["file:size"] = path.stat().st_size
        item["assets"][key]["file:checksum"] = "1220" + sha256(path)
    return item


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.part*"))


@pytest.fixture
def world(local_world, files):
    """The session world with clean counters and no faults; fresh credential providers."""
    credentials.reset()
    yield local_world
    files.set_latency(0)


@pytest.fixture
def s2(world) -> dict:
    """An Earth Search v1 item whose four 10 m bands carry file:size and file:checksum."""
    item = replica_item(world, "sentinel-2-l2a")
    return with_file_info(item, BANDS, lambda href: source_file(world, href))


@pytest.fixture
def scratch(world):
    """A served folder of our own (files we may cut, change or corrupt), removed afterwards."""
    folder = world.replica.files_root / f"_download_tests_{os.getpid()}"
    folder.mkdir()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def scratch_file(world, scratch: Path, name: str, size: int, seed: int = 1) -> tuple[str, Path]:
    """Write ``size`` pseudo-random bytes to a served file; ``(href, path)``."""
    path = scratch / name
    path.write_bytes(hashlib.shake_256(f"{seed}".encode()).digest(size))
    return f"{world.endpoints.http}/{scratch.name}/{name}", path


def test_several_assets_download_in_parallel_and_equal_their_source(world, files, s2, tmp_path):
    # the server holds each band after its first bytes: all four must be in flight at once
    files.set_faults([{"path": "/earthsearch/*", "hold_after_bytes": 100_000}])
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(download, s2, tmp_path, assets=BANDS, parallel=4, progress=False)
        try:
            files.wait_held(len(BANDS))
        finally:
            files.clear_faults()  # lets them go (and a failed wait must not hang the download)
        report = running.result(timeout=120)
    assert report.ok, report.summary()
    files.wait_idle()  # the server logs a response after its last byte: the client may be first
    assert [e.status for e in report.entries] == ["fetched"] * 4
    sizes = {key: s2["assets"][key]["file:size"] for key in BANDS}
    for entry in report.entries:
        href = s2["assets"][entry.asset]["href"]
        assert entry.path == tmp_path / s2["id"] / href.rsplit("/", 1)[1]
        assert sha256(entry.path) == sha256(source_file(world, href))
        assert entry.bytes == entry.size == sizes[entry.asset]
        assert files.bytes_for(served_path(world, href)) == sizes[entry.asset]
        assert files.requests_for(served_path(world, href)) == 1
    assert report.bytes == sum(sizes.values())
    assert leftovers(tmp_path) == []


def test_default_selection_is_the_data_files_without_archives_or_previews(world, tmp_path):
    item = replica_item(world, "BiomassLevel1a")
    creds = {"maap": world.credentials()["maap"]}
    report = download(item, tmp_path, progress=False, credentials=creds)
    assert report.ok, report.summary()
    assert sorted(e.asset for e in report.entries) == [
        "enclosure_i_abs_tiff",
        "enclosure_i_phase_tiff",
    ]  # not the product zip (an archive of the same), not thumbnail or quicklooks
    for entry in report.entries:
        assert sha256(entry.path) == sha256(source_file(world, item["assets"][entry.asset]["href"]))
    log = [e for e in world.files.stats()["log"] if e["path"].startswith("/maap/data/")]
    assert log and all(e["authorization"] and e["status"] == 200 for e in log)
    provider = credentials.broker_from(creds).provider_for(
        item["assets"]["enclosure_i_abs_tiff"]["href"]
    )
    bearer = provider._material.headers["Authorization"].reveal().split()[1]
    secrets = [creds["maap"]["offline_token"].encode(), bearer.encode()]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert not any(s in path.read_bytes() for s in secrets), path
    text = (repr(report) + str(report) + json.dumps([str(e) for e in report.entries])).encode()
    assert not any(s in text for s in secrets)


def test_a_cut_transfer_resumes_with_only_the_missing_bytes(world, files, s2, tmp_path):
    href = s2["assets"]["red"]["href"]
    path, size = served_path(world, href), s2["assets"]["red"]["file:size"]
    files.set_faults([{"path": path, "reset_after_bytes": 1_000_000, "count": 1}])
    first = download(s2, tmp_path, assets="red", retries=0, progress=False)
    (entry,) = first.entries
    assert entry.status == "failed" and isinstance(entry.exception, errors.AccessError)
    final = tmp_path / s2["id"] / "B04.tif"
    part = final.with_name("B04.tif.part")
    assert not final.exists() and part.exists()
    have = part.stat().st_size
    assert 0 < have <= 1_000_000 and entry.bytes == have
    files.reset()
    second = download(s2, tmp_path, assets="red", progress=False)
    (entry,) = second.entries
    assert entry.status == "resumed", entry.error
    log = [e for e in files.stats()["log"] if e["path"] == path]
    assert [(e["method"], e["status"], e["range"]) for e in log] == [("GET", 206, f"bytes={have}-")]
    assert files.bytes_for(path) == size - have == entry.bytes  # only the missing bytes
    assert sha256(final) == sha256(source_file(world, href))
    assert leftovers(tmp_path) == []


def test_a_short_body_is_resumed_within_the_same_call(world, files, s2, tmp_path):
    href = s2["assets"]["green"]["href"]
    path, size = served_path(world, href), s2["assets"]["green"]["file:size"]
    files.set_faults([{"path": path, "truncate_after_bytes": 700_000, "count": 1}])
    report = download(s2, tmp_path, assets=["green"], progress=False)
    (entry,) = report.entries
    assert (entry.status, entry.attempts) == ("resumed", 2), entry.error
    ranges = [e["range"] for e in files.stats()["log"] if e["path"] == path]
    assert ranges == [None, "bytes=700000-"]
    assert files.bytes_for(path) == size == entry.bytes  # nothing fetched twice
    assert sha256(entry.path) == sha256(source_file(world, href))


def test_a_part_of_a_file_that_changed_since_is_not_resumed(world, files, scratch, tmp_path):
    href, source = scratch_file(world, scratch, "changing.bin", 1_500_000, seed=1)
    files.set_faults([{"path": f"/{scratch.name}/*", "reset_after_bytes": 600_000, "count": 1}])
    assert download(href, tmp_path, retries=0, progress=False).entries[0].status == "failed"
    assert (tmp_path / "changing.bin.part").exists()
    _, changed = scratch_file(world, scratch, "changing.bin", 1_500_000, seed=2)
    later = source.stat().st_mtime_ns + 1_000_000_000
    os.utime(changed, ns=(later, later))  # same size, a second newer: a new ETag
    files.reset()
    (entry,) = download(href, tmp_path, progress=False).entries
    assert entry.status == "fetched", entry.error
    assert (tmp_path / "changing.bin").read_bytes() == source.read_bytes()
    assert [e["range"] for e in files.stats()["log"]][-1] is None  # started over from byte 0


@pytest.mark.parametrize("wrong", ["file:checksum", "file:size"])
def test_bytes_that_fail_the_catalogue_check_are_not_kept(world, s2, tmp_path, wrong):
    asset = s2["assets"]["blue"]
    if wrong == "file:checksum":
        asset[wrong] = asset[wrong][:-4] + ("0000" if not asset[wrong].endswith("0000") else "1111")
    else:
        asset[wrong] += 1
    report = download(s2, tmp_path, assets=["blue", "red"], progress=False)
    by_key = {e.asset: e for e in report.entries}
    assert by_key["red"].status == "fetched"  # one failure does not stop the others
    failed = by_key["blue"]
    assert failed.status == "failed" and isinstance(failed.exception, errors.ChecksumError)
    assert wrong in failed.error
    assert not failed.path.exists() and leftovers(tmp_path) == []
    with pytest.raises(errors.DownloadError) as info:
        download(s2, tmp_path, assets=["blue"], progress=False, raise_on_error=True)
    assert info.value.report.failed[0].asset == "blue"


def test_a_login_page_instead_of_data_is_refused_and_not_saved(world, files, s2, tmp_path):
    path = served_path(world, s2["assets"]["nir"]["href"])
    files.set_faults([{"path": path, "html": True}])
    (entry,) = download(s2, tmp_path, assets="nir", progress=False).entries
    assert entry.status == "failed" and isinstance(entry.exception, errors.AuthError)
    assert "HTML page" in entry.error
    assert world.endpoints.http.split("://")[1] in entry.error  # names the host
    assert not entry.path.exists() and leftovers(tmp_path) == []


def test_complete_files_are_skipped_without_a_request(world, files, s2, tmp_path):
    assert download(s2, tmp_path, assets=BANDS, progress=False).ok
    files.reset()
    report = download(s2, tmp_path, assets=BANDS, progress=False)
    assert [e.status for e in report.entries] == ["skipped"] * 4
    assert report.bytes == 0 and files.stats()["log"] == []
    # without file:size the remote size is asked for, with one 1-byte request per file
    for key in BANDS:
        del s2["assets"][key]["file:size"]
    report = download(s2, tmp_path, assets=BANDS, progress=False)
    assert [e.status for e in report.entries] == ["skipped"] * 4
    assert sorted(e["range"] for e in files.stats()["log"]) == ["bytes=0-0"] * 4


def test_a_different_file_under_the_final_name_needs_overwrite(world, files, s2, tmp_path):
    (entry,) = download(s2, tmp_path, assets="red", progress=False).entries
    data = bytearray(entry.path.read_bytes())
    data[1000] ^= 0xFF  # same size, other bytes
    entry.path.write_bytes(bytes(data))
    files.reset()
    (kept,) = download(s2, tmp_path, assets="red", progress=False).entries
    assert kept.status == "failed" and "overwrite=True" in kept.error
    assert files.stats()["log"] == [] and entry.path.read_bytes() == bytes(data)
    (fresh,) = download(s2, tmp_path, assets="red", overwrite=True, progress=False).entries
    assert fresh.status == "fetched"
    assert sha256(entry.path) == sha256(source_file(world, s2["assets"]["red"]["href"]))


def test_a_transient_503_is_retried(world, files, s2, tmp_path):
    path = served_path(world, s2["assets"]["red"]["href"])
    files.set_faults([{"path": path, "status": 503, "count": 1}])
    (entry,) = download(s2, tmp_path, assets="red", progress=False).entries
    assert (entry.status, entry.attempts) == ("fetched", 2)
    assert [e["status"] for e in files.stats()["log"]] == [503, 200]


def test_unknown_checksum_function_warns_and_checks_the_size(world, s2, tmp_path):
    s2["assets"]["red"]["file:checksum"] = "1e20" + "00" * 32  # blake3: not in hashlib
    with pytest.warns(UserWarning, match="blake3"):
        (entry,) = download(s2, tmp_path, assets="red", progress=False).entries
    assert entry.status == "fetched"


def test_missing_keys_and_same_named_files_are_reported_and_kept_apart(world, tmp_path):
    first, second = (
        replica_item(world, "sentinel-2-l2a", 0),
        replica_item(world, "sentinel-2-l2a", 1),
    )
    hrefs = [first["assets"]["red"]["href"], second["assets"]["red"]["href"]]  # both B04.tif
    report = download(hrefs, tmp_path, progress=False)
    assert report.ok and len({e.path for e in report.entries}) == 2
    assert all(
        e.path.parent == tmp_path and e.path.name.endswith("-B04.tif") for e in report.entries
    )
    for entry, href in zip(report.entries, hrefs, strict=True):
        assert sha256(entry.path) == sha256(source_file(world, href))
    (missing,) = download(first, tmp_path, assets=["no-such-band"], progress=False).entries
    assert missing.status == "failed" and "red" in missing.error and "no-such-band" in missing.error


def test_progress_bars_only_on_a_terminal(world, s2, tmp_path, capsys, monkeypatch):
    download(s2, tmp_path / "a", assets=BANDS, progress=True)
    assert capsys.readouterr().err == ""  # stderr is not a TTY under pytest

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    download(s2, tmp_path / "b", assets=BANDS, progress=True)
    shown = terminal.getvalue()
    assert "download" in shown and "B04.tif" in shown and "100%" in shown
    terminal.truncate(0)
    download(s2, tmp_path / "c", assets=BANDS, progress=False)
    assert terminal.getvalue() == ""


def test_s3_asset_download(world, tmp_path):
    item = replica_item(world, "sentinel-1-grd")
    href = item["assets"]["hh"]["href"]
    source = world.replica.s3_buckets["sentinel-s1-l1c"] / href.split("/", 3)[3]
    item = with_file_info(item, ["hh"], lambda _: source)
    keys = {"key": "AKIDEXAMPLE", "secret": "any"}  # the store takes any keys; it wants payers
    s3 = S3Credentials(**keys, endpoint_url=world.endpoints.s3, requester_pays=True)
    creds = {"rules": [("s3://sentinel-s1-l1c/*", s3)]}
    (entry,) = download(item, tmp_path, progress=False, credentials=creds).entries
    assert entry.status == "fetched", entry.error
    assert entry.path == tmp_path / item["id"] / "iw-hh.tiff"
    assert sha256(entry.path) == sha256(source) and entry.bytes == source.stat().st_size


def test_zarr_stores_are_reported_not_fetched(world, files, tmp_path):
    item = replica_item(world, "sentinel-1-l2-ocn")
    report = download(item, tmp_path, progress=False)  # its data assets are all Zarr stores
    assert sorted(e.asset for e in report.entries) == ["owi_measurements", "product"]
    assert all(e.status == "failed" and "Zarr store" in e.error for e in report.entries)
    assert files.stats()["log"] == [] and not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("prefix", "function"), [("1114", "sha1"), ("1220", "sha256"), ("1340", "sha512")]
)
def test_sha1_sha256_and_sha512_checksums_are_verified(world, s2, tmp_path, prefix, function):
    asset = s2["assets"]["red"]
    digest = hashlib.new(function, source_file(world, asset["href"]).read_bytes()).hexdigest()
    asset["file:checksum"] = prefix + digest
    assert download(s2, tmp_path / "good", assets="red", progress=False).ok
    asset["file:checksum"] = prefix + digest[::-1]
    (entry,) = download(s2, tmp_path / "bad", assets="red", progress=False).entries
    assert isinstance(entry.exception, errors.ChecksumError), entry.error
