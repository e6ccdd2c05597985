"""Resilient search against real servers: pgstac, and the quirks proxy's catalogue personalities.

Each fallback is proven twice: by the proxy's request log (which form was sent, and what the
server answered) and by the results (the ids pgstac returns for the native request, or a plain
Python computation over the replica's items).
"""

from __future__ import annotations

import json
import logging
import math
import os

import cql2
import pystac
import pytest
import requests
from shapely.geometry import shape

from xstac_access import SearchResult, collection_search, errors, search
from xstac_access._search.plan import Capabilities, degrade, item_strategy
from xstac_access.credentials import BearerToken
from xstac_access.testing._procs import free_port

CLOUDY = {"eo:cloud_cover": {"lt": 10}}
BIOMASS = "platform='Biomass' and parentIdentifier='EOP:ESA:MAAP'"


@pytest.fixture
def quirks(local_world):
    """The STAC proxy's admin client: empty log and no faults before, faults and token cleared
    after."""
    proxy = local_world.stac_quirks
    proxy.reset()
    proxy.clear_faults()
    yield proxy
    proxy.clear_faults()
    proxy.require_bearer(None)


def native_ids(local_world, body: dict) -> list[str]:
    """The ids pgstac itself returns for a POST /search body (one page holds the replica)."""
    resp = requests.post(f"{local_world.endpoints.stac}/search", json={"limit": 100, **body})
    resp.raise_for_status()
    return [f["id"] for f in resp.json()["features"]]


def replica_ids(local_world, keep, collections=None) -> set[str]:
    return {
        i["id"]
        for i in local_world.replica.items
        if keep(i["properties"]) and (collections is None or i["collection"] in collections)
    }


def less_cloudy(props: dict) -> bool:
    return props.get("eo:cloud_cover", math.inf) < 10


def searches(proxy, personality: str) -> list[dict]:
    """The logged requests to the personality's item search, oldest first."""
    return [e for e in proxy.requests(personality) if e["path"] == "/search"]


def sent(entry: dict) -> dict:
    """The search parameters of a logged request, from its body (POST) or query string (GET)."""
    return entry["body"] if entry["method"] == "POST" else entry["params"]


# -- fallbacks, each proven on the wire and by the results ------------------------------------


def test_query_goes_native_where_declared(local_world, quirks):
    result = search(quirks.url("pgstac"), query=CLOUDY)
    assert [i.id for i in result] == native_ids(local_world, {"query": CLOUDY})
    assert {e["body"]["query"] == CLOUDY for e in searches(quirks, "pgstac")} == {True}
    assert result.strategy.query == "query" and result.notes == []
    assert result.matched() == len(result) == len(replica_ids(local_world, less_cloudy))


def test_undeclared_query_becomes_a_cql2_json_filter(local_world, quirks):
    result = search(quirks.url("noquery"), query=CLOUDY)
    assert [i.id for i in result] == native_ids(local_world, {"query": CLOUDY})
    (request,) = searches(quirks, "noquery")
    assert "query" not in request["body"]
    assert request["body"]["filter-lang"] == "cql2-json"
    assert request["body"]["filter"] == {"op": "<", "args": [{"property": "eo:cloud_cover"}, 10]}
    assert result.strategy.query == "filter"
    assert "does not declare the Query extension" in result.notes[0]


def test_rejected_query_and_sortby_fall_back_to_a_filter_and_a_local_sort(local_world, quirks):
    result = search(quirks.url("overdeclared"), query=CLOUDY, sortby="-eo:cloud_cover")
    log = searches(quirks, "overdeclared")
    assert [(e["status"], "query" in e["body"], "sortby" in e["body"]) for e in log] == [
        (400, True, True),  # as declared: rejected
        (400, False, True),  # query as a CQL2 filter: sortby still rejected
        (200, False, False),  # sorted here
    ]
    expected = sorted(
        (i for i in local_world.replica.items if less_cloudy(i["properties"])),
        key=lambda i: -i["properties"]["eo:cloud_cover"],
    )
    assert [i.id for i in result] == [i["id"] for i in expected]
    assert result.strategy.query == "filter" and result.strategy.sortby == "local"
    assert "the server rejected `query` (HTTP 400" in result.notes[0]
    assert "sent it as a CQL2-JSON filter" in result.notes[0]
    assert "sorted here" in result.notes[1]


