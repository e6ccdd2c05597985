"""The GeoZarr replica (EOPF Explorer) against the real product and items it stands for.

The hierarchy the generator describes, at full size (divisor 1), is compared node by node with
the published GeoZarr groupspec of product T32TQM; the generated items with the two real
Explorer items. Whatever a reader relies on must match: the group tree, the arrays of every
group, dtypes, dimension names, shapes, chunk grids, the codec chains (sharding and inner
codecs), fill values, attribute names, the multiscales layout, the conventions declared and the
CRS attributes; item asset keys, roles, media types, fields, extensions and properties. A
generator drifting from the real service fails here.

Deliberate differences, each asserted below as what the replica does instead:

* values that describe the grid actually written: ``spatial:bbox`` is the tile's bounds (the
  real converter leaves zeros), and the coarser levels' ``proj:shape``/``proj:transform`` are
  their own (the real ones repeat the attributes of the array they were computed from);
* items describe the replica's store, ``divisor`` times smaller (``proj:shape``,
  ``proj:transform``), state the item ``proj:bbox`` in the item's ``proj:code`` (the real ones
  put longitudes and latitudes there) and list the levels the store has in ``linkTemplates``;
* the staging item's ``thumbnail`` (a preview rendered by the Explorer's tiler, which the local
  world does not run) is left out, and the pipeline item's ``reflectance`` asset gains
  ``xarray:storage_options`` for the local S3 endpoint.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from xstac_access.testing.endpoints import OFFLINE
from xstac_access.testing.replica import geozarr
from xstac_access.testing.replica._geozarr_hierarchy import hierarchy, scaled_size
from xstac_access.testing.replica._geozarr_nodes import walk

T32TQM, T31TFL = geozarr.PRODUCTS
CI = geozarr._DIVISOR["ci"]
REAL_ITEMS = {
    T32TQM: "eopf_explorer_geozarr_sentinel-2-l2a_S2A_MSIL2A_20251008T100041",
    T31TFL: "eopf_explorer_geozarr_sentinel-2-l2a-staging_S2A_MSIL2A_20250831T103701",
}
NOT_REPLICATED = {T32TQM: set(), T31TFL: {"thumbnail"}}
ADDED_FIELDS = {"reflectance": {"xarray:storage_options"}}
# The grid's own values in the replica (see the module docstring); every other value is real.
GRID_VALUES = {"spatial:bbox", "proj:shape", "proj:transform"}
WKT = {"crs_wkt", "spatial_ref", "proj:wkt2"}  # GDAL WKT1 of the same CRS, PROJ-version dependent
IDENTITY = (  # item properties whose values must be the real ones
    "platform",
    "constellation",
    "instruments",
    "mission",
    "grid:code",
    "mgrs:utm_zone",
    "mgrs:latitude_band",
    "mgrs:grid_square",
    "proj:code",
    "sat:relative_orbit",
    "sat:absolute_orbit",
    "sat:orbit_state",
    "sat:platform_international_designator",
    "eopf:datatake_id",
    "eopf:instrument_mode",
    "product:type",
    "product:timeliness",
    "processing:level",
    "eo:cloud_cover",
    "eo:snow_cover",
    "sci:doi",
    "providers",
    "created",
)


@pytest.fixture(scope="module")
def real(real_data: Path) -> dict[str, dict[str, Any]]:
    """Every node of the real hierarchy by path."""
    (path,) = (real_data / "zarr" / "groupspec").glob("optimized_geozarr_examples__*T32TQM*.json")
    return dict(walk(json.loads(path.read_text())))


@pytest.fixture(scope="module")
def generated() -> dict[str, dict[str, Any]]:
    """Every node of the generated hierarchy of the same product at full size."""
    return dict(walk(hierarchy(T32TQM.tile, 1)))


def _arrays(nodes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {p: n for p, n in nodes.items() if n["node_type"] == "array"}


def _groups(nodes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {p: n for p, n in nodes.items() if n["node_type"] == "group"}


def _codec_names(codecs: list[dict[str, Any]]) -> list[Any]:
    """Codec names, a sharding codec's inner and index chains nested under its name."""
    names: list[Any] = []
    for codec in codecs:
        names.append(codec["name"])
        if codec["name"] == "sharding_indexed":
            config = codec["configuration"]
            names.append([_codec_names(config["codecs"]), _codec_names(config["index_codecs"])])
    return names


