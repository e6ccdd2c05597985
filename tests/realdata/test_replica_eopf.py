"""The EOPF replica against the real products and items it stands for (read in place).

The replica describes each product and item as code (``xstac_access/testing/replica/_eopf_*``);
these tests hold that description to the real consolidated ``.zmetadata`` and the real EOPF
Sample Service items, so that a generator drifting from reality fails here: group tree, array
names, dimensions, dtypes, compressors, fill values, chunk pattern (chunks per dimension, at
both replica scales), CF attribute names, the embedded ``stac_discovery``/``other_metadata``;
asset keys, roles, media types, ``xarray:*`` hints, ``alternate`` blocks, extensions, property
names and link relations of the items.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from xstac_access.testing.endpoints import OFFLINE
from xstac_access.testing.replica import SCALES, eopf

from ._realdata import real_item, real_zmetadata

#: real .zmetadata file prefix -> the replica product standing for it
PRODUCTS = {"S02MSIL2A_": eopf.S2, "S01SIWOCN_": eopf.S1_OCN, "S03OLCLFR_": eopf.S3_LFR}
#: attributes readers interpret (CF, and the EOPF ones xarray-eopf and CPM readers look at)
CF = frozenset(
    {
        "scale_factor", "add_offset", "units", "long_name", "standard_name", "flag_values",
        "flag_masks", "flag_meanings", "coordinates", "valid_min", "valid_max", "calendar",
        "fill_value", "dtype", "dimensions", "data_units", "unit", "proj:epsg", "proj:bbox",
        "proj:shape", "proj:transform", "proj:wkt2", "eopf_is_masked", "eopf_is_scaled",
        "eopf_target_dtype", "_eopf_attrs",
    }
)  # fmt: skip
#: item links the STAC API writes itself (pgstac/stac-fastapi), not part of the stored item
NAVIGATION = {"self", "root", "parent", "collection"}
S2_ITEMS = {  # replica collection -> real items of the same layout
    "eopf-sentinel-2-l2a": ("eopf_sample_service_sentinel-2-l2a_S2A_MSIL2A_20251113",),
    "eopf-sentinel-2-l2a-cpm-v256": ("eopf_sample_service_sentinel-2-l2a_S2A_MSIL2A_20250513",),
}
#: the N0512 (2026) item has the current layout's assets, with every zarr asset vnd+zarr
N0512 = "eopf_sample_service_sentinel-2-l2a_S2C_MSIL2A_20260321"


def _nodes(meta: dict[str, Any], suffix: str) -> set[str]:
    return {k[: -len(suffix)].rstrip("/") for k in meta if k.endswith(suffix)}


def _arrays_by_group(meta: dict[str, Any]) -> dict[str, set[str]]:
    groups: dict[str, set[str]] = {g: set() for g in _nodes(meta, ".zgroup")}
    for path in _nodes(meta, ".zarray"):
        parent, _, name = path.rpartition("/")
        groups[parent].add(name)
    return groups


def _chunks_per_dim(zarray: dict[str, Any]) -> list[int]:
    pairs = zip(zarray["shape"], zarray["chunks"], strict=True)
    return [math.ceil(n / c) if c else 1 for n, c in pairs]


@pytest.fixture(scope="module", params=list(PRODUCTS), ids=lambda p: p.rstrip("_"))
def pair(request: pytest.FixtureRequest) -> tuple[dict, eopf.Product]:
    return real_zmetadata(request.param), PRODUCTS[request.param]


def test_same_group_tree_and_array_names_per_group(pair):
    real, product = pair
    mine = eopf.metadata(product, "ci")
    assert _nodes(mine, ".zgroup") == _nodes(real, ".zgroup")
    assert _arrays_by_group(mine) == _arrays_by_group(real)
    assert len(_nodes(mine, ".zarray")) >= 45


def test_same_dims_dtypes_compressors_and_fill_values(pair):
    real, product = pair
    mine = eopf.metadata(product, "ci")
    for path in sorted(_nodes(real, ".zarray")):
        ours, theirs = mine[f"{path}/.zarray"], real[f"{path}/.zarray"]
        dims = mine[f"{path}/.zattrs"]["_ARRAY_DIMENSIONS"]
        assert dims == real[f"{path}/.zattrs"]["_ARRAY_DIMENSIONS"], path
        assert len(dims) == len(ours["shape"]), path
        for key in ("dtype", "compressor", "filters", "order", "zarr_format"):
            assert ours[key] == theirs[key], (path, key)
        assert json.dumps(ours["fill_value"]) == json.dumps(theirs["fill_value"]), path


@pytest.mark.parametrize("scale", SCALES)
def test_same_chunk_pattern_at_every_scale(pair, scale):
    """Chunks per dimension are the real ones whatever the replica's divisor."""
    real, product = pair
    mine = eopf.metadata(product, scale)
    shrunk = 0
    for path in sorted(_nodes(real, ".zarray")):
        ours, theirs = mine[f"{path}/.zarray"], real[f"{path}/.zarray"]
        assert _chunks_per_dim(ours) == _chunks_per_dim(theirs), path
        assert all(a <= b for a, b in zip(ours["shape"], theirs["shape"], strict=True)), path
        shrunk += ours["shape"] != theirs["shape"]
    if product is eopf.S1_OCN:
        assert shrunk == 0  # written at its real size
    else:
        assert shrunk >= 30