def test_no_filter_support_filters_and_sorts_locally(local_world, quirks):
    result = search(
        quirks.url("nofilter"),
        filter="eo:cloud_cover < 10 and platform like 'sentinel-2%'",
        query={"eo:cloud_cover": {"gte": 1}},
        sortby="eo:cloud_cover",
    )

    def wanted(props: dict) -> bool:
        cover = props.get("eo:cloud_cover", math.inf)
        return 1 <= cover < 10 and props.get("platform", "").startswith("sentinel-2")

    assert {i.id for i in result} == replica_ids(local_world, wanted)
    covers = [i.properties["eo:cloud_cover"] for i in result]
    assert covers == sorted(covers) and len(covers) >= 3
    assert all(
        not {"query", "filter", "sortby"} & set(e["body"]) for e in searches(quirks, "nofilter")
    )
    assert result.strategy.local_parts == ["query", "filter", "sortby"]
    assert result.matched() == len(result)  # read to the end here: the count is exact


def test_filter_rejected_in_post_is_sent_as_cql2_text_with_get(local_world, quirks):
    result = search(quirks.url("gettext"), filter="eo:cloud_cover < 10", limit=4)
    post, *gets = searches(quirks, "gettext")
    assert (post["method"], post["status"], post["body"]["filter-lang"]) == (
        "POST",
        400,
        "cql2-json",
    )
    assert [(e["method"], e["status"]) for e in gets] == [("GET", 200), ("GET", 200)]
    assert gets[0]["params"]["filter-lang"] == "cql2-text"
    assert cql2.parse_text(gets[0]["params"]["filter"]).to_json() == post["body"]["filter"]
    assert (
        "token" in gets[1]["params"] and gets[1]["params"]["filter"] == gets[0]["params"]["filter"]
    )
    assert [i.id for i in result] == native_ids(local_world, {"query": CLOUDY})
    assert result.strategy.method == "GET" and result.strategy.filter_lang == "cql2-text"
    assert "sent it as CQL2 text in a GET query string" in result.notes[0]


def test_cql2_text_is_never_posted_as_text(local_world, quirks):
    """pgstac answers 400 to CQL2 text in a POST body: the filter goes as JSON at once."""
    result = search(quirks.url("pgstac"), filter="eo:cloud_cover < 10")
    assert [
        (e["method"], e["status"], e["body"]["filter-lang"]) for e in searches(quirks, "pgstac")
    ] == [("POST", 200, "cql2-json")]
    assert isinstance(searches(quirks, "pgstac")[0]["body"]["filter"], dict)
    assert [i.id for i in result] == native_ids(local_world, {"query": CLOUDY})


def test_a_catalogue_that_ignores_the_filter_is_caught(local_world, quirks):
    """NASA CMR accepts a cloud-cover filter and ignores it: what comes back is checked."""
    result = search(quirks.url("cmr"), collections=["HLSS30_2.0"], query=CLOUDY)
    (request,) = searches(quirks, "cmr")
    assert request["body"]["query"] == CLOUDY  # it was sent, and ignored
    assert {i.id for i in result} == replica_ids(local_world, less_cloudy, {"HLSS30_2.0"})
    assert len(result) == 1 and result.strategy.verified
    assert "do not match the filter" in result.notes[-1]


def test_local_true_keeps_the_filter_off_the_wire(local_world, quirks):
    result = search(quirks.url("cmr"), collections="HLSS30_2.0", query=CLOUDY, local=True)
    assert all("query" not in e["body"] for e in searches(quirks, "cmr"))
    assert {i.id for i in result} == replica_ids(local_world, less_cloudy, {"HLSS30_2.0"})
    assert result.strategy.query == "local" and not result.strategy.verified
    assert result.matched() == 1