def test_same_group_tree_and_arrays_per_group(real, generated):
    assert set(_groups(generated)) == set(_groups(real))
    for path, group in _groups(real).items():
        real_arrays = {k for k, m in group["members"].items() if m["node_type"] == "array"}
        ours = generated[path]["members"]
        assert {k for k, m in ours.items() if m["node_type"] == "array"} == real_arrays, path
    assert len(_arrays(generated)) == len(_arrays(real)) == 194


def test_arrays_have_the_real_dtype_dims_shape_chunks_fill_and_codecs(real, generated):
    sharded = 0
    for path, array in _arrays(real).items():
        ours = generated[path]
        for key in ("data_type", "dimension_names", "shape", "fill_value", "chunk_key_encoding"):
            assert ours[key] == array[key], (path, key)
        assert ours["chunk_grid"] == array["chunk_grid"], path
        assert _codec_names(ours["codecs"]) == _codec_names(array["codecs"]), path
        assert ours["codecs"] == array["codecs"], path  # configurations too (inner chunk shape)
        sharded += ours["codecs"][0]["name"] == "sharding_indexed"
    assert sharded == 4 + 11 + 12 * 4  # every reflectance band of the six levels


def test_every_node_has_the_real_attribute_names(real, generated):
    for path, node in real.items():
        assert set(generated[path]["attributes"]) == set(node["attributes"]), path


def test_attribute_values_are_the_real_ones_but_for_the_grid_and_wkt(real, generated):
    for path, node in real.items():
        ours = generated[path]["attributes"]
        for key, value in node["attributes"].items():
            if key in GRID_VALUES | WKT or key == "horizontal_datum_name":
                continue
            if key == "multiscales" or (path.endswith("valid_time") and key == "units"):
                continue  # below, and the forecast's valid minute (not in the product's name)
            if key == "history":  # cfgrib's run: a time and a path on the converter's machine
                assert ours[key].split(" with ")[0][16:] == value.split(" with ")[0][16:]
                continue
            assert ours[key] == value, (path, key)


def test_multiscales_layout_levels_order_and_resampling(real, generated):
    path = "measurements/reflectance"
    real_ms = real[path]["attributes"]["multiscales"]
    ours = generated[path]["attributes"]["multiscales"]
    assert ours["resampling_method"] == real_ms["resampling_method"] == "average"
    names = [level["asset"] for level in ours["layout"]]
    assert names == [level["asset"] for level in real_ms["layout"]]
    assert names == ["r10m", "r20m", "r60m", "r120m", "r360m", "r720m"]
    for mine, theirs in zip(ours["layout"], real_ms["layout"], strict=True):
        assert set(mine) == set(theirs)
        assert mine.get("derived_from") == theirs.get("derived_from")
        assert mine["spatial:shape"] == theirs["spatial:shape"]
        if "transform" in theirs:
            assert mine["transform"]["scale"] == pytest.approx(theirs["transform"]["scale"])
            assert mine["transform"]["translation"] == theirs["transform"]["translation"]
        level = generated[f"{path}/{mine['asset']}"]
        assert level["attributes"]["spatial:shape"] == mine["spatial:shape"]
    for group in _groups(real):
        declared = real[group]["attributes"].get("zarr_conventions")
        assert generated[group]["attributes"].get("zarr_conventions") == declared, group


def test_crs_attributes_of_spatial_ref_and_arrays(real, generated):
    refs = [p for p in real if p.endswith("/spatial_ref")]
    assert len(refs) == 6 + 3 + 3 + 1
    for path in refs:
        theirs, ours = real[path]["attributes"], generated[path]["attributes"]
        assert ours["grid_mapping_name"] == theirs["grid_mapping_name"] == "transverse_mercator"
        for key in ("longitude_of_central_meridian", "false_easting", "semi_major_axis"):
            assert ours[key] == theirs[key]
        assert "UTM zone 32N" in ours["crs_wkt"] and ours["crs_wkt"] == ours["spatial_ref"]
        assert 'AUTHORITY["EPSG","32632"]]' in ours["crs_wkt"]
    described = 0
    for path, array in _arrays(real).items():
        theirs, ours = array["attributes"], generated[path]["attributes"]
        if "proj:shape" not in theirs:
            continue
        assert ours["proj:shape"] == array["shape"] and ours["proj:wkt2"].startswith("PROJCS[")
        if theirs["proj:shape"] == array["shape"]:  # the real attributes describe this array
            assert ours["proj:transform"] == theirs["proj:transform"], path
            described += 1
    assert described == 62  # masks, quality and the r10m/r20m/r60m bands but r20m/r60m b08
    bbox = [699960.0, 4590240.0, 809760.0, 4700040.0]
    for path, group in _groups(generated).items():
        if "spatial:bbox" in group["attributes"]:
            assert real[path]["attributes"]["spatial:bbox"] == [0.0] * 4  # the real converter's
            assert group["attributes"]["spatial:bbox"] == bbox


