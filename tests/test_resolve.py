"""resolve(): every input kind becomes one Target; asset choice and its errors. On the replica's
items (built for made-up endpoints); real catalogues' items are resolved in
tests/realdata/test_items.py."""

from __future__ import annotations

import json

import pystac
import pytest
from conftest import offline_item

from xstac_access import errors
from xstac_access._hrefs import host_of, safe_href
from xstac_access._resolve import choose_asset, resolve
from xstac_access.testing.replica import earthsearch, eopf


def s2_item() -> dict:
    """An Earth Search v1 S2 L2A item: one COG per band, a thumbnail, metadata files."""
    return offline_item(earthsearch, "sentinel-2-l2a")


def test_item_dict_named_asset_carries_its_metadata():
    item = s2_item()
    asset = item["assets"]["red"]
    target = resolve(item, "red")
    assert target.key == "red"
    assert target.href == asset["href"]
    assert target.media_type == asset["type"] == (
        "image/tiff; application=geotiff; profile=cloud-optimized"
    )
    assert target.roles == tuple(asset["roles"]) and "data" in target.roles
    assert target.item["id"] == item["id"]
    assert target.extension == ".tif"


def test_pystac_item_and_owned_asset_resolve_to_the_same_target():
    item = pystac.Item.from_dict(s2_item())
    from_item = resolve(item, "nir")
    from_asset = resolve(item.assets["nir"])
    assert from_asset.key == "nir"
    assert from_asset.href == from_item.href
    assert from_asset.item["id"] == from_item.item["id"]


def test_unknown_asset_key_lists_the_keys_the_item_has():
    item = s2_item()
    with pytest.raises(errors.AssetKeyError) as info:
        resolve(item, "B04")
    message = str(info.value)
    assert "has no asset 'B04'" in message
    assert all(key in message for key in item["assets"])
    assert isinstance(info.value, KeyError)
    assert not message.startswith("'")  # not KeyError's quoted repr


def test_many_equal_data_assets_are_refused_with_the_candidates():
    item = s2_item()
    red = item["assets"]["red"]
    item["assets"]["red-jp2"] = {  # Earth Search's JPEG2000 twin of a COG
        **red, "href": red["href"].replace(".tif", ".jp2"), "type": "image/jp2"
    }  # fmt: skip
    with pytest.raises(errors.AmbiguousAssetError) as info:
        resolve(item)
    message = str(info.value)
    assert "red" in message and "nir" in message and "asset=<key>" in message
    assert "red-jp2" not in message  # the JPEG2000 twins rank below the COGs
    assert "thumbnail" not in message


def test_catalogue_hints_choose_the_eopf_product_for_a_tree():
    item = offline_item(eopf, "eopf-sentinel-2-l2a")
    hints = item["assets"]["product"]["xarray:open_datatree_kwargs"]
    assert choose_asset(item, "datatree") == "product"
    target = resolve(item, purpose="datatree")
    assert target.key == "product" and hints
    assert target.hint("open_datatree_kwargs") == hints
    with pytest.raises(errors.AmbiguousAssetError, match="SR_10m, SR_20m, SR_60m"):
        resolve(item, purpose="dataset")


def test_group_asset_hints_and_alternate_blocks_are_kept():
    item = offline_item(eopf, "eopf-sentinel-2-l2a")
    sr10 = resolve(item, "SR_10m")
    hints = item["assets"]["SR_10m"]["xarray:open_dataset_kwargs"]
    assert hints and sr10.hint("open_dataset_kwargs") == hints
    assert sr10.href.endswith("/measurements/reflectance/r10m")
    old = offline_item(eopf, "eopf-sentinel-2-l2a-cpm-v256")
    b02 = resolve(old, "B02_10m")
    assert b02.alternates["xarray"] == old["assets"]["B02_10m"]["alternate"]["xarray"]
    assert b02.alternates["xarray"]["href"] != b02.href  # the group, not the band


def test_single_asset_item_needs_no_key():
    item = s2_item()
    item["assets"] = {"only": item["assets"]["thumbnail"]}
    assert resolve(item).key == "only"


def test_item_json_path_resolves_relative_hrefs(tmp_path):
    item = s2_item()
    item["links"] = []
    item["assets"] = {"red": {**item["assets"]["red"], "href": "./bands/red.tif"}}
    path = tmp_path / "item.json"
    path.write_text(json.dumps(item))
    target = resolve(str(path))
    assert target.href == str(tmp_path / "bands" / "red.tif")
    assert resolve(path).href == target.href  # PathLike too


def test_plain_href_is_its_own_asset():
    target = resolve("https://example.test/a/b/c.tif")
    assert target.key is None and target.item is None
    assert target.label == "asset at https://example.test/a/b/c.tif"


def test_non_stac_json_is_a_typed_error(tmp_path):
    path = tmp_path / "not-stac.json"
    path.write_text(json.dumps({"hello": "world"}))
    with pytest.raises(errors.NotStacError, match="not a STAC item"):
        resolve(str(path))
    path.write_text("this is not json")
    with pytest.raises(errors.NotStacError, match="is not JSON"):
        resolve(str(path))


def test_collections_of_items_point_to_load():
    item = s2_item()
    with pytest.raises(errors.ResolveError, match=r"xstac_access\.load"):
        resolve({"type": "FeatureCollection", "features": [item]})
    with pytest.raises(errors.ResolveError, match=r"xstac_access\.load"):
        resolve(pystac.ItemCollection([pystac.Item.from_dict(item)]))


def test_unsupported_input_type():
    with pytest.raises(errors.ResolveError, match="cannot open a int"):
        resolve(42)


def test_signed_hrefs_are_never_shown_with_their_signature():
    href = "https://acct.blob.core.windows.net/c/B04.tif?sv=2021&sig=SECRETSIG&se=2030"
    assert "SECRETSIG" not in safe_href(href)
    assert safe_href(href).startswith("https://acct.blob.core.windows.net/c/B04.tif")
    assert "pw" not in safe_href("https://user:pw@host.test/x.tif")
    assert host_of("https://host.test:8443/x") == "host.test:8443"
    assert host_of("s3://bucket/key") == "bucket"
    assert host_of("/tmp/x.tif") == "local"


def test_catalogue_storage_options_never_choose_the_users_credentials():
    """An item may say where its bucket is and that it is public; it may not make the user's
    ambient AWS keys (or a named profile) sign requests to an endpoint it chose."""
    from xstac_access._engine import call_broker
    from xstac_access.credentials import broker_from

    hint = {"anon": False, "profile": "work", "client_kwargs": {"endpoint_url": "https://x.test"}}
    target = resolve({"href": "s3://bucket/product.zarr", "xarray:storage_options": hint}, None)
    provider = call_broker(target, broker_from({}), None).provider_for(target.href)
    assert provider.anon is True and provider.profile is None
    assert provider.endpoint_url == "https://x.test"
    mine = call_broker(target, broker_from({}), {"anon": False, "key": "K", "secret": "S"})
    assert mine.provider_for(target.href).anon is False  # the caller decides