def test_local_false_refuses_to_evaluate_here(quirks):
    with pytest.raises(errors.SearchError, match="local=False"):
        search(quirks.url("nofilter"), filter="eo:cloud_cover < 10", local=False)
    assert searches(quirks, "nofilter") == []  # only the landing page was read


def test_notes_are_logged_at_info(quirks, caplog):
    with caplog.at_level(logging.INFO, logger="xstac_access.search"):
        result = search(quirks.url("noquery"), query=CLOUDY, max_items=1)
    assert result.notes and result.notes[0] in caplog.text


# -- pagination ---------------------------------------------------------------------------------


def test_a_server_sorting_numbers_as_text_is_put_right(local_world, quirks):
    """pgstac sorts an untyped queryable as text: 8.4 before 63.2 before 0.0003."""
    collections = ["sentinel-2-l2a", "eopf-sentinel-2-l2a", "sentinel-s2-l2a-cogs"]
    result = search(quirks.url("pgstac"), collections=collections, sortby="eo:cloud_cover")
    clouds = [i.properties["eo:cloud_cover"] for i in result]
    expected = sorted(
        i["properties"]["eo:cloud_cover"]
        for i in local_world.replica.items
        if i["collection"] in collections
    )
    assert clouds == expected and len(clouds) >= 3
    assert result.strategy.sortby == "server"
    assert any("not in the order asked (eo:cloud_cover)" in n for n in result.notes)
    (request,) = searches(quirks, "pgstac")
    assert sent(request)["sortby"]  # the server was asked, and its answer checked


def test_pages_are_followed_on_the_proxy_up_to_max_items(local_world, quirks):
    result = search(quirks.url("pgstac"), limit=2, max_items=5)
    assert [i.id for i in result] == native_ids(local_world, {})[:5]
    log = searches(quirks, "pgstac")
    assert len(log) == 3  # pages of 2, 2 and 2 (one item of the last one kept)
    assert "token" not in log[0]["body"] and all("token" in e["body"] for e in log[1:])
    assert result.matched() == len(local_world.replica.items)


def test_every_page_without_max_items(local_world, quirks):
    result = search(quirks.url("pgstac"), limit=5)
    assert {i.id for i in result} == {i["id"] for i in local_world.replica.items}
    assert len(searches(quirks, "pgstac")) == math.ceil(len(local_world.replica.items) / 5)


# -- collection search --------------------------------------------------------------------------


def biomass_collections(local_world) -> set[str]:
    return {
        c["id"]
        for c in local_world.replica.collections
        if c.get("platform") == "Biomass" and c.get("parentIdentifier") == "EOP:ESA:MAAP"
    }


def test_collection_search_with_a_cql2_text_filter(local_world, quirks):
    result = collection_search(quirks.url("pgstac"), filter=BIOMASS)
    assert (
        {c.id for c in result}
        == biomass_collections(local_world)
        == {
            "BiomassLevel1a",
            "BiomassLevel1b",
        }
    )
    (request,) = [e for e in quirks.requests("pgstac") if e["path"] == "/collections"]
    assert cql2.parse_text(request["params"]["filter"]) == cql2.parse_text(BIOMASS)
    assert request["params"]["filter-lang"] == "cql2-text"
    assert result.strategy.filter == "server" and result.matched() == 2
    assert all(isinstance(c, pystac.Collection) for c in result)
    frame = result.to_dataframe()
    assert {"id", "title", "extent.temporal.interval"} <= set(frame.columns)


def test_collection_search_filters_locally_without_filter_support(local_world, quirks):
    result = collection_search(quirks.url("nofilter"), filter=BIOMASS, limit=5)
    assert {c.id for c in result} == biomass_collections(local_world)
    pages = [e for e in quirks.requests("nofilter") if e["path"] == "/collections"]
    assert len(pages) == math.ceil(len(local_world.replica.collections) / 5)
    assert all("filter" not in e["params"] for e in pages)
    assert result.strategy.filter == "local" and result.matched() == 2