@pytest.mark.parametrize(("scale", "divisor"), sorted(geozarr._DIVISOR.items()))
def test_replica_sizes_keep_the_real_sharding_pattern(real, scale, divisor):
    nodes = dict(walk(hierarchy(T32TQM.tile, divisor)))
    for path, array in _arrays(real).items():
        ours = nodes[path]
        dims = array["dimension_names"] or []
        expected = [
            scaled_size(n, divisor) if d in ("x", "y") else n
            for d, n in zip(dims, array["shape"], strict=True)
        ]
        assert ours["shape"] == expected, path
        if array["codecs"][0]["name"] != "sharding_indexed":
            assert ours["chunk_grid"]["configuration"]["chunk_shape"] == (
                array["chunk_grid"]["configuration"]["chunk_shape"]
                if expected == array["shape"]
                else expected
            ), path
            continue
        shard = ours["chunk_grid"]["configuration"]["chunk_shape"]
        inner = ours["codecs"][0]["configuration"]["chunk_shape"]
        real_shard = array["chunk_grid"]["configuration"]["chunk_shape"]
        real_inner = array["codecs"][0]["configuration"]["chunk_shape"]
        for side in range(2):  # inner chunks per shard, and shards per array, as the real ones
            assert shard[side] // inner[side] == real_shard[side] // real_inner[side], path
            assert math.ceil(expected[side] / shard[side]) == math.ceil(
                array["shape"][side] / real_shard[side]
            ), path


# -- items ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def items() -> dict[geozarr.Product, dict[str, Any]]:
    generated = geozarr.items(OFFLINE, 0, "ci")
    return {p: next(i for i in generated if i["id"] == p.tile.name) for p in geozarr.PRODUCTS}


def _real_item(real_data: Path, product: geozarr.Product) -> dict[str, Any]:
    (path,) = (real_data / "items").glob(f"{REAL_ITEMS[product]}*.json")
    return json.loads(path.read_text())


def _in_product(href: str) -> str:
    return href.partition(".zarr")[2]


@pytest.mark.parametrize("product", geozarr.PRODUCTS, ids=lambda p: p.tile.name[-22:-16])
def test_item_assets_roles_types_and_fields_are_the_real_ones(real_data, items, product):
    real_item, ours = _real_item(real_data, product), items[product]
    assert ours["id"] == real_item["id"]
    assert set(ours["assets"]) == set(real_item["assets"]) - NOT_REPLICATED[product]
    for key, asset in ours["assets"].items():
        theirs = real_item["assets"][key]
        assert asset["roles"] == theirs["roles"] and asset["type"] == theirs["type"], key
        added = ADDED_FIELDS.get(key, set()) if not product.staging else set()
        assert set(asset) == set(theirs) | added, key
        assert _in_product(asset["href"]) == _in_product(theirs["href"]), key
        assert asset.get("gsd") == theirs.get("gsd") and asset["title"] == theirs["title"]
        if "proj:shape" in asset:
            assert asset["proj:shape"] == [scaled_size(n, CI) for n in theirs["proj:shape"]]
            assert asset["proj:code"] == theirs["proj:code"]
    hrefs = [a["href"] for a in ours["assets"].values()]
    if product.staging:  # https hrefs, and nothing telling a client how to open them
        assert all(h.startswith(f"{OFFLINE.s3}/{geozarr.BUCKET}/") for h in hrefs)
        assert not [k for a in ours["assets"].values() for k in a if k.startswith("xarray:")]
    else:
        assert hrefs == [f"s3://{geozarr.BUCKET}/{product.key}/measurements/reflectance"]
        options = ours["assets"]["reflectance"]["xarray:storage_options"]
        assert options == {"anon": True, "endpoint_url": OFFLINE.s3}


