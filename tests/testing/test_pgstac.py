"""The local STAC API (stac-fastapi-pgstac) answers the searches the library relies on.

A small catalogue shaped like the real ones (an ESA MAAP Biomass collection with
``product:type``, an Earth Search ``sentinel-2-l2a`` collection with ``eo:cloud_cover``) is
loaded into a private PgStac; each test checks one kind of search against the known answer,
including the quirks real users have to work around.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from xstac_access.testing.pgstac import PgStac


def _collection(cid: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "id": cid,
        "description": f"{cid} test collection",
        "license": "proprietary",
        "extent": {
            "spatial": {"bbox": [[-180, -90, 180, 90]]},
            "temporal": {"interval": [["2020-01-01T00:00:00Z", None]]},
        },
        "links": [],
        **extra,
    }


def _item(cid: str, iid: str, lon: float, day: int, **props: Any) -> dict[str, Any]:
    ring = [[lon, 0], [lon + 1, 0], [lon + 1, 1], [lon, 1], [lon, 0]]
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": iid,
        "collection": cid,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "bbox": [lon, 0, lon + 1, 1],
        "properties": {"datetime": f"2024-06-{day:02d}T10:00:00Z", **props},
        "links": [],
        "assets": {},
    }


COLLECTIONS = [
    _collection("BiomassLevel1a", platform="Biomass", parentIdentifier="EOP:ESA:MAAP"),
    _collection("sentinel-2-l2a", platform="sentinel-2a"),
]
BIOMASS = [
    _item("BiomassLevel1a", f"BIO_{i}", 10 + i, 1 + i, **{"product:type": ptype})
    for i, ptype in enumerate(["S1_SCS__1S", "S1_DGM__1S", "S1_SCS__1S", "S2_SCS__1S"])
]
S2 = [
    _item("sentinel-2-l2a", f"S2_{i}", i, 10 + i, **{"eo:cloud_cover": cc})
    for i, cc in enumerate([2.5, 40.0, 8.0, 95.0, 0.0])
]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared cache when configured, else a fresh one (the first start is then cold)."""
    return Path(os.environ.get("XSTAC_CACHE_DIR") or tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def pgstac(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Iterator[PgStac]:
    stac = PgStac(tmp_path_factory.mktemp("pgstac"), cache_dir=cache_dir)
    try:
        stac.start(COLLECTIONS, BIOMASS + S2)
        yield stac
    finally:
        stac.stop()


def call(base: str, path: str, body: Any = None, **params: Any) -> tuple[int, Any]:
    """GET (or POST ``body`` as JSON) ``base + path``; return the status and parsed JSON."""
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def ids(base: str, path: str = "/search", body: Any = None, **params: Any) -> set[str]:
    status, doc = call(base, path, body, **params)
    assert status == 200, doc
    return {f["id"] for f in doc["features"]}


def test_self_links_use_the_loopback_base(pgstac: PgStac) -> None:
    status, landing = call(pgstac.url, "/")
    assert status == 200
    assert landing["id"] == "xstac-local"
    assert all(link["href"].startswith(pgstac.url) for link in landing["links"])


def test_search_by_collection_reports_number_matched(pgstac: PgStac) -> None:
    _, doc = call(pgstac.url, "/search", collections="sentinel-2-l2a", limit=2)
    assert doc["numberMatched"] == 5
    assert len(doc["features"]) == 2
    (next_link,) = [link for link in doc["links"] if link["rel"] == "next"]
    assert next_link["href"].startswith(pgstac.url)


def test_search_by_bbox_and_datetime(pgstac: PgStac) -> None:
    assert ids(pgstac.url, bbox="1.2,0.2,2.5,0.8") == {"S2_1", "S2_2"}
    window = "2024-06-11T00:00:00Z/2024-06-12T23:59:59Z"
    assert ids(pgstac.url, datetime=window) == {"S2_1", "S2_2"}


def test_search_by_point_intersects(pgstac: PgStac) -> None:
    point = {"type": "Point", "coordinates": [12.5, 0.5]}
    assert ids(pgstac.url, body={"intersects": point}) == {"BIO_2"}
    assert ids(pgstac.url, intersects=json.dumps(point)) == {"BIO_2"}


def test_query_extension_get_and_post(pgstac: PgStac) -> None:
    query = {"eo:cloud_cover": {"lt": 10}}
    expected = {"S2_0", "S2_2", "S2_4"}
    assert ids(pgstac.url, body={"collections": ["sentinel-2-l2a"], "query": query}) == expected
    assert ids(pgstac.url, collections="sentinel-2-l2a", query=json.dumps(query)) == expected


def test_cql2_json_filter_by_post(pgstac: PgStac) -> None:
    cql = {"op": "=", "args": [{"property": "product:type"}, "S1_SCS__1S"]}
    body = {"filter": cql, "filter-lang": "cql2-json"}
    assert ids(pgstac.url, body=body) == {"BIO_0", "BIO_2"}


def test_cql2_text_filter_by_get(pgstac: PgStac) -> None:
    text = "\"product:type\" = 'S1_SCS__1S'"
    assert ids(pgstac.url, filter=text, **{"filter-lang": "cql2-text"}) == {"BIO_0", "BIO_2"}
    both = "collection = 'sentinel-2-l2a' AND \"eo:cloud_cover\" > 30"
    assert ids(pgstac.url, filter=both) == {"S2_1", "S2_3"}


def test_cql2_text_in_a_post_body_is_rejected(pgstac: PgStac) -> None:
    """A real quirk: POST /search only takes CQL2-JSON; clients must fall back to GET."""
    body = {"filter": "\"product:type\" = 'S1_SCS__1S'", "filter-lang": "cql2-text"}
    status, doc = call(pgstac.url, "/search", body=body)
    assert status == 400
    assert any(d["loc"][-1] == "filter" for d in doc["detail"])


def test_collection_search_with_cql2_text(pgstac: PgStac) -> None:
    status, doc = call(
        pgstac.url, "/collections", filter="platform='Biomass' and parentIdentifier='EOP:ESA:MAAP'"
    )
    assert status == 200
    assert [c["id"] for c in doc["collections"]] == ["BiomassLevel1a"]
    _, none = call(pgstac.url, "/collections", filter="platform='Landsat'")
    assert none["collections"] == []


def test_up_means_listing_the_loaded_collections_and_stop_ends_everything(
    tmp_path: Path, cache_dir: Path
) -> None:
    stac = PgStac(tmp_path, cache_dir=cache_dir)
    stac.start(COLLECTIONS[:1], BIOMASS[:1])
    pids, data_dir = list(stac.pids.values()), stac.data_dir
    assert len(pids) == 2 and data_dir is not None and data_dir.exists()
    stac.wait_for_collections(["BiomassLevel1a"])  # loaded: a real search lists it at once
    with pytest.raises(RuntimeError) as never:
        stac.wait_for_collections(["BiomassLevel1a", "sentinel-2-l2a"], timeout=0.3)
    assert str(never.value).startswith(
        f"stac-api (pid {stac.pids['stac-api']}) not listing the loaded collections after 0.3 s;"
    )
    assert str(tmp_path / "logs" / "stac-api.log") in str(never.value)
    assert not Path(f"/proc/{stac.pids['stac-api']}").exists()  # a failed start stops it
    stac.stop()
    stac.stop()
    assert not data_dir.exists()
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists()
