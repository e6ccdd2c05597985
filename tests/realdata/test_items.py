"""Real catalogues' STAC items (Earth Search v0/v1, EOPF Sample Service and Explorer, Planetary
Computer), read in place: every asset resolves, and the right one is chosen with its hints."""

from __future__ import annotations

import pystac
import pytest

from xstac_access import errors
from xstac_access._plugin import StacAssetBackendEntrypoint
from xstac_access._resolve import choose_asset, resolve

from ._realdata import REAL_DATA, real_item

S2_V1 = "earthsearch_v1_sentinel-2-l2a"
EOPF_S2 = "eopf_sample_service_sentinel-2-l2a_S2A_MSIL2A_20251113"
EOPF_S2_OLD = "eopf_sample_service_sentinel-2-l2a_S2A_MSIL2A_20250513"
ITEMS = sorted(p.stem for p in (REAL_DATA / "items").glob("*.json"))


def test_the_real_items_are_there():
    assert len(ITEMS) == 12


@pytest.mark.parametrize("name", ITEMS, ids=lambda n: n[:48])
def test_every_asset_of_every_real_item_resolves_with_its_href_and_type(name):
    item = real_item(name)
    assert StacAssetBackendEntrypoint().guess_can_open(item)
    for key, asset in item["assets"].items():
        target = resolve(item, key)
        assert target.key == key and target.item["id"] == item["id"]
        assert target.media_type == asset.get("type")
        assert target.roles == tuple(asset.get("roles") or ())
        if "://" in asset["href"]:  # absolute: kept as it is
            assert target.href == asset["href"]


def test_item_dict_named_asset_carries_its_metadata():
    item = real_item(S2_V1)
    target = resolve(item, "red")
    assert target.key == "red"
    assert target.href == item["assets"]["red"]["href"]
    assert target.media_type == "image/tiff; application=geotiff; profile=cloud-optimized"
    assert target.roles == ("data", "reflectance")
    assert target.item["id"] == "S2A_13TDE_20231008_0_L2A"
    assert target.extension == ".tif"


def test_pystac_item_and_owned_asset_resolve_to_the_same_target():
    item = pystac.Item.from_dict(real_item(S2_V1))
    from_item = resolve(item, "nir")
    from_asset = resolve(item.assets["nir"])
    assert from_asset.key == "nir"
    assert from_asset.href == from_item.href
    assert from_asset.item["id"] == from_item.item["id"]
    assert StacAssetBackendEntrypoint().guess_can_open(item.assets["red"])


def test_unknown_asset_key_lists_the_keys_the_item_has():
    with pytest.raises(errors.AssetKeyError) as info:
        resolve(real_item(S2_V1), "B04")
    message = str(info.value)
    assert "has no asset 'B04'" in message
    assert "red" in message and "visual" in message and "thumbnail" in message
    assert isinstance(info.value, KeyError)
    assert not message.startswith("'")  # not KeyError's quoted repr


def test_many_equal_data_assets_are_refused_with_the_candidates():
    with pytest.raises(errors.AmbiguousAssetError) as info:
        resolve(real_item(S2_V1))
    message = str(info.value)
    assert "red" in message and "nir" in message and "asset=<key>" in message
    assert "red-jp2" not in message  # the JPEG2000 twins rank below the COGs
    assert "thumbnail" not in message


def test_catalogue_hints_choose_the_eopf_product_for_a_tree():
    item = real_item(EOPF_S2)
    assert choose_asset(item, "datatree") == "product"
    target = resolve(item, purpose="datatree")
    assert target.hint("open_datatree_kwargs") == {
        "chunks": {},
        "engine": "eopf-zarr",
        "op_mode": "native",
    }
    with pytest.raises(errors.AmbiguousAssetError, match="SR_10m, SR_20m, SR_60m"):
        resolve(item, purpose="dataset")


def test_group_asset_hints_and_alternate_blocks_are_kept():
    sr10 = resolve(real_item(EOPF_S2), "SR_10m")
    assert sr10.hint("open_dataset_kwargs")["engine"] == "eopf-zarr"
    assert sr10.href.endswith("/measurements/reflectance/r10m")
    old = resolve(real_item(EOPF_S2_OLD), "B02_10m")
    assert "xarray" in old.alternates
    assert old.alternates["xarray"]["href"].startswith("https://")
