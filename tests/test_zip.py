"""Zip members by byte range: the CDSE SAFE product behind its OData redirect, and damaged zips.

Bytes and requests are counted by the file server: reading a member must cost about the member,
never the archive.
"""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import xarray as xr
from rasterio.io import MemoryFile

from xstac_access import credentials, errors
from xstac_access.readers import zip as zipreader

MB = 1024 * 1024


def cdse_item(world) -> dict:
    return next(i for i in world.replica.items if i["collection"] == "cdse-sentinel-2-l2a")


def cdse_credentials(world) -> dict:
    return {"cdse": world.credentials()["cdse"]}


@pytest.fixture
def safe(world):
    """The item, its credentials, the served zip's local copy and its key in the server stats."""
    item = cdse_item(world)
    zips = list((world.replica.files_root / "cdse" / "download").glob("*.SAFE.zip"))
    assert len(zips) == 1
    key = f"alt:/cdse/download/{zips[0].name}"
    return item, cdse_credentials(world), zips[0], key


def moved(world, key: str) -> tuple[int, int]:
    """(bytes, requests) the server sent for ``key``, and never the whole archive in one GET."""
    stats = world.files.stats()
    host, _, path = key.partition(":")
    log = [e for e in stats["log"] if e["host"] == host and e["path"] == path]
    assert all(e["range"] for e in log if e["method"] == "GET"), log
    return stats["bytes"].get(key, 0), stats["requests"].get(key, 0)


def member_info(path, pattern: str) -> zipfile.ZipInfo:
    with zipfile.ZipFile(path) as zf:
        (info,) = [i for i in zf.infolist() if i.filename.endswith(pattern)]
        return info


def test_listing_shows_every_member_from_the_archive_tail(world, safe):
    item, creds, local, key = safe
    ds = xr.open_dataset(item, engine="stacasset", asset="PRODUCT", credentials=creds)
    with zipfile.ZipFile(local) as zf:
        infos = zf.infolist()
    assert list(ds["member"].values) == [i.filename for i in infos]
    assert list(ds["size"].values) == [i.file_size for i in infos]
    assert list(ds["compressed_size"].values) == [i.compress_size for i in infos]
    assert set(ds["method"].values) == {"stored", "deflated"}
    assert ds.attrs["stac_item_id"] == item["id"]
    sent, requests = moved(world, key)
    assert sent <= 70_000 and requests <= 3, (sent, requests)  # sniff, landing, tail


@pytest.mark.parametrize(
    ("member", "suffix", "expected"),
    [
        (
            "*/MTD_MSIL2A.xml",
            "/MTD_MSIL2A.xml",
            {"General_Info/Product_Info/PROCESSING_BASELINE": "05.11"},
        ),
        (
            "MTD_TL.xml",
            "/MTD_TL.xml",
            {
                "Geometric_Info/Tile_Geocoding/HORIZONTAL_CS_CODE": "EPSG:32632",
                "Geometric_Info/Tile_Geocoding/Geoposition@resolution": "10",
            },
        ),
    ],
)
def test_xml_member_metadata_costs_about_the_member(world, safe, member, suffix, expected):
    item, creds, local, key = safe
    ds = xr.open_dataset(
        item, engine="stacasset", asset="PRODUCT", member=member, credentials=creds
    )
    for name, value in expected.items():
        assert ds.attrs[name] == value
    info = member_info(local, suffix)
    with zipfile.ZipFile(local) as zf:
        assert ds["xml"].item() == zf.read(info).decode()
    assert ds.attrs["zip_member"] == info.filename
    sent, requests = moved(world, key)
    assert sent <= info.file_size + MB and requests <= 5, (sent, requests)


def test_product_metadata_names_the_product(world, safe):
    item, creds, _, _ = safe
    ds = xr.open_dataset(
        item, engine="stacasset", asset="PRODUCT", member="*/MTD_MSIL2A.xml", credentials=creds
    )
    assert ds.attrs["General_Info/Product_Info/PRODUCT_URI"] == item["id"]
    assert float(ds.attrs["Quality_Indicators_Info/Cloud_Coverage_Assessment"]) == pytest.approx(
        item["properties"]["eo:cloud_cover"]
    )


def test_tci_through_the_manifest_equals_the_extracted_member(world, safe):
    item, creds, local, key = safe
    ds = xr.open_dataset(
        item, engine="stacasset", asset="PRODUCT", member="manifest:TCI_60m", credentials=creds
    )
    info = member_info(local, "_TCI_60m.jp2")
    assert info.compress_type == zipfile.ZIP_STORED
    values = ds.to_array().values
    with zipfile.ZipFile(local) as zf, MemoryFile(zf.read(info)) as mem, mem.open() as src:
        np.testing.assert_array_equal(values, src.read())
        assert ds.rio.crs == src.crs
    assert values.shape[0] == 3 and ds.attrs["zip_member"] == info.filename
    sent, requests = moved(world, key)
    assert sent <= info.file_size + MB and requests <= 10, (sent, requests)