def test_same_cf_attribute_names(pair):
    real, product = pair
    mine = eopf.metadata(product, "ci")
    with_cf = 0
    for path in sorted(_nodes(real, ".zarray")):
        ours, theirs = mine[f"{path}/.zattrs"], real[f"{path}/.zattrs"]
        assert CF & set(ours) == CF & set(theirs), path
        assert set(ours.get("_eopf_attrs", {})) == set(theirs.get("_eopf_attrs", {})), path
        for key in ("scale_factor", "add_offset", "dtype", "units", "standard_name"):
            assert ours.get(key) == theirs.get(key), (path, key)  # what decoding relies on
        for key in ("flag_masks", "flag_values", "proj:epsg", "valid_min", "valid_max"):
            assert type(ours.get(key)) is type(theirs.get(key)), (path, key)
        with_cf += bool(CF & set(theirs))
    assert with_cf >= 30


def test_same_group_attributes_and_embedded_stac(pair):
    real, product = pair
    mine = eopf.metadata(product, "ci")
    for group in sorted(_nodes(real, ".zgroup")):
        key = f"{group}/.zattrs" if group else ".zattrs"
        ours, theirs = mine.get(key, {}), real.get(key, {})
        assert set(ours) == set(theirs), group
        if "stac_discovery" in theirs:
            ours_sd, theirs_sd = ours["stac_discovery"], theirs["stac_discovery"]
            assert set(ours_sd) == set(theirs_sd), group
            props = set(theirs_sd.get("properties", {}))
            assert set(ours_sd.get("properties", {})) == props, group
            for name in ("stac_version", "stac_extensions", "type"):
                assert ours_sd.get(name) == theirs_sd.get(name), (group, name)
        if "other_metadata" in theirs:  # a representative subset of the real keys
            subset = set(ours["other_metadata"])
            assert subset and subset <= set(theirs["other_metadata"]), group
            assert "eopf_category" in subset
    root = mine[".zattrs"]["stac_discovery"]
    assert root["geometry"]["type"] == "Polygon" and len(root["bbox"]) == 4


def test_s2_analysis_mode_needs_its_crs_and_bands():
    """What xarray-eopf's analysis mode reads: the CRS code and integer proj:epsg per band."""
    meta = eopf.metadata(eopf.S2, "ci")
    real = real_zmetadata("S02MSIL2A_")
    for key in ("horizontal_CRS_code", "horizontal_CRS_name"):
        assert key in meta[".zattrs"]["other_metadata"]
        assert key in real[".zattrs"]["other_metadata"]
    assert meta[".zattrs"]["other_metadata"]["horizontal_CRS_code"] == "EPSG:32634"
    b04 = meta["measurements/reflectance/r10m/b04/.zattrs"]
    assert b04["proj:epsg"] == real["measurements/reflectance/r10m/b04/.zattrs"]["proj:epsg"]
    assert b04["proj:shape"] == meta["measurements/reflectance/r10m/b04/.zarray"]["shape"]


# -- items --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def items() -> dict[str, dict[str, Any]]:
    return {i["collection"]: i for i in eopf.items(OFFLINE, 0, "ci")}


