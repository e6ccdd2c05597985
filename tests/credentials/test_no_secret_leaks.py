"""No secret ever reaches a log, a repr, an error, a pickle or a written file.

Every credential flow runs for real against the local world (ESA MAAP offline token, CDSE
password grant behind a redirect, NASA Earthdata login with cookies, Planetary Computer SAS
signing), plus flows that fail on purpose, while every logger of the process records at DEBUG.
Afterwards the literal secret values (the long-lived ones the user configured and the short-lived
ones the servers handed out: access tokens, refresh tokens, the Earthdata session cookie, the
SAS signature) are searched for in everything a user, a log collector, a dask scheduler or a
colleague receiving a file could see. Each place that tools are known to have leaked through
(headers logged at DEBUG, ``CPL_CURL_VERBOSE``, tokens in query strings spreading into messages
and encodings, secrets pickled into task graphs) is covered.
"""

from __future__ import annotations

import copy
import logging
import pickle
import traceback
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import xarray as xr

from xstac_access import credentials, errors
from xstac_access.credentials import Access, Broker, Material, Provider, Secret
from xstac_access.http import fetch, fetch_json
from xstac_access.readers._gdal import clear_vsicurl_cache

MAAP_COLLECTION = "BiomassLevel1a"
MAAP_ASSET = "enclosure_i_abs_tiff"
MAAP_SECRET = "offline-token-public-secret"  # the local MAAP client's (public) client secret
CDSE_PASSWORD = "cdse-pass"
EDL_PASSWORD = "edl-pass"
WRONG_CDSE_PASSWORD = "not-the-cdse-password"
WRONG_EDL_PASSWORD = "not-the-edl-password"
GARBAGE_OFFLINE_TOKEN = "garbage-offline-token-0123456789"


# -- helpers --------------------------------------------------------------------------------