@pytest.mark.parametrize("product", geozarr.PRODUCTS, ids=lambda p: p.tile.name[-22:-16])
def test_item_extensions_properties_and_geometry_are_the_real_ones(real_data, items, product):
    real_item, ours = _real_item(real_data, product), items[product]
    assert ours["stac_extensions"] == real_item["stac_extensions"]
    assert set(ours["properties"]) == set(real_item["properties"])
    for key in IDENTITY:
        assert ours["properties"][key] == real_item["properties"][key], key
    props = ours["properties"]
    assert props["datetime"] == real_item["properties"]["datetime"][:19] + "Z"
    assert props["proj:bbox"] == product.tile.bbox  # in the item's proj:code
    for key in ("view:sun_azimuth", "view:sun_elevation"):
        assert props[key] == pytest.approx(real_item["properties"][key], abs=1e-5)
    for axis in ("lat", "lon"):
        centroid = real_item["properties"]["proj:centroid"][axis]
        assert props["proj:centroid"][axis] == pytest.approx(centroid, abs=0.01)
    assert ours["bbox"] == pytest.approx(real_item["bbox"], abs=1e-6)
    assert ours["geometry"]["type"] == real_item["geometry"]["type"] == "Polygon"


@pytest.mark.parametrize("product", geozarr.PRODUCTS, ids=lambda p: p.tile.name[-22:-16])
def test_reflectance_bands_and_datacube_are_the_real_ones(real_data, items, product):
    theirs = _real_item(real_data, product)["assets"]["reflectance"]
    ours = items[product]["assets"]["reflectance"]
    by_name = {b["name"]: b for b in theirs["bands"]}
    assert sorted(b["name"] for b in ours["bands"]) == sorted(by_name)
    for band in ours["bands"]:
        real_band = by_name[band["name"]]
        assert set(band) == set(real_band), band["name"]
        for key in set(band) - {"proj:shape"}:
            assert band[key] == real_band[key], (band["name"], key)
        if "proj:shape" in band:
            assert band["proj:shape"] == [scaled_size(n, CI) for n in real_band["proj:shape"]]
    assert ours["cube:variables"] == theirs["cube:variables"]
    assert ours["cube:dimensions"] == theirs["cube:dimensions"]
    reflectance = "measurements/reflectance"
    nodes = dict(walk(hierarchy(product.tile, CI)))
    for band in ours["bands"]:  # every band names an array of the store, of the stated shape
        level, _, array = band["name"].lower().rpartition("/")
        level = level or f"r{band['gsd']}m"  # staging: the finest level holding the band
        path = f"{reflectance}/{level}/{array}"
        assert nodes[path]["shape"] == band.get("proj:shape", ours["proj:shape"]), path


@pytest.mark.parametrize("product", geozarr.PRODUCTS, ids=lambda p: p.tile.name[-22:-16])
def test_link_templates_of_the_pipeline_item(real_data, items, product):
    real_links = _real_item(real_data, product).get("linkTemplates")
    our_links = items[product].get("linkTemplates")
    assert (real_links is None) == (our_links is None) == product.staging
    if product.staging:
        return
    (link,), (real_link,) = our_links, real_links
    assert {k: link[k] for k in ("rel", "title")} == {k: real_link[k] for k in ("rel", "title")}
    assert _in_product(link["uriTemplate"]) == _in_product(real_link["uriTemplate"])
    assert set(link["variables"]) == set(real_link["variables"])
    assert link["variables"]["band"] == real_link["variables"]["band"]
    spec = hierarchy(product.tile, CI)["members"]["measurements"]["members"]["reflectance"]
    levels = [level["asset"] for level in spec["attributes"]["multiscales"]["layout"]]
    assert link["variables"]["resolution"]["enum"] == levels  # the store's levels


# -- the written store ---------------------------------------------------------------------


def test_written_store_consolidates_the_real_tree_with_the_described_shards(real, local_world):
    # the session world's replica (seed 0, ci scale) wrote it: read it there, not again
    store = local_world.replica.s3_buckets[geozarr.BUCKET] / T31TFL.key
    root = json.loads((store / "zarr.json").read_text())
    consolidated = root["consolidated_metadata"]["metadata"]
    assert set(consolidated) == set(real) - {""}
    described = dict(walk(hierarchy(T31TFL.tile, CI)))
    for path, node in _arrays(described).items():  # (zarr leaves absent dimension names out)
        written = {k: v for k, v in node.items() if v is not None}
        assert consolidated[path] == written, path
        assert consolidated[path]["data_type"] == real[path]["data_type"], path
    shards = {
        level: sorted(
            p.relative_to(store / level).as_posix() for p in (store / level).rglob("c/*/*")
        )
        for level in ("measurements/reflectance/r10m/b04", "measurements/reflectance/r360m/b04")
    }
    assert shards["measurements/reflectance/r10m/b04"] == ["c/0/0"]
    assert shards["measurements/reflectance/r360m/b04"] == ["c/0/0", "c/0/1", "c/1/0", "c/1/1"]