def test_collection_free_text_here_matches_the_server(quirks):
    on_server = collection_search(quirks.url("pgstac"), q="Biomass")
    here = collection_search(quirks.url("pgstac"), q="Biomass", local=True)
    assert {c.id for c in here} == {c.id for c in on_server} and len(here) >= 2
    assert here.strategy.q == "local" and on_server.strategy.q == "server"


# -- results as table and file ------------------------------------------------------------------


def test_dataframe_columns_and_values(local_world, quirks):
    result = search(quirks.url("pgstac"), collections=["sentinel-2-l2a", "eopf-sentinel-2-l2a"])
    frame = result.to_dataframe()
    items = {(i["collection"], i["id"]): i for i in local_world.replica.items}
    assert list(frame["id"]) == [i.id for i in result]
    assert list(frame["collection"]) == [i.collection_id for i in result]
    assert frame.crs.to_epsg() == 4326
    assert (
        str(frame["datetime"].dtype).startswith("datetime64")
        and str(frame["datetime"].dt.tz) == "UTC"
    )
    for _, row in frame.iterrows():
        item = items[row["collection"], row["id"]]
        assert row["eo:cloud_cover"] == item["properties"]["eo:cloud_cover"]
        for key, asset in item["assets"].items():
            assert row[f"asset:{key}"] == asset["href"]
        assert row["geometry"].equals(shape(item["geometry"]))
    eopf = frame[frame["collection"] == "eopf-sentinel-2-l2a"].iloc[0]
    centroid = items["eopf-sentinel-2-l2a", eopf["id"]]["properties"]["proj:centroid"]
    assert (eopf["proj:centroid.lat"], eopf["proj:centroid.lon"]) == (
        centroid["lat"],
        centroid["lon"],
    )
    assert "asset:SR_10m" in frame.columns and "asset:red" in frame.columns


def test_geojson_round_trip(quirks, tmp_path):
    result = search(quirks.url("pgstac"), max_items=4)
    path = tmp_path / "found.geojson"
    path.write_text("an older file")
    assert result.to_geojson(path) == path
    back = pystac.ItemCollection.from_file(str(path))
    assert [i.id for i in back] == [i.id for i in result]
    assert [i.properties for i in back] == [i.properties for i in result]
    assert json.loads(path.read_text())["type"] == "FeatureCollection"
    assert [p.name for p in tmp_path.iterdir()] == ["found.geojson"]  # no temporary left
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # an ordinary file, not a private one


def test_result_is_a_sequence_of_pystac_items(quirks):
    result = search(quirks.url("pgstac"), ids=["S2A_13TDE_20231008_0_L2A"])
    assert isinstance(result, SearchResult) and len(result) == 1
    assert isinstance(result.item_collection(), pystac.ItemCollection)
    (item,) = list(result)
    assert isinstance(item, pystac.Item) and item.id == "S2A_13TDE_20231008_0_L2A"


# -- errors -------------------------------------------------------------------------------------


def test_bad_cql2_fails_before_any_request(quirks):
    with pytest.raises(errors.SearchError, match="not valid CQL2 text") as caught:
        search(quirks.url("pgstac"), filter="eo:cloud_cover <<< 10")
    assert "nothing was sent" in str(caught.value)
    with pytest.raises(errors.SearchError, match="operator 'less'"):
        search(quirks.url("pgstac"), query={"eo:cloud_cover": {"less": 10}})
    assert quirks.requests() == []


def test_unreachable_catalogue_names_its_host():
    host = f"127.0.0.1:{free_port()}"
    with pytest.raises(errors.SearchError, match=f"cannot reach the STAC API at {host}") as caught:
        search(f"http://{host}/", max_items=1)
    assert caught.value.host == host and caught.value.status is None


def test_a_503_burst_is_retried(local_world, quirks):
    quirks.set_faults([{"path": "/pgstac/search", "status": 503, "count": 2, "retry_after": 0}])
    result = search(quirks.url("pgstac"), max_items=2)
    assert [e["status"] for e in searches(quirks, "pgstac")] == [503, 503, 200]
    assert [i.id for i in result] == native_ids(local_world, {})[:2]


