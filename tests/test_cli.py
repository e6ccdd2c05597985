"""The ``xstac`` command line, end to end: subprocesses against the local world of real servers.

Each command's output is checked against what the library returns in-process, or against the
replica itself (its items and the files the file server serves). Credentials reach the
subprocesses the way users give them: ``XSTAC_MAAP_*`` environment variables, or a TOML file
passed with ``--config`` whose token file the rotating refresh tokens are written back to.
Argument handling that needs no server is tested in-process through ``main([...])``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import rasterio
import xarray as xr
from conftest import offline_item, replica_item
from PIL import Image

import xstac_access  # noqa: F401  (registers the engine's accessor)
from xstac_access import errors, search
from xstac_access.cli import main
from xstac_access.cli._common import credential_info
from xstac_access.credentials import BearerToken, Broker, OidcPassword, S3Credentials
from xstac_access.testing._procs import free_port
from xstac_access.testing.replica import earthsearch

ITEM_JSON = "<item.json>"  # an argument the test replaces with a replica item's JSON file
COMMANDS = ("search", "info", "open", "quicklook", "download", "auth", "demo")
BIOMASS_DATA = {"product", "enclosure_i_abs_tiff", "enclosure_i_phase_tiff"}  # /maap/data/


def xstac(*args: str, env: dict[str, str], stdin: str | None = None, timeout: float = 120):
    """Run ``python -m xstac_access.cli ARGS`` and return the completed process."""
    return subprocess.run(
        [sys.executable, "-m", "xstac_access.cli", *args],
        capture_output=True, text=True, env=env, input=stdin, timeout=timeout, check=False,
    )  # fmt: skip


def item_url(world, item: dict) -> str:
    return f"{world.endpoints.stac}/collections/{item['collection']}/items/{item['id']}"


def served(world, href: str) -> tuple[str, Path]:
    """The file server's path of ``href`` and the replica file behind it."""
    path = href.removeprefix(world.endpoints.http)
    return path, world.replica.files_root / path.lstrip("/")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def parse_table(text: str) -> list[dict[str, str]]:
    """The rows of a table the CLI printed, cut at the header's column starts."""
    header, *lines = text.rstrip("\n").splitlines()
    starts = [m.start() for m in re.finditer(r"\S+(?: \S+)*", header)]
    names = [header[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
    return [
        {n: line[a:b].strip() for n, a, b in zip(names, starts, [*starts[1:], None], strict=True)}
        for line in lines
    ]


def one_line_error(proc) -> str:
    """The stderr of a failed command: one ``xstac: error:`` line, no traceback."""
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("xstac: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def maap_options(world) -> dict:
    return {
        "token_url": f"{world.endpoints.oidc}/realms/maap/protocol/openid-connect/token",
        "client_secret": "offline-token-public-secret",
        "hosts": [f"{world.endpoints.http}/maap/data/*"],
    }


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    """The subprocesses' environment: no XSTAC_* variable and no config file of the user's."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("XSTAC_")}
    base["XSTAC_CONFIG"] = str(tmp_path_factory.mktemp("no-config") / "absent.toml")
    return base


@pytest.fixture(scope="module")
def maap_env(local_world, env) -> tuple[dict[str, str], str]:
    """``env`` plus the MAAP preset in XSTAC_MAAP_* variables, and its (fresh) offline token."""
    token = local_world.oidc.offline_token("maap", "maap-user")
    options = maap_options(local_world)
    return {
        **env,
        "XSTAC_MAAP_OFFLINE_TOKEN": token,
        "XSTAC_MAAP_TOKEN_URL": options["token_url"],
        "XSTAC_MAAP_CLIENT_SECRET": options["client_secret"],
        "XSTAC_MAAP_HOSTS": ",".join(options["hosts"]),
    }, token


@pytest.fixture(scope="module")
def maap_toml(local_world, tmp_path_factory) -> tuple[Path, Path, str]:
    """A TOML config with the MAAP preset reading a token file: ``(config, token file, the
    first token)``. Refresh tokens rotate: each process writes the new one back to the file."""
    folder = tmp_path_factory.mktemp("maap-config")
    token = local_world.oidc.offline_token("maap", "maap-user")
    token_file = folder / "maap-offline-token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    options = {**maap_options(local_world), "offline_token_file": str(token_file)}
    lines = ["[maap]", *(f"{k} = {json.dumps(v)}" for k, v in options.items())]
    config = folder / "config.toml"
    config.write_text("\n".join(lines) + "\n")
    return config, token_file, token


def assert_no_secret(proc, *secrets: str) -> None:
    text = proc.stdout + proc.stderr
    for secret in secrets:
        assert secret and secret not in text
    assert "Bearer" not in text and "eyJ" not in text  # no header value, no JWT access token


# -- search ------------------------------------------------------------------------------------


def test_search_table_shows_the_items_the_library_finds(local_world, env):
    collections = ["sentinel-2-l2a", "HLSS30_2.0"]
    proc = xstac(
        "search", local_world.endpoints.stac, "--collections", *collections,
        "--sortby", "-eo:cloud_cover", "--columns", "grid:code", env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    expected = search(local_world.endpoints.stac, collections=collections, sortby="-eo:cloud_cover")
    rows = parse_table(proc.stdout)
    assert [r["id"] for r in rows] == [i.id for i in expected]
    replica = {i["id"] for i in local_world.replica.items if i["collection"] in collections}
    assert {r["id"] for r in rows} == replica and len(rows) == 5
    for row, item in zip(rows, expected, strict=True):
        assert row["collection"] == item.collection_id
        assert row["datetime"] == item.datetime.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert float(row["eo:cloud_cover"]) == round(item.properties["eo:cloud_cover"], 2)
        assert row["platform"] == item.properties["platform"]
        assert row["grid:code"] == str(item.properties.get("grid:code", ""))
        assert int(row["assets"]) == len(item.assets)
    assert proc.stderr.strip().splitlines()[-1] == "5 items of 5 matched"


def test_search_geojson_round_trips_into_download_then_skips(local_world, files, env, tmp_path):
    catalogue = local_world.stac_quirks.url("noquery")  # no Query extension: a CQL2 fallback
    query = '{"eo:cloud_cover": {"lt": 10}}'
    found = tmp_path / "found.geojson"
    proc = xstac(
        "search", catalogue, "--collections", "sentinel-2-l2a", "--query", query,
        "--format", "geojson", "-o", str(found), env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "note: " in proc.stderr and "does not declare the Query extension" in proc.stderr
    collection = json.loads(found.read_text())
    expected = search(catalogue, collections="sentinel-2-l2a", query=json.loads(query))
    assert collection["type"] == "FeatureCollection"
    assert [f["id"] for f in collection["features"]] == [i.id for i in expected]
    assert len(expected) == 2

    dest = tmp_path / "data"
    files.reset()
    first = xstac("download", str(found), "--dest", str(dest), "--assets", "red", "nir", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    rows = parse_table(first.stdout.split("\n4 files:")[0])
    assert sorted((r["item"], r["asset"], r["status"]) for r in rows) == sorted(
        (f["id"], key, "fetched") for f in collection["features"] for key in ("red", "nir")
    )
    for feature in collection["features"]:
        for key in ("red", "nir"):
            path, source = served(local_world, feature["assets"][key]["href"])
            written = dest / feature["id"] / source.name
            assert sha256(written) == sha256(source)
            assert files.bytes_for(path) == source.stat().st_size
    assert "4 files: 4 fetched, 0 resumed, 0 skipped, 0 failed" in first.stdout

    files.reset()
    again = xstac(
        "download", "-", "--dest", str(dest), "--assets", "red", "nir", "no_such_key",
        stdin=found.read_text(), env=env,
    )  # fmt: skip
    assert again.returncode == 1, again.stdout + again.stderr  # a key the items lack failed
    assert "6 files: 0 fetched, 0 resumed, 4 skipped, 2 failed" in again.stdout
    assert again.stdout.count("has no asset 'no_such_key'; its assets are: ") == 2
    assert sum(files.bytes_for(served(local_world, f["assets"][k]["href"])[0])
               for f in collection["features"] for k in ("red", "nir")) <= 4  # fmt: skip


# -- info --------------------------------------------------------------------------------------


def test_info_json_lists_readers_sizes_and_the_maap_credential(local_world, maap_env):
    environ, token = maap_env
    item = replica_item(local_world, "BiomassLevel1a")
    proc = xstac("info", item_url(local_world, item), "--json", "--sizes", env=environ)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["item"]["id"] == item["id"] and info["item"]["collection"] == "BiomassLevel1a"
    assert sorted(a["key"] for a in info["assets"]) == sorted(item["assets"])
    readers = {"product": "zip", "thumbnail": "image", "quicklook_kml": "kml",
               "quicklook_png": "image", "enclosure_i_abs_tiff": "geotiff",
               "enclosure_i_phase_tiff": "geotiff"}  # fmt: skip
    for entry in info["assets"]:
        asset = item["assets"][entry["key"]]
        assert entry["media_type"] == asset["type"] and entry["roles"] == asset["roles"]
        assert entry["reader"] == readers[entry["key"]]
        assert entry["reader_reason"].startswith("media type")
        assert entry["size"] == served(local_world, asset["href"])[1].stat().st_size
        if entry["key"] in BIOMASS_DATA:  # the protected data: sized with the token
            assert entry["credential"]["summary"] == "maap: oidc-refresh-token (token ****)"
            assert entry["credential"]["pattern"] == f"{local_world.endpoints.http}/maap/data/*"
        else:
            assert entry["credential"] is None
    assert info["item"]["default_asset"] == {"dataset": None, "datatree": "product"}
    assert_no_secret(proc, token)


def test_info_text_shows_the_zarr_open_hints(local_world, env):
    item = replica_item(local_world, "eopf-sentinel-2-l2a-cpm-v256")
    proc = xstac("info", item_url(local_world, item), env=env)
    assert proc.returncode == 0, proc.stderr
    head, table, hints = proc.stdout.split("\n\n")
    assert head.splitlines()[0].startswith(f"item {item['id']}  (collection {item['collection']}")
    assert "open_datatree -> product" in head
    rows = {r["asset"]: r for r in parse_table(table)}
    assert sorted(rows) == sorted(item["assets"])
    assert rows["SR_10m"]["reader"] == "zarr (media type)"
    assert rows["product_metadata"]["reader"] == "none (JSON document)"
    assert all(r["media type"] == item["assets"][k]["type"] for k, r in rows.items())
    hint = item["assets"]["SR_10m"]["xarray:open_dataset_kwargs"]
    assert f"  SR_10m: xarray:open_dataset_kwargs = {json.dumps(hint)}" in hints
    alternate = item["assets"]["B04_10m"]["alternate"]["xarray"]["href"]
    assert f"  B04_10m: alternate xarray -> {alternate} " in hints


# -- open and quicklook ------------------------------------------------------------------------


def test_open_prints_the_lazy_repr_without_reading_data(local_world, files, env):
    item = replica_item(local_world, "sentinel-2-l2a")
    path, source = served(local_world, item["assets"]["red"]["href"])
    files.reset()
    proc = xstac("open", item_url(local_world, item), "--asset", "red", env=env)
    assert proc.returncode == 0, proc.stderr
    with rasterio.open(source) as src:
        height, width = src.height, src.width
    headline, _, rest = proc.stdout.partition("\n")
    assert headline.startswith(f"item_id {item['id']}; collection {item['collection']}; asset red")
    assert rest.startswith("<xarray.Dataset>")
    assert f"Dimensions:      (y: {height}, x: {width})" in proc.stdout
    assert re.search(r"^Data variables:\n    red +\(y, x\) ", proc.stdout, re.M), proc.stdout
    assert re.search(rf"^    stac_item_id: +{item['id']}$", proc.stdout, re.M)
    assert 0 < files.bytes_for(path) < source.stat().st_size / 10  # the header, not the pixels


def test_quicklook_writes_the_png_and_prints_kind_and_limits(local_world, maap_toml, env, tmp_path):
    config, token_file, token = maap_toml
    item = replica_item(local_world, "BiomassLevel1a")
    out = tmp_path / "sar.png"
    proc = xstac(
        "quicklook", item_url(local_world, item), "--asset", "enclosure_i_abs_tiff",
        "--max-size", "256", "-o", str(out), "--config", str(config), env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    fresh = local_world.oidc.offline_token("maap", "maap-user")
    creds = {"maap": {**maap_options(local_world), "offline_token": fresh}}
    ds = xr.open_dataset(item, engine="stacasset", asset="enclosure_i_abs_tiff", credentials=creds)
    expected = ds.eo.quicklook(max_size=256)
    width, height = (round(v) for v in expected.figure.get_size_inches() * expected.figure.dpi)
    with Image.open(out) as png:
        assert png.size == (width, height)
    wrote, kind, limits = proc.stdout.strip().splitlines()
    assert wrote == f"wrote {out} ({width}x{height} px)"
    rows, cols = expected.shape
    assert kind == f"kind sar: 4 panel(s) of {rows}x{cols} px read from the data as opened " \
        "(max size 256)"  # fmt: skip
    shown = dict(re.findall(r"(\w+) (-?[\d.]+ \.\. -?[\d.]+) dB", limits))
    assert list(shown) == ["HH", "HV", "VH", "VV"]
    for name, (lo, hi) in expected.limits.items():
        assert [float(v) for v in shown[name].split(" .. ")] == pytest.approx([lo, hi], rel=1e-5)
    assert_no_secret(proc, token, token_file.read_text().strip())


# -- auth --------------------------------------------------------------------------------------


def test_auth_masks_the_credential_and_test_reports_the_status(local_world, maap_toml, env):
    config, token_file, first_token = maap_toml
    item = replica_item(local_world, "BiomassLevel1a")
    url = item["assets"]["enclosure_i_abs_tiff"]["href"]
    before = token_file.read_text().strip()
    proc = xstac("--config", str(config), "auth", url, "--test", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == url
    assert "  credential   maap: oidc-refresh-token (token ****)" in lines
    assert f"  rule         {local_world.endpoints.http}/maap/data/*" in lines
    assert f"  token_file   {token_file}" in lines and f"  config file  {config}" in lines
    assert re.search(r"^  material     header Authorization, expires in \d+ s$", proc.stdout, re.M)
    assert lines[-1] == "  request      GET -> HTTP 200"
    after = token_file.read_text().strip()
    assert after != before  # the rotated refresh token was written back
    assert_no_secret(proc, first_token, before, after)

    refused = xstac("auth", url, "--test", env=env)  # no credential configured
    assert "  credential   none: requests go without one" in refused.stdout
    assert refused.stdout.splitlines()[-1] == "  request      GET -> HTTP 401"
    assert "refused access (HTTP 401)" in one_line_error(refused)


def test_auth_prints_its_rows_in_two_aligned_columns(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text(
        '[[rules]]\npattern = "https://data.example.org/*"\ntype = "bearer"\ntoken = "t0k3n"\n'
        'trusted_hosts = ["dl.example.org"]\nmax_connections = 2\n\n'
        '[[rules]]\npattern = "s3://bucket/*"\ntype = "s3"\nkey = "AKIA1"\nsecret = "s3cr3t"\n'
        'endpoint_url = "https://objects.example.org"\nrequester_pays = true\n'
    )
    assert main(["--config", str(config), "auth", "https://data.example.org/x.tif"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "https://data.example.org/x.tif",
        "  credential       config file: bearer (token ****)",
        "  rule             https://data.example.org/*",
        "  trusted_hosts    dl.example.org",
        "  max_connections  2",
        f"  config file      {config}",
    ]
    assert main(["--config", str(config), "auth", "s3://bucket/key.tif"]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    names = [row.split()[0] for row in rows]
    assert {"endpoint_url", "requester_pays"} <= set(names)
    column = len("  requester_pays  ")  # the longest name, two spaces, then every value
    assert all(row[column - 2 : column] == "  " and row[column] != " " for row in rows), rows
    assert "  endpoint_url    https://objects.example.org" in rows
    assert "t0k3n" not in str(rows) and "s3cr3t" not in str(rows) and "AKIA1" not in str(rows)


# -- errors ------------------------------------------------------------------------------------


def test_an_unknown_asset_is_one_line_and_debug_shows_the_traceback(local_world, env):
    item = replica_item(local_world, "sentinel-2-l2a")
    proc = xstac("open", item_url(local_world, item), "--asset", "no_such_band", env=env)
    line = one_line_error(proc)
    assert f"item {item['id']!r} has no asset 'no_such_band'; its assets are: " in line
    assert proc.stdout == ""
    debug = xstac("--debug", "info", item_url(local_world, item), "--asset", "nope", env=env)
    assert debug.returncode != 0 and debug.stdout == ""
    assert "Traceback (most recent call last)" in debug.stderr
    assert "xstac_access.errors.AssetKeyError: item" in debug.stderr


def test_an_unreachable_catalogue_names_its_host(capsys):
    port = free_port()
    assert main(["search", f"http://127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("xstac: error: cannot reach")
    assert f"127.0.0.1:{port}" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["search", "http://127.0.0.1:1", "--query", "{eo:cloud_cover: 1}"],
         "--query is not valid JSON (Expecting property name"),
        (["search", "http://127.0.0.1:1", "--query", "[1]"], "--query must be a JSON object"),
        (["search", "http://127.0.0.1:1", "--filter", "eo:cloud_cover <<< 1"],
         "is not valid CQL2 text"),
        (["search", "http://127.0.0.1:1", "--intersects", "/no/such/area.geojson"],
         "--intersects: cannot read /no/such/area.geojson"),
        (["open", ITEM_JSON, "--asset", "red", "--storage-options", "anon"],
         "--storage-options is not valid JSON"),
        (["info", ITEM_JSON, "--asset", "no_such_band"],
         "item '<id>' has no asset 'no_such_band'"),
        (["--config", "/no/such/config.toml", "auth", "https://example.org/x"],
         "--config: no file at /no/such/config.toml"),
    ],
    ids=["query-json", "query-object", "cql2", "intersects-file", "storage-options",
         "asset-key", "config-file"],
)  # fmt: skip
def test_bad_input_is_a_one_line_error_with_exit_code_2(argv, message, capsys, tmp_path):
    item = offline_item(earthsearch, "sentinel-2-l2a")
    item_json = tmp_path / "item.json"
    item_json.write_text(json.dumps(item))
    assert main([str(item_json) if arg == ITEM_JSON else arg for arg in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("xstac: error: ") and err.count("\n") == 1, err
    assert message.replace("<id>", item["id"]) in err


def test_a_descending_sort_key_is_not_taken_for_an_option(capsys):
    argv = ["search", "http://127.0.0.1:1", "--sortby", "-eo:cloud_cover", "--query", "{"]
    assert main(argv) == 2  # parsed: the JSON of --query is what fails
    assert "--query is not valid JSON" in capsys.readouterr().err


def test_debug_after_the_command_raises_the_error_itself():
    with pytest.raises(errors.XStacError, match="--query is not valid JSON"):
        main(["search", "http://127.0.0.1:1", "--query", "{", "--debug"])


@pytest.mark.parametrize(
    "argv",
    [[], ["search"], ["quicklook", "item.json"], ["download", "item.json"], ["nope"],
     ["search", "URL", "--format", "csv"], ["search", "URL", "--bbox", "1", "2", "3"]],
)  # fmt: skip
def test_usage_errors_exit_as_argparse_does(argv, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    assert "usage: xstac" in capsys.readouterr().err


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_with_examples(name, capsys):
    with pytest.raises(SystemExit) as stopped:
        main([name, "--help"])
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    examples = out.split("examples:\n", 1)[1]
    assert examples.startswith(f"  xstac {name}") or f"\n  xstac {name}" in examples, out
    assert "--config FILE" in out and "--debug" in out


def test_the_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(f"    {name} " in out for name in COMMANDS)


# -- credential descriptions (no server) -------------------------------------------------------


def test_credential_descriptions_name_the_secret_but_never_show_it():
    token, password, key, secret = "tok-0123456789", "pw-0123456789", "AKIA0123", "sk-0123456789"
    broker = Broker()
    broker.add("https://bearer.example/*", BearerToken(token), source="earthdata")
    broker.add(
        "https://cdse.example/*",
        OidcPassword("https://id.example/token", "cdse-public", username="me", password=password),
        source="cdse",
    )
    broker.add("s3://private/*", S3Credentials(key=key, secret=secret, endpoint_url="http://s3"))
    broker.add("s3://open/*", S3Credentials(anon=True), source="eopf")
    described = {
        href: credential_info(broker, href)
        for href in ("https://bearer.example/a", "https://cdse.example/b", "s3://private/c",
                     "s3://open/d", "https://nobody.example/e",
                     "https://catalog.maap.eo.esa.int/data/x.zip")
    }  # fmt: skip
    summaries = [d["summary"] if d else None for d in described.values()]
    assert summaries == [
        "earthdata: bearer (token ****)",
        "cdse: oidc-password (password ****)",
        "rule s3://private/*: s3 (keys ****, endpoint http://s3)",
        "eopf: s3 (anonymous)",
        None,
        "needs maap (not configured)",
    ]
    assert described["https://cdse.example/b"]["settings"]["username"] == "me"
    assert described["s3://private/c"]["settings"]["key"] == "****"
    text = json.dumps(described)
    assert not any(s in text for s in (token, password, key, secret))
