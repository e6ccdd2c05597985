"""Every STAC item of the peer corpus (USGS, DEA, Planetary Computer, NASA CMR, Umbra, Planet,
CBERS, rio-tiler and stac-asset fixtures): each asset resolves and gets its reader from the
catalogue alone (media type, extension, role: no request, no network in tests), the asset chosen
by default is the one a user would pick or the choice is refused with the candidates, and the
one item whose asset lies beside it (a relative href) opens as the picture it is."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr
from PIL import Image

from xstac_access import errors
from xstac_access._resolve import choose_asset, resolve
from xstac_access.readers import detect_format, reader_for

from ._realdata import peer_corpus

#: Per item file (by prefix): the asset chosen by default (None: refused as ambiguous) and how
#: many assets get each format.
EXPECTED = {
    "cbers_": (None, {"image": 1, "xml": 1, "geotiff": 4}),
    "cmr_lpcloud_": (None, {"geotiff": 15, "image": 1, "xml": 1}),
    "dea_": (None, {"geotiff": 22, "image": 1, "text": 2}),
    "pc_3dep-lidar-copc_": ("data", {"pointcloud": 1, "image": 1}),
    "pc_era5-pds_": (None, {"zarr": 4}),
    "pc_esa-worldcover_": ("map", {"geotiff": 2, "json": 1, "image": 1}),
    "pc_goes-cmi_": (None, {"geotiff": 43, "netcdf": 17, "json": 1, "image": 1}),
    "pc_modis-09A1-061_": (None, {"netcdf": 1, "xml": 1, "geotiff": 13, "json": 1, "image": 1}),
    "pc_naip_": ("image", {"geotiff": 1, "image": 2, "json": 1}),
    "pc_nasa-nex-gddp-cmip6_": (None, {"netcdf": 9}),
    "pc_sentinel-1-grd_": (None, {"geotiff": 2, "image": 2, "xml": 7, "json": 1}),
    "pc_sentinel-1-rtc_": (None, {"geotiff": 2, "json": 1, "image": 1}),
    "pc_sentinel-2-l2a_": (None, {"geotiff": 17, "xml": 5, "json": 1, "image": 1}),
    "planet_": ("analytic", {"image": 1, "geotiff": 3, "xml": 1}),
    "riotiler_stac_alternate": (None, {"geotiff": 4, "image": 1}),
    "riotiler_stac_netcdf": (None, {"geotiff": 1, "netcdf": 1}),
    "stac-asset_item": ("data", {"image": 1}),
    "umbra_": ("thumbnail", {"image": 1}),
    "usgs_landsat-c2l2-sr_LC08": (
        None, {"image": 2, "html": 1, "geotiff": 10, "text": 2, "xml": 1, "json": 1}),
    "usgs_landsat-c2l2-sr_LC09": (
        None, {"image": 2, "html": 1, "geotiff": 10, "text": 2, "xml": 1, "json": 1}),
}  # fmt: skip
ITEMS = sorted(p.name for p in (peer_corpus() / "items").glob("*.json"))


def _expected(name: str) -> tuple:
    (prefix,) = [p for p in EXPECTED if name.startswith(p)]
    return EXPECTED[prefix]


def test_every_item_has_its_expectation():
    assert len(ITEMS) == len(EXPECTED) == 20
    for name in ITEMS:
        _expected(name)


@pytest.mark.parametrize("name", ITEMS, ids=lambda n: n[:40])
def test_each_asset_resolves_and_gets_its_reader_from_the_catalogue_alone(name):
    item = json.loads((peer_corpus() / "items" / name).read_text())
    default, formats = _expected(name)
    found: dict[str, int] = {}
    for key, asset in item["assets"].items():
        target = resolve(item, key)
        assert (target.key, target.media_type) == (key, asset.get("type"))
        guess = detect_format(target)  # would sniff (a request) if the catalogue said nothing
        assert not guess.reason.startswith("first bytes"), (key, guess)
        found[guess.format] = found.get(guess.format, 0) + 1
    assert found == formats
    if default is None:
        with pytest.raises(errors.AmbiguousAssetError, match="Pass asset=<key>"):
            choose_asset(item)
    else:
        assert choose_asset(item) == default


def test_remote_assets_choose_the_reader_of_their_format_offline():
    def module(prefix: str, key: str) -> str:
        (path,) = (peer_corpus() / "items").glob(f"{prefix}*.json")
        return reader_for(resolve(json.loads(path.read_text()), key))[0].__name__

    assert module("pc_sentinel-2-l2a_", "B04").endswith(".geotiff")
    assert module("pc_goes-cmi_", "CMIP_C01-nc").endswith(".netcdf")
    assert module("pc_nasa-nex-gddp-cmip6_", "tas").endswith(".netcdf")
    assert module("pc_era5-pds_", "air_temperature_at_2_metres_1hour_Maximum").endswith(".zarr")
    assert module("cmr_lpcloud_", "B04").endswith(".geotiff")
    assert module("usgs_landsat-c2l2-sr_LC08", "red").endswith(".geotiff")
    with pytest.raises(errors.UnsupportedFormatError, match="LAS/LAZ"):
        module("pc_3dep-lidar-copc_", "data")


def test_the_item_with_its_picture_beside_it_opens_it_by_its_relative_href():
    path = peer_corpus() / "items" / "stac-asset_item.json"
    ds = xr.open_dataset(str(path), engine="stacasset")
    with Image.open(peer_corpus() / "items" / "20201211_223832_CS2.jpg") as picture:
        expected = np.moveaxis(np.asarray(picture), -1, 0)  # (band, y, x), as decoded by Pillow
    (name,) = ds.data_vars
    np.testing.assert_array_equal(ds[name].values, expected)
    assert ds.attrs["stac_asset"] == "data"