def test_a_server_error_is_a_typed_error_with_the_servers_message(quirks):
    quirks.set_faults([{"path": "/pgstac/search", "status": 500}])
    with pytest.raises(errors.SearchError, match="answered HTTP 500") as caught:
        search(quirks.url("pgstac"), query=CLOUDY)
    assert "injected fault" in str(caught.value)  # the server's own words
    assert caught.value.status == 500 and caught.value.host in quirks.base_url
    assert len(searches(quirks, "pgstac")) == 1  # a 5xx is no reason to change the search


# -- credentials --------------------------------------------------------------------------------


def test_the_catalogue_credential_goes_to_its_host_only(local_world, quirks, caplog):
    caplog.set_level(logging.DEBUG)  # pystac-client logs the headers it prepares
    token = "static-catalogue-token-0123456789"
    quirks.require_bearer(token)
    protected = quirks.url("auth")
    credentials = {"rules": [(protected + "*", BearerToken(token))]}

    result = search(protected, max_items=3, limit=2, credentials=credentials)
    assert len(result) == 3
    log = quirks.requests("auth")
    assert len(log) == 3 and all(e["authorization"] and e["status"] == 200 for e in log)

    search(quirks.url("pgstac"), max_items=1, credentials=credentials)  # same host, other API
    assert [e["authorization"] for e in quirks.requests("pgstac")] == [False, False]

    elsewhere = {
        "rules": [(local_world.endpoints.http.removeprefix("http://"), BearerToken(token))]
    }
    quirks.reset()
    with pytest.raises(errors.AuthError, match="refused access \\(HTTP 401\\)") as caught:
        search(protected, max_items=1, credentials=elsewhere)
    assert {e["authorization"] for e in quirks.requests("auth")} == {False}
    assert token not in str(caught.value) and token not in repr(result)
    assert "pystac_client" in caplog.text and token not in caplog.text


# -- planning, without a server -----------------------------------------------------------------


def test_an_api_declaring_only_cql2_text_gets_get_at_once():
    caps = Capabilities.from_api(
        [
            "https://api.stacspec.org/v1.0.0/item-search",
            "https://api.stacspec.org/v1.0.0-rc.2/item-search#filter",
            "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
        ]
    )
    strategy, _ = item_strategy(caps, query=True, filter=True, sortby=True, local=None)
    assert (strategy.method, strategy.filter_lang) == ("GET", "cql2-text")
    assert (strategy.query, strategy.filter, strategy.sortby) == ("filter", "server", "local")


def test_a_refused_post_is_retried_with_get():
    caps = Capabilities.from_api(["https://api.stacspec.org/v1.0.0/item-search"])
    strategy, _ = item_strategy(caps, query=False, filter=False, sortby=False, local=None)
    step = degrade(strategy, caps, 405, "Method Not Allowed", local=None)
    assert step is not None and step[0].method == "GET" and "refused POST" in step[1]
    assert degrade(step[0], caps, 400, "bad bbox", local=None) is None  # nothing left to change


def test_the_part_a_rejection_names_is_changed_first():
    caps = Capabilities.from_api(
        [
            "https://api.stacspec.org/v1.0.0/item-search#query",
            "https://api.stacspec.org/v1.1.0/item-search#sort",
        ]
    )
    strategy, _ = item_strategy(caps, query=True, filter=False, sortby=True, local=None)
    assert (strategy.query, strategy.sortby) == ("query", "server")
    changed, said = degrade(strategy, caps, 400, "sortby: unknown field 'foo'", local=None)
    assert (changed.query, changed.sortby) == ("query", "local") and "`sortby`" in said
    changed, said = degrade(strategy, caps, 400, "Invalid request", local=None)
    assert (changed.query, changed.sortby) == ("local", "server")  # no name: query first
    assert degrade(strategy, caps, 400, "Invalid request", local=False) is None