def test_module_api_lists_reads_and_resolves_the_manifest(world, safe):
    item, creds, local, _ = safe
    broker = credentials.broker_from(creds)
    href = item["assets"]["PRODUCT"]["href"]
    members = zipreader.list_members(href, broker)
    with zipfile.ZipFile(local) as zf:
        assert [(m.name, m.size, m.offset) for m in members] == [
            (i.filename, i.file_size, i.header_offset) for i in zf.infolist()
        ]
        assert zipreader.open_member(href, broker, "*/manifest.safe") == zf.read(members[0].name)
    assert zipreader.safe_member(href, broker).endswith(
        "IMG_DATA/R60m/T32UNC_20250605T103629_TCI_60m.jp2"
    )
    assert zipreader.safe_member(href, broker, "MTD_TL").endswith("/MTD_TL.xml")


def test_missing_and_ambiguous_members_are_typed_errors(world, safe):
    item, creds, _, _ = safe
    with pytest.raises(errors.AssetKeyError, match=r"MTD_MSIL2A\.xml") as missing:
        xr.open_dataset(
            item, engine="stacasset", asset="PRODUCT", member="MTD_MSIL2.xml", credentials=creds
        )
    assert world.endpoints.http_alt.split("://")[1] in str(missing.value)
    with pytest.raises(errors.AmbiguousAssetError, match="matches 3 members"):
        xr.open_dataset(
            item,
            engine="stacasset",
            asset="PRODUCT",
            member="*/R20m/*_B0[5-7]_20m.jp2",
            credentials=creds,
        )
    with pytest.raises(errors.AssetKeyError, match="manifest:B99"):
        xr.open_dataset(
            item, engine="stacasset", asset="PRODUCT", member="manifest:B99", credentials=creds
        )


