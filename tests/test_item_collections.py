"""One item or many (``xstac_access._item_collections``), and every caller agreeing on it: the
plugin's guess, the engine, ``load``, ``download`` and ``resolve``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pystac
import pytest
from conftest import offline_item
from pystac_client import Client

from xstac_access import errors
from xstac_access._download import _inputs
from xstac_access._item_collections import claims, is_collection, is_item, members
from xstac_access._load import _pystac_items
from xstac_access._plugin import StacAssetBackendEntrypoint
from xstac_access._resolve import resolve
from xstac_access.testing.replica import earthsearch


def items(n: int = 3) -> list[dict]:
    return [offline_item(earthsearch, "sentinel-2-l2a", i) for i in range(n)]


def many_forms() -> dict[str, object]:
    dicts = items()
    return {
        "ItemCollection": pystac.ItemCollection([pystac.Item.from_dict(d) for d in dicts]),
        "FeatureCollection": {"type": "FeatureCollection", "features": dicts},
        "list of item dicts": dicts,
        "tuple of pystac Items": tuple(pystac.Item.from_dict(d) for d in dicts),
    }


@pytest.mark.parametrize("form", list(many_forms()))
def test_many_items_are_many_for_every_caller(form):
    obj = many_forms()[form]
    assert is_collection(obj)
    assert len(members(obj)) == 3
    assert [i.id for i in _pystac_items(obj)] == [d["id"] for d in items()]
    assert len(list(_inputs(obj))) == 3
    with pytest.raises(errors.ResolveError, match=r"holds many items.*xstac_access\.load"):
        resolve(obj)
    # xarray's guess claims them all but a plain list or tuple (other engines take lists)
    assert StacAssetBackendEntrypoint().guess_can_open(obj) is not isinstance(obj, list | tuple)


def test_one_item_is_one_for_every_caller():
    item = items(1)[0]
    for obj in (item, pystac.Item.from_dict(item)):
        assert is_item(obj) and not is_collection(obj) and members(obj) is None
        assert [i.id for i in _pystac_items(obj)] == [item["id"]]
        assert list(_inputs(obj)) == [obj]
        assert resolve(obj, "red").key == "red"
        assert StacAssetBackendEntrypoint().guess_can_open(obj)


def test_lists_of_other_inputs_are_not_many_items_but_are_flattened_for_download():
    hrefs = ["https://example.test/a.tif", "https://example.test/b.tif"]
    assert not is_collection(hrefs) and not is_collection([])
    assert not is_collection([items(1)[0], "x"])
    assert members(hrefs) == hrefs
    assert list(_inputs([hrefs[0], [hrefs[1], items(1)]])) == [*hrefs, items(1)[0]]
    with pytest.raises(errors.ResolveError, match="cannot open a list"):
        resolve(hrefs)


def test_an_iterator_of_items_loads_like_a_list():
    generator = (i for i in items())
    assert not is_collection(generator)  # undecidable without consuming it: not for the engine
    assert [i.id for i in _pystac_items(generator)] == [d["id"] for d in items()]


def test_a_search_result_is_many_items_and_runs_only_when_its_members_are_asked(local_world):
    item = sorted(local_world.replica.items, key=lambda i: i["id"])[0]
    search = Client.open(local_world.endpoints.stac).search(ids=[item["id"]])
    assert is_collection(search) and claims(search)
    assert [i.id for i in members(search)] == [item["id"]]
    assert [i.id for i in _pystac_items(search)] == [item["id"]]


def test_what_the_plugin_claims():
    item = items(1)[0]
    claimed = [
        item,
        pystac.Item.from_dict(item).assets["red"],
        {"type": "FeatureCollection", "features": []},
        {"type": "Collection", "stac_version": "1.0.0", "id": "c"},
    ]
    assert all(claims(obj) for obj in claimed)
    refused = ["file.nc", Path("file.nc"), {"some": "dict"}, [item], 42, {"type": "Feature"}]
    assert not any(claims(obj) for obj in refused)


def test_the_plugin_imports_neither_pystac_nor_the_engine():
    """xarray imports every engine's plugin on its first open: deciding must stay stdlib."""
    code = (
        "import sys, xstac_access._plugin as p; "
        "p.StacAssetBackendEntrypoint().guess_can_open({'type': 'FeatureCollection'}); "
        "print(sorted(m for m in ('pystac', 'xstac_access._engine', 'xstac_access._resolve', "
        "'requests', 'rasterio') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
