"""Format dispatch: media type, then extension, then roles, then magic bytes."""

from __future__ import annotations

import pytest

from xstac_access import errors
from xstac_access._resolve import Target
from xstac_access.readers import READERS, detect_format, format_of_bytes, reader_for


@pytest.mark.parametrize(
    ("media_type", "fmt"),
    [
        ("image/tiff; application=geotiff; profile=cloud-optimized", "geotiff"),
        ("image/tiff; application=geotiff", "geotiff"),
        ("image/jp2", "geotiff"),
        ("application/vnd+zarr", "zarr"),
        ("application/vnd.zarr; version=3; profile=multiscales", "zarr"),
        ("application/vnd.google-earth.kml+xml", "kml"),
        ("IMAGE/PNG", "image"),
        ("application/x-netcdf", "netcdf"),
        ("application/zip", "zip"),
    ],
)
def test_media_type_decides_first(media_type, fmt):
    target = Target(href="https://h.test/file.bin", media_type=media_type)
    assert detect_format(target).format == fmt


def test_extension_then_roles_when_media_type_is_missing_or_generic():
    assert detect_format(Target(href="https://h.test/a/B04.TIF")).format == "geotiff"
    generic = Target(href="https://h.test/x.kml", media_type="application/octet-stream")
    assert detect_format(generic).format == "kml"
    thumb = Target(href="https://h.test/preview", roles=("thumbnail",))
    assert detect_format(thumb).format == "image"


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (b"II*\x00\x08\x00", "geotiff"),
        (b"MM\x00*\x00\x00", "geotiff"),
        (b"II+\x00\x08\x00", "geotiff"),
        (b"\x89PNG\r\n\x1a\n", "image"),
        (b"\xff\xd8\xff\xe0", "image"),
        (b"PK\x03\x04", "zip"),
        (b"\x89HDF\r\n", "netcdf"),
        (b"CDF\x01", "netcdf"),
        (b'<?xml version="1.0"?><kml>', "kml"),
        (b"  <kml><Document/>", "kml"),
        (b'<?xml version="1.0"?><root/>', "xml"),
        (b'{"type": "Feature"}', "json"),
        (b"\x00\x01garbage", None),
    ],
)
def test_magic_bytes(head, fmt):
    assert format_of_bytes(head) == fmt


def test_sniffing_reads_the_first_bytes_of_an_unlabelled_file(tmp_path, gcp_geotiff):
    tif = tmp_path / "noext"
    tif.write_bytes(gcp_geotiff.read_bytes())
    guess = detect_format(Target(href=str(tif)))
    assert guess.format == "geotiff" and "first bytes" in guess.reason


def test_html_where_data_was_expected_is_an_auth_error(tmp_path):
    page = tmp_path / "download"
    page.write_text("<!DOCTYPE html><html><body>Please log in</body></html>")
    with pytest.raises(errors.AuthError, match="HTML page"):
        detect_format(Target(href=str(page)))


def test_unknown_bytes_name_the_readers(tmp_path):
    blob = tmp_path / "blob"
    blob.write_bytes(b"\x00\x01\x02\x03" * 10)
    with pytest.raises(errors.UnsupportedFormatError, match="reader=<one of geotiff"):
        detect_format(Target(href=str(blob)))


def test_recognised_format_without_reader_says_what_it_is():
    target = Target(
        href="https://h.test/x.xml", key="granule_metadata", media_type="application/xml"
    )
    with pytest.raises(errors.UnsupportedFormatError) as info:
        reader_for(target)
    message = str(info.value)
    assert "asset 'granule_metadata'" in message
    assert "XML document" in message and "media type 'application/xml'" in message
    assert "asset=<key>" in message


def test_forced_reader_must_exist():
    with pytest.raises(errors.UnsupportedFormatError, match="unknown reader='bogus'"):
        reader_for(Target(href="https://h.test/x.tif"), reader="bogus")


def test_a_reader_returning_none_is_caught(monkeypatch, gcp_geotiff):
    import sys
    import types

    import xarray as xr

    broken = types.ModuleType("broken_reader")
    broken.open_dataset = lambda target, **options: None
    monkeypatch.setitem(sys.modules, "broken_reader", broken)
    monkeypatch.setitem(READERS, "geotiff", "broken_reader")
    with pytest.raises(errors.FormatError, match="returned NoneType"):
        xr.open_dataset(str(gcp_geotiff), engine="stacasset")