def _relative(href: str) -> str:
    """An href below its product's ``.zarr`` root (the zip: its file name's suffix)."""
    return href.split(".zarr", 1)[1] if ".zarr" in href else href.rsplit(".", 1)[-1]


def _hints(asset: dict[str, Any]) -> set[str]:
    return {k for k in asset if k.startswith("xarray:")}


def _alternate(asset: dict[str, Any]) -> dict[str, Any]:
    """The ``alternate`` blocks' shape: keys, hint keys, kwargs and href below the product."""
    return {
        name: {
            "keys": sorted(block),
            "href": _relative(block["href"]),
            "kwargs": {k: block[k] for k in block if k.startswith("xarray:")},
        }
        for name, block in asset.get("alternate", {}).items()
    }


@pytest.mark.parametrize("collection", list(S2_ITEMS))
def test_s2_items_have_the_real_assets_roles_types_and_hints(items, collection):
    ours = items[collection]
    for prefix in S2_ITEMS[collection]:
        theirs = real_item(prefix)
        assert set(ours["assets"]) == set(theirs["assets"])  # no deliberate difference
        for key, asset in theirs["assets"].items():
            mine = ours["assets"][key]
            assert set(mine) == set(asset), key
            assert mine["roles"] == asset["roles"], key
            assert mine["type"] == asset["type"], key
            assert _hints(mine) == _hints(asset), key
            for hint in _hints(asset):
                assert mine[hint] == asset[hint], (key, hint)
            assert _alternate(mine) == _alternate(asset), key
            assert _relative(mine["href"]) == _relative(asset["href"]), key
            bands = zip(mine.get("bands", []), asset.get("bands", []), strict=True)
            for ours_band, real_band in bands:
                assert set(ours_band) == set(real_band), key
                assert ours_band["name"] == real_band["name"], key


@pytest.mark.parametrize("collection", list(S2_ITEMS))
def test_s2_items_have_the_real_extensions_properties_and_links(items, collection):
    ours = items[collection]
    for prefix in S2_ITEMS[collection]:
        theirs = real_item(prefix)
        assert ours["stac_extensions"] == theirs["stac_extensions"]
        assert set(ours["properties"]) == set(theirs["properties"])
        assert ours["stac_version"] == theirs["stac_version"]
        rels = {link["rel"] for link in theirs["links"]}
        assert {link["rel"] for link in ours["links"]} == rels - NAVIGATION
        for key in ("mgrs:utm_zone", "eo:cloud_cover", "instruments", "providers"):
            assert type(ours["properties"][key]) is type(theirs["properties"][key]), key


def test_current_s2_item_keeps_the_n0512_asset_layout(items):
    ours, theirs = items["eopf-sentinel-2-l2a"], real_item(N0512)
    assert set(ours["assets"]) == set(theirs["assets"])
    for key, asset in theirs["assets"].items():
        assert ours["assets"][key]["roles"] == asset["roles"], key
        assert _hints(ours["assets"][key]) == _hints(asset), key
    types = {a["type"] for a in ours["assets"].values()}
    assert {"application/vnd+zarr", "application/vnd.zarr"} <= types  # as the 20251113 item


def test_swath_items_follow_the_real_eopf_swath_item(items):
    """S1 OCN and S3 LFR items: ``product``/``product_metadata`` and a measurements dataset
    asset shaped as in the real EOPF S3 OLCI item (its ``radianceData``)."""
    real = real_item("eopf_sample_service_sentinel-3-olci-l1-efr")["assets"]
    for collection, dataset in (("sentinel-3-olci-l2-lfr", "measurements"),
                                ("sentinel-1-l2-ocn", "owi_measurements")):  # fmt: skip
        assets = items[collection]["assets"]
        assert set(assets) == {"product", "product_metadata", dataset}
        for key in ("product", "product_metadata"):
            assert assets[key]["roles"] == real[key]["roles"], key
            assert assets[key]["type"] == real[key]["type"], key
            assert _hints(assets[key]) - {"xarray:storage_options"} == _hints(real[key]), key
        assert _hints(assets[dataset]) == _hints(real["radianceData"])
        assert assets[dataset]["type"] == real["radianceData"]["type"]
        assert _relative(assets[dataset]["href"]).endswith("/measurements")