class _Recorder(logging.Handler):
    """Keeps every record's fully formatted text (message, arguments, traceback, stack)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []
        self.names: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        self.names.add(record.name)
        self.lines.append(self.format(record))
        if record.exc_text:
            self.lines.append(record.exc_text)


@dataclass
class Capture:
    """What the flows produced: the secrets to look for and every place to look in."""

    secrets: dict[str, str] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    log_lines: list[str] = field(default_factory=list)
    loggers: set[str] = field(default_factory=set)
    failures: dict[str, BaseException] = field(default_factory=dict)

    def secret(self, name: str, value: str) -> None:
        assert value, f"the flow produced no {name}: the test would prove nothing"
        self.secrets[name] = value

    def text(self, place: str, value: Any) -> None:
        self.texts[place] = value if isinstance(value, str) else repr(value)


def leaks(secrets: dict[str, str], places: dict[str, str | bytes]) -> list[str]:
    """``"<secret name> in <place>"`` for every secret found; never the secret itself."""
    found = []
    for place, content in places.items():
        data = content.encode("utf-8", "surrogateescape") if isinstance(content, str) else content
        for name, value in secrets.items():
            if value.encode() in data:
                found.append(f"{name} in {place}")
    return found


@contextmanager
def everything_logged_at_debug() -> Iterator[_Recorder]:
    """Record every logger's DEBUG output at the root, as a user debugging a problem would."""
    recorder = _Recorder()
    root = logging.getLogger()
    manager = logging.Logger.manager
    saved = {
        name: logger.level
        for name, logger in manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    saved_root, saved_disable = root.level, manager.disable
    logging.disable(logging.NOTSET)
    for name in saved:
        logging.getLogger(name).setLevel(logging.DEBUG)
    root.setLevel(logging.DEBUG)
    root.addHandler(recorder)
    try:
        yield recorder
    finally:
        root.removeHandler(recorder)
        root.setLevel(saved_root)
        logging.disable(saved_disable)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def items_of(world: Any, collection: str) -> list[dict[str, Any]]:
    """The items of ``collection`` as the STAC API serves them, by id.

    Fetched rather than taken from ``world.replica.items``: those dicts are shared by the whole
    session and another test changing one in place must not change what is tested here.
    """
    ids = sorted(i["id"] for i in world.replica.items if i["collection"] == collection)
    base = f"{world.endpoints.stac}/collections/{collection}/items"
    return [fetch_json(f"{base}/{item_id}", broker=Broker(), what="replica item")
            for item_id in ids]  # fmt: skip


def pristine_file_server(world: Any) -> None:
    """The file server as the replica configured it: no test's faults, redirects or rules."""
    world.files.set_config(copy.deepcopy(world.replica.server_config))
    world.files.clear_faults()


def public_tif(world: Any) -> str:
    """A GeoTIFF on the local file server that needs no credential (Earth Search's COGs)."""
    hrefs = (a["href"] for i in items_of(world, "sentinel-2-l2a") for a in i["assets"].values())
    return next(h for h in hrefs if h.startswith(world.endpoints.http) and h.endswith(".tif"))


def describe_dataset(capture: Capture, label: str, ds: xr.Dataset) -> None:
    """Every user-visible rendering of a dataset and its variables."""
    capture.text(f"repr({label})", repr(ds))
    capture.text(f"str({label})", str(ds))
    capture.text(f"{label}._repr_html_()", ds._repr_html_())
    capture.text(f"{label}.attrs", ds.attrs)
    capture.text(f"{label}.encoding", ds.encoding)
    for name, var in ds.variables.items():
        capture.text(f"repr({label}[{name!r}])", repr(ds[name]))
        capture.text(f"{label}[{name!r}].variable", repr(var))
        capture.text(f"{label}[{name!r}].encoding", var.encoding)
        capture.text(f"{label}[{name!r}].attrs", var.attrs)


def describe_error(capture: Capture, label: str, exc: BaseException) -> None:
    """An exception as a user, a traceback printer or an error reporter would show it."""
    capture.failures[label] = exc
    capture.text(f"str({label})", str(exc))
    capture.text(f"repr({label})", repr(exc))
    capture.text(f"{label}.args", exc.args)
    capture.text(f"{label}.__dict__", vars(exc))
    capture.text(f"traceback of {label}", "".join(traceback.format_exception(exc)))
    context, depth = exc.__context__ or exc.__cause__, 0
    while context is not None and depth < 5:  # suppressed contexts still reach debuggers
        capture.text(f"context {depth} of {label}", "".join(traceback.format_exception(context)))
        context, depth = context.__context__ or context.__cause__, depth + 1


def describe_credential(capture: Capture, label: str, broker: Broker, href: str) -> Access:
    """Broker, provider, Access and Material as their reprs show them; the Access, pickled."""
    provider = broker.provider_for(href)
    assert provider is not None, f"no provider for the {label} href"
    access = broker.access(href)
    capture.text(f"repr({label} broker)", repr(broker))
    capture.text(f"str({label} broker)", str(broker))
    capture.text(f"{label} broker.describe()", broker.describe(href))
    capture.text(f"repr({label} provider)", repr(provider))
    capture.text(f"vars({label} provider)", vars(provider))
    capture.text(f"{label} provider.public_config()", provider.public_config())
    capture.text(f"repr({label} Access)", repr(access))
    capture.text(f"repr({label} Material)", repr(access.material()))
    capture.blobs[f"pickle of the {label} Access"] = pickle.dumps(access)
    return access


def pickles_of(capture: Capture, label: str, ds: xr.Dataset, variable: str) -> None:
    capture.blobs[f"pickle of {label}"] = pickle.dumps(ds)
    capture.blobs[f"pickle of {label}[{variable!r}]"] = pickle.dumps(ds[variable])


def written_netcdf(capture: Capture, label: str, ds: xr.Dataset, path: Path) -> None:
    """Load ``ds`` and write it as netCDF (attributes and all); keep the file's bytes."""
    loaded = ds.load()
    for var in loaded.variables.values():
        var.encoding = {}  # reader encodings (preferred_chunks, overviews) are not netCDF's
    loaded.attrs = {k: v for k, v in loaded.attrs.items() if not isinstance(v, list | dict)}
    loaded.to_netcdf(path, engine="scipy")  # netCDF3: the writer this venv has
    capture.blobs[f"netCDF file written from {label}"] = path.read_bytes()


def exercise(
    capture: Capture, label: str, item: dict[str, Any], asset: str, creds: Any, netcdf: Path
) -> tuple[xr.Dataset, Broker]:
    """Open ``asset`` lazily and with ``chunks={}``, then describe, pickle and write it."""
    lazy = xr.open_dataset(item, engine="stacasset", asset=asset, credentials=creds)
    chunked = xr.open_dataset(item, engine="stacasset", asset=asset, credentials=creds, chunks={})
    name = next(iter(lazy.data_vars))
    for suffix, ds in (("", lazy), (" (chunks={})", chunked)):
        describe_dataset(capture, f"{label} dataset{suffix}", ds)
        pickles_of(capture, f"the {label} dataset{suffix}", ds, name)
    written_netcdf(capture, f"the {label} dataset", lazy, netcdf)
    broker = credentials.broker_from(creds)
    describe_credential(capture, label, broker, item["assets"][asset]["href"])
    return chunked, broker


# -- the flows ------------------------------------------------------------------------------


def _maap(world: Any, capture: Capture, tmp: Path) -> None:
    e = world.endpoints
    item = items_of(world, MAAP_COLLECTION)[0]
    href = item["assets"][MAAP_ASSET]["href"]
    offline = world.oidc.offline_token("maap", "maap-user")
    capture.secret("MAAP offline token", offline)
    creds = {
        "maap": {
            "offline_token": offline,
            "token_url": f"{e.oidc}/realms/maap/protocol/openid-connect/token",
            "client_secret": MAAP_SECRET,
            "hosts": [f"{e.http}/maap/data/*"],
        }
    }
    chunked, broker = exercise(capture, "MAAP", item, MAAP_ASSET, creds, tmp / "maap.nc")
    assert float(chunked["HH"][:64, :64].mean().compute()) > 0  # GDAL reads in dask threads
    provider = broker.provider_for(href)
    assert provider.grants.get("refresh_token", 0) >= 1
    capture.secret(
        "MAAP access token", provider._material.headers["Authorization"].reveal().split()[-1]
    )
    capture.secret("MAAP current refresh token", provider._refresh_token.reveal())


def cdse_options(e: Any, password: str) -> dict[str, Any]:
    """The CDSE preset pointed at the local token server and OData/download hosts."""
    return {
        "username": "cdse-user",
        "password": password,
        "token_url": f"{e.oidc}/realms/cdse/protocol/openid-connect/token",
        "hosts": [f"{e.http}/cdse/odata/*"],
        "trusted_hosts": [e.http_alt.split("://")[1]],
    }


def _cdse(world: Any, capture: Capture) -> None:
    e = world.endpoints
    item = items_of(world, "cdse-sentinel-2-l2a")[0]
    href = item["assets"]["PRODUCT"]["href"]
    capture.secret("CDSE password", CDSE_PASSWORD)
    broker = credentials.broker_from({"cdse": cdse_options(e, CDSE_PASSWORD)})
    assert fetch(href, byte_range=(0, 100), broker=broker)[:4] == b"PK\x03\x04"  # via redirect
    describe_credential(capture, "CDSE", broker, href)
    provider = broker.provider_for(href)
    capture.secret(
        "CDSE access token", provider._material.headers["Authorization"].reveal().split()[-1]
    )
    capture.secret("CDSE refresh token", provider._refresh_token.reveal())


def _earthdata(world: Any, capture: Capture, tmp: Path) -> None:
    e = world.endpoints
    item = items_of(world, "HLSS30_2.0")[0]
    href = item["assets"]["B04"]["href"]
    capture.secret("Earthdata password", EDL_PASSWORD)
    creds = {
        "earthdata": {
            "username": "edl-user",
            "password": EDL_PASSWORD,
            "login_host": e.http_alt.split("://")[1],
            "hosts": [f"{e.http}/hls/protected/*"],
        }
    }
    _, broker = exercise(capture, "Earthdata", item, "B04", creds, tmp / "hls.nc")
    provider = broker.provider_for(href)
    assert provider.logins >= 1
    sessions = [
        value.reveal()
        for jar in provider._cookies.values()
        for cookie, value in jar.items()
        if cookie == "edl_session"
    ]
    assert sessions, "the login flow kept no edl_session cookie"
    for index, value in enumerate(sessions):
        capture.secret(f"Earthdata edl_session cookie {index}", value)


def _sas(world: Any, capture: Capture, tmp: Path) -> None:
    e = world.endpoints
    item = next(i for i in items_of(world, "pc-sentinel-2-l2a") if "B04" in i["assets"])
    signer = credentials.SasSigner(
        e.http + "/sas/token/{account}/{container}",
        account="sentinel2l2a01",
        container="sentinel2-l2",
    )
    creds = {"rules": [(f"{e.http}/pc/*", signer)]}
    exercise(capture, "SAS", item, "B04", creds, tmp / "pc.nc")
    assert signer.requests >= 1
    for scope, material in signer._tokens.items():
        capture.secret(f"SAS sig= value ({scope})", parse_qs(material.query.reveal())["sig"][0])


def _failures(world: Any, capture: Capture) -> None:
    """Wrong password, garbage refresh token: typed AuthErrors, kept for inspection."""
    e = world.endpoints
    capture.secret("garbage MAAP offline token", GARBAGE_OFFLINE_TOKEN)
    capture.secret("wrong CDSE password", WRONG_CDSE_PASSWORD)
    capture.secret("wrong Earthdata password", WRONG_EDL_PASSWORD)

    item = items_of(world, MAAP_COLLECTION)[0]
    maap = {
        "offline_token": GARBAGE_OFFLINE_TOKEN,
        "token_url": f"{e.oidc}/realms/maap/protocol/openid-connect/token",
        "client_secret": MAAP_SECRET,
        "hosts": [f"{e.http}/maap/data/*"],
    }
    with pytest.raises(errors.AuthError) as raised:
        xr.open_dataset(item, engine="stacasset", asset=MAAP_ASSET, credentials={"maap": maap})
    describe_error(capture, "the garbage-offline-token error", raised.value)

    cdse_item = items_of(world, "cdse-sentinel-2-l2a")[0]
    broker = credentials.broker_from({"cdse": cdse_options(e, WRONG_CDSE_PASSWORD)})
    with pytest.raises(errors.AuthError) as raised:
        fetch(cdse_item["assets"]["PRODUCT"]["href"], byte_range=(0, 100), broker=broker)
    describe_error(capture, "the wrong-CDSE-password error", raised.value)

    hls = items_of(world, "HLSS30_2.0")[0]
    earthdata = {
        "username": "edl-user",
        "password": WRONG_EDL_PASSWORD,
        "login_host": e.http_alt.split("://")[1],
        "hosts": [f"{e.http}/hls/protected/*"],
    }
    with pytest.raises(errors.AuthError) as raised:
        xr.open_dataset(hls, engine="stacasset", asset="B04", credentials={"earthdata": earthdata})
    describe_error(capture, "the wrong-Earthdata-password error", raised.value)


@pytest.fixture(scope="module")
def capture(local_world: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Capture]:
    """Run every flow once with everything logged at DEBUG; what they left behind."""
    tmp = tmp_path_factory.mktemp("no-secret-leaks")
    pristine_file_server(local_world)
    clear_vsicurl_cache()
    result = Capture()
    with pytest.MonkeyPatch.context() as mp:
        for name in ("XSTAC_CONFIG", "NETRC"):
            mp.setenv(name, str(tmp / f"absent-{name.lower()}"))
        credentials.reset()
        with everything_logged_at_debug() as recorder:
            _maap(local_world, result, tmp)
            _cdse(local_world, result)
            _earthdata(local_world, result, tmp)
            _sas(local_world, result, tmp)
            _failures(local_world, result)
        credentials.reset()
    result.log_lines, result.loggers = recorder.lines, recorder.names
    yield result
    clear_vsicurl_cache()  # what was read with credentials must not serve later tests' opens


# -- the searches ---------------------------------------------------------------------------


def test_the_flows_logged_and_are_searched_for_every_kind_of_secret(capture: Capture) -> None:
    """The search is not vacuous: libraries did log at DEBUG and every secret was found."""
    assert {"urllib3.connectionpool", "rasterio.env"} <= capture.loggers
    assert any(name.startswith("xstac_access") for name in capture.loggers)
    assert len(capture.log_lines) > 50
    kinds = ("offline token", "access token", "refresh token", "password", "edl_session", "sig=")
    for kind in kinds:
        assert any(kind in name for name in capture.secrets), kind
    assert all(len(value) >= 8 for value in capture.secrets.values())


def test_no_secret_in_any_log_record(capture: Capture) -> None:
    places = {f"log line {i}": line for i, line in enumerate(capture.log_lines)}
    found = leaks(capture.secrets, places)
    where = [capture.log_lines[int(f.rsplit(" ", 1)[1])].split(" ", 2)[:2] for f in found]
    assert found == [], f"logged by (logger, level): {where}"


def test_no_secret_in_dataset_variable_encoding_or_attrs_reprs(capture: Capture) -> None:
    shown = {k: v for k, v in capture.texts.items() if "dataset" in k}
    assert len(shown) > 20
    assert leaks(capture.secrets, shown) == []


def test_no_secret_in_broker_provider_access_or_material_reprs(capture: Capture) -> None:
    shown = {k: v for k, v in capture.texts.items() if "dataset" not in k and "error" not in k}
    assert len(shown) >= 4 * 8
    assert leaks(capture.secrets, shown) == []


def test_failing_flows_raise_auth_errors_that_name_no_secret(capture: Capture) -> None:
    assert set(capture.failures) == {
        "the garbage-offline-token error",
        "the wrong-CDSE-password error",
        "the wrong-Earthdata-password error",
    }
    for exc in capture.failures.values():
        assert isinstance(exc, errors.AuthError)
        assert exc.host  # the message names where it failed, if not what with
    shown = {k: v for k, v in capture.texts.items() if "error" in k}
    assert leaks(capture.secrets, shown) == []


def test_no_secret_in_pickled_datasets_variables_or_access_handles(capture: Capture) -> None:
    pickled = {k: v for k, v in capture.blobs.items() if k.startswith("pickle")}
    assert len(pickled) == 6 * 2 + 4  # 6 datasets x (dataset, variable) + 4 Access handles
    assert leaks(capture.secrets, pickled) == []


def test_pickled_dataset_still_opens_and_reads_in_this_process(local_world: Any) -> None:
    """The secret-free pickle is not secret-free by being useless: it reads after a round trip."""
    e = local_world.endpoints
    item = items_of(local_world, MAAP_COLLECTION)[0]
    creds = {
        "maap": {
            "offline_token": local_world.oidc.offline_token("maap", "maap-user"),
            "token_url": f"{e.oidc}/realms/maap/protocol/openid-connect/token",
            "client_secret": MAAP_SECRET,
            "hosts": [f"{e.http}/maap/data/*"],
        }
    }
    ds = xr.open_dataset(item, engine="stacasset", asset=MAAP_ASSET, credentials=creds, chunks={})
    again = pickle.loads(pickle.dumps(ds))
    assert float(again["HH"][:32, :32].mean().compute()) == float(ds["HH"][:32, :32].mean())


def test_no_secret_in_written_netcdf_files(capture: Capture) -> None:
    files = {k: v for k, v in capture.blobs.items() if k.startswith("netCDF")}
    assert len(files) == 3 and all(len(v) > 10_000 for v in files.values())
    assert leaks(capture.secrets, files) == []


# -- the guards themselves ------------------------------------------------------------------


def test_brokers_providers_secrets_and_material_refuse_pickling() -> None:
    provider = credentials.BearerToken("a-bearer-token-never-pickled")
    broker = Broker().add("https://data.example.org/*", provider)
    material = provider.material("https://data.example.org/x.tif")
    for thing in (broker, provider, Secret("a-secret-never-pickled"), material):
        with pytest.raises(TypeError):
            pickle.dumps(thing)
    for kind in (credentials.OidcPassword, credentials.OidcRefreshToken):
        assert issubclass(kind, Provider)


def test_secret_is_masked_in_every_rendering() -> None:
    value = "s3cr3t-value-to-mask"
    secret = Secret(value)
    renderings = (
        repr(secret), str(secret), f"{secret}", f"{secret!r}", f"{secret:>40}",
        format(secret), repr([secret]), repr({"token": secret}),
    )  # fmt: skip
    for shown in renderings:
        assert value not in shown
        assert "***" in shown
    assert secret.reveal() == value
    assert isinstance(Material.build(query=secret), Material)


def test_redacting_filter_masks_a_registered_secret_logged_by_third_party_code(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import xstac_access  # noqa: F401  (importing the library installs its filters)

    token = "registered-token-" + "x7" * 10
    Secret(token)  # registration: the library wraps every token it reads
    caplog.set_level(logging.DEBUG)
    logging.getLogger("urllib3.connectionpool").debug(
        'http://127.0.0.1 "GET /pc/b04.tif?%s HTTP/1.1" 200 1024', token
    )
    logging.getLogger("urllib3.connectionpool").debug("Authorization: Bearer " + token)
    assert len(caplog.records) == 2
    assert token not in caplog.text
    assert caplog.text.count("***") == 2


def test_a_filter_attached_to_any_logger_masks_messages_args_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = "another-registered-" + "q9" * 10
    Secret(token)
    logger = logging.getLogger("some.thirdparty.client")
    logger.addFilter(credentials.RedactingFilter())
    caplog.set_level(logging.DEBUG)
    try:
        raise RuntimeError(f"server said: bad token {token}")
    except RuntimeError:
        logger.exception("request with %s failed", {"Authorization": f"Bearer {token}"})
    assert token not in caplog.text
    assert "***" in caplog.text


# -- GDAL's curl trace --------------------------------------------------------------------------


def test_cpl_curl_verbose_in_the_environment_does_not_print_the_token(
    local_world: Any, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """A user debugging with ``CPL_CURL_VERBOSE=YES`` gets no Authorization header on stderr."""
    import rasterio

    e = local_world.endpoints
    monkeypatch.setenv("CPL_CURL_VERBOSE", "YES")
    item = items_of(local_world, MAAP_COLLECTION)[0]
    public = public_tif(local_world)

    # Control: the trace does reach this process's stderr, headers and all, when not prevented.
    control = "control-header-value-" + "z5" * 8
    with (
        rasterio.Env(GDAL_HTTP_HEADERS=f"X-Control: {control}"),
        rasterio.open(f"/vsicurl/{public}?control=1") as src,
    ):
        src.read(1, window=((0, 1), (0, 1)))
    trace = capfd.readouterr()
    assert control in trace.err, "GDAL's curl trace was not captured: the check would be vacuous"

    offline = local_world.oidc.offline_token("maap", "maap-user")
    creds = {
        "maap": {
            "offline_token": offline,
            "token_url": f"{e.oidc}/realms/maap/protocol/openid-connect/token",
            "client_secret": MAAP_SECRET,
            "hosts": [f"{e.http}/maap/data/*"],
        }
    }
    href = item["assets"][MAAP_ASSET]["href"]
    clear_vsicurl_cache(f"/vsicurl/{href}")  # earlier tests' reads must not be served cached
    local_world.files.reset()
    ds = xr.open_dataset(item, engine="stacasset", asset=MAAP_ASSET, credentials=creds)
    assert float(ds["HH"][:128, :128].mean()) > 0
    chunked = xr.open_dataset(
        item, engine="stacasset", asset=MAAP_ASSET, credentials=creds, chunks={}
    )
    assert float(chunked["VV"][:128, :128].mean().compute()) > 0
    sent = [r for r in local_world.files.stats()["log"] if r["path"].startswith("/maap/data/")]
    assert any(r["authorization"] for r in sent), "GDAL made no authenticated request"

    provider = credentials.broker_from(creds).provider_for(href)
    access_token = provider._material.headers["Authorization"].reveal().split()[-1]
    out = capfd.readouterr()
    for name, value in (("access token", access_token), ("offline token", offline)):
        assert value not in out.err, f"the MAAP {name} was printed to stderr"
        assert value not in out.out, f"the MAAP {name} was printed to stdout"


def test_data_read_with_a_credential_is_not_served_to_an_open_without_one(
    local_world: Any,
) -> None:
    """GDAL's block cache is per process and keyed by URL: it must not bypass the server."""
    e = local_world.endpoints
    item = items_of(local_world, MAAP_COLLECTION)[0]
    clear_vsicurl_cache()
    creds = {
        "maap": {
            "offline_token": local_world.oidc.offline_token("maap", "maap-user"),
            "token_url": f"{e.oidc}/realms/maap/protocol/openid-connect/token",
            "client_secret": MAAP_SECRET,
            "hosts": [f"{e.http}/maap/data/*"],
        }
    }

    def anonymous_read() -> None:
        anonymous = xr.open_dataset(item, engine="stacasset", asset=MAAP_ASSET)
        anonymous["HH"].values  # noqa: B018 (the read is the point)

    try:
        ds = xr.open_dataset(item, engine="stacasset", asset=MAAP_ASSET, credentials=creds)
        assert ds["HH"].values.shape == (512, 384)
        # In a thread of its own: whatever it opens dies with the thread's dataset cache.
        with ThreadPoolExecutor(max_workers=1) as pool:
            attempt = pool.submit(anonymous_read)
            with pytest.raises(errors.AuthError):
                attempt.result()
    finally:
        clear_vsicurl_cache()