@pytest.fixture
def broken(world):
    """A directory of damaged and special zips served by the file server."""
    root = world.replica.files_root / "_tests_zip"
    root.mkdir(exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a/doc.xml", "<root>" + "<v>1</v>" * 200 + "</root>")
        zf.writestr("a/other.txt", b"x" * 5000)
    whole = buffer.getvalue()
    (root / "truncated.zip").write_bytes(whole[: len(whole) // 2])
    (root / "not-a-zip.zip").write_bytes(b"GIF89a" + bytes(2000))
    (root / "product-bytes").write_bytes(b"GIF89a" + bytes(2000))  # member= says: a zip
    damaged = bytearray(whole)
    damaged[whole.rfind(b"PK\x01\x02")] ^= 0xFF  # the last central directory entry
    (root / "damaged.zip").write_bytes(bytes(damaged))
    crc = bytearray(whole)
    crc[whole.find(b"PK\x03\x04") + 40] ^= 0xFF  # inside the first member's deflate stream
    (root / "crc.zip").write_bytes(bytes(crc))
    yield lambda name: f"{world.endpoints.http}/_tests_zip/{name}"
    for path in root.iterdir():
        path.unlink()
    root.rmdir()


@pytest.mark.parametrize(
    ("name", "member", "message"),
    [
        ("truncated.zip", None, "truncated or corrupt zip"),
        ("not-a-zip.zip", None, r"is not a zip archive.*b'GIF8'"),
        ("product-bytes", "a/doc.xml", r"is not a zip archive.*b'GIF8'"),
        ("damaged.zip", None, "central directory is damaged"),
        ("crc.zip", "a/doc.xml", "truncated or corrupt zip"),
    ],
)
def test_damaged_archives_are_format_errors_naming_the_host(world, broken, name, member, message):
    options = {"member": member} if member else {}
    with pytest.raises(errors.FormatError, match=message) as caught:
        xr.open_dataset(broken(name), engine="stacasset", **options).load()
    assert world.endpoints.http.split("://")[1] in str(caught.value)


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_deflated_image_goes_through_vsizip_and_zip64_end_records(tmp_path, monkeypatch):
    data = np.arange(64 * 64, dtype="uint16").reshape(64, 64)
    with MemoryFile() as mem:
        with mem.open(driver="GTiff", width=64, height=64, count=1, dtype="uint16") as dst:
            dst.write(data, 1)
        tiff = mem.read()
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 1)  # force the zip64 end records
    path = tmp_path / "deflated.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("img/band.tif", tiff)
        zf.writestr("img/readme.xml", "<doc><a>b</a></doc>")
    assert b"PK\x06\x06" in path.read_bytes()
    ds = xr.open_dataset(str(path), engine="stacasset", member="*.tif")
    np.testing.assert_array_equal(ds.to_array().values[0], data)
    meta = xr.open_dataset(str(path), engine="stacasset", member="readme.xml")
    assert meta.attrs["a"] == "b"


def test_two_xml_members_and_the_tci_take_six_requests(world, safe):
    """Benchmark B7's workflow, cold: no format sniff (``member=`` says the asset is a zip, and
    its media type says no more than bytes), one redirect in all (the tail's, remembered), each
    member (the TCI too, a small stored JPEG 2000) in one ranged read of local header and data:
    6 requests, one after another, where GDAL's HEAD and growing reads and a sniff per open
    made 15."""
    from xstac_access.http import landings
    from xstac_access.readers._zipfile import forget_archives

    item, creds, local, key = safe
    forget_archives()  # located by an earlier test of the session
    href = item["assets"]["PRODUCT"]["href"]
    landings.forget(href, credentials.broker_from(creds).access(href))  # and its landing

    def member(name: str) -> xr.Dataset:
        return xr.open_dataset(
            item, engine="stacasset", asset="PRODUCT", member=name, credentials=creds
        )

    product, tile = member("*/MTD_MSIL2A.xml"), member("*/MTD_TL.xml")
    tci = member("manifest:TCI_60m").load()
    info = member_info(local, "_TCI_60m.jp2")
    with zipfile.ZipFile(local) as zf, MemoryFile(zf.read(info)) as mem, mem.open() as src:
        np.testing.assert_array_equal(tci.to_array().values, src.read())
    assert product.attrs["zip_member"].endswith("MTD_MSIL2A.xml")
    assert tile.attrs["zip_member"].endswith("MTD_TL.xml")
    log = world.files.stats()["log"]
    shown = [(e["host"], e["method"], e["status"], e["range"]) for e in log]
    assert [e["status"] for e in log] == [302] + [206] * 5, shown
    assert all(f"{e['host']}:{e['path']}" == key for e in log[1:]), shown
    sent, _ = moved(world, key)
    assert sent <= 70_000 + info.compress_size + MB, sent


def test_a_member_gdal_reads_from_memory_decodes_on_every_core_and_by_range_on_one(
    world, safe, monkeypatch
):
    """GDAL's JPEG 2000 decoder threads see none of a read's thread-local options: over HTTP
    they would go out without the bearer, so those reads keep one thread. The TCI read whole
    into memory fetches nothing more: it decodes on every core (2-3x faster), same values."""
    from xstac_access.readers import _gdal, _gdalmem

    item, creds, local, _ = safe
    seen: list[str] = []
    env = _gdal._env

    def spy(material, extra=None):
        seen.append({**_gdal.BASE_CONFIG, **(extra or {})}["GDAL_NUM_THREADS"])
        return env(material, extra)

    monkeypatch.setattr(_gdal, "_env", spy)
    info = member_info(local, "_TCI_60m.jp2")
    with zipfile.ZipFile(local) as zf, MemoryFile(zf.read(info)) as mem, mem.open() as src:
        expected = src.read()

    def tci() -> xr.Dataset:
        return xr.open_dataset(
            item, engine="stacasset", asset="PRODUCT", member="manifest:TCI_60m",
            credentials=creds,
        )  # fmt: skip

    np.testing.assert_array_equal(tci().to_array().values, expected)
    assert seen and set(seen) == {"ALL_CPUS"}, seen
    ds = tci()
    seen.clear()
    _gdalmem.forget()  # as in a process that did not open it: by range, over HTTP
    np.testing.assert_array_equal(ds.to_array().values, expected)
    assert seen and set(seen) == {"1"}, seen
    _gdal.forget_datasets()  # the open datasets and the blocks GDAL keeps for the process
    _gdal.clear_vsicurl_cache()


def test_a_small_image_member_let_go_from_memory_is_read_by_range(world, safe):
    """The TCI read whole at open is read by byte range once its bytes are let go (as in a
    process that did not open it): same values, no whole-archive read."""
    from xstac_access.readers import _gdalmem

    item, creds, local, key = safe
    ds = xr.open_dataset(
        item, engine="stacasset", asset="PRODUCT", member="manifest:TCI_60m", credentials=creds
    )
    _gdalmem.forget()
    world.files.reset()
    info = member_info(local, "_TCI_60m.jp2")
    with zipfile.ZipFile(local) as zf, MemoryFile(zf.read(info)) as mem, mem.open() as src:
        np.testing.assert_array_equal(ds.to_array().values, src.read())
    sent, requests = moved(world, key)
    assert 0 < sent <= info.compress_size + MB and requests >= 1, (sent, requests)


@pytest.mark.parametrize(
    ("path", "threads"),
    [
        ("/vsimem/abc/member.jp2", "ALL_CPUS"),
        ("/data/T32UNC_TCI_60m.JP2", "ALL_CPUS"),
        ("/vsicurl/https://host/a/b.jp2", None),  # over HTTP: threads would lose the credential
        ("/vsisubfile/10_20,/vsicurl/https://host/p.zip", None),
        ("/data/damaged.tif", None),  # GeoTIFF's threaded reads trust the strip sizes it claims
        ("/vsimem/abc/member.tif", None),
    ],
)
def test_only_jpeg2000_read_from_memory_or_disk_decodes_on_every_core(path, threads):
    from xstac_access.readers._gdal import decoder_threads

    assert decoder_threads(path).get("GDAL_NUM_THREADS") == threads
