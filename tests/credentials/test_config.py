"""Broker configuration: presets three ways with the same result, rules, precedence, patterns."""

from __future__ import annotations

import pytest

from xstac_access import credentials, errors
from xstac_access.credentials import (
    BearerToken,
    Broker,
    EarthdataLogin,
    OidcPassword,
    OidcRefreshToken,
    S3Credentials,
    SasSigner,
)
from xstac_access.credentials.broker import build_broker

MAAP_DATA = "https://catalog.maap.eo.esa.int/data/biomass-pdgs-01/x/y_i_abs.tiff"
CDSE_ODATA = "https://download.dataspace.copernicus.eu/odata/v1/Products(abc)/$value"


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No user config, netrc or XSTAC_ variables leak in; code config reset around each test."""
    for name in list(__import__("os").environ):
        if name.startswith("XSTAC_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XSTAC_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("NETRC", str(tmp_path / "absent-netrc"))
    credentials.reset()
    yield
    credentials.reset()


def test_without_configuration_secret_presets_stay_off_and_public_ones_are_on():
    broker = credentials.get_broker()
    assert broker.provider_for(MAAP_DATA) is None
    assert broker.provider_for(CDSE_ODATA) is None
    eopf = broker.provider_for("s3://e05ab01a9d56408d82ac32d69a5aae2a:202511-s02msil2a-eu/x.zarr")
    assert isinstance(eopf, S3Credentials)
    assert eopf.public_options() == {
        "anon": True,
        "client_kwargs": {"endpoint_url": "https://objects.eodc.eu"},
    }
    pays = broker.provider_for("s3://sentinel-s1-l1c/GRD/2025/7/31/IW/SH/x/measurement/iw-hh.tiff")
    assert pays.public_options()["requester_pays"] is True
    assert isinstance(
        broker.provider_for("https://acct.blob.core.windows.net/c/B04.tif"), SasSigner
    )
    assert broker.provider_for("https://earth-search.aws.element84.com/v1") is None


def test_maap_preset_from_code_env_and_toml_is_the_same_provider(monkeypatch, tmp_path):
    token_file = tmp_path / "maap-token.txt"
    token_file.write_text("offline-token-value-123\n")
    from_code = credentials.configure(maap={"offline_token_file": str(token_file)})
    provider = from_code.provider_for(MAAP_DATA)
    assert isinstance(provider, OidcRefreshToken)
    assert provider.client_id == "offline-token"
    assert provider.token_url.startswith("https://iam.maap.eo.esa.int/realms/esa-maap/")
    assert provider._refresh_token.reveal() == "offline-token-value-123"
    credentials.reset()
    monkeypatch.setenv("XSTAC_MAAP_OFFLINE_TOKEN_FILE", str(token_file))
    from_env = credentials.get_broker().provider_for(MAAP_DATA)
    credentials.reset()
    monkeypatch.delenv("XSTAC_MAAP_OFFLINE_TOKEN_FILE")
    config = tmp_path / "config.toml"
    config.write_text(f'[maap]\noffline_token_file = "{token_file}"\n')
    monkeypatch.setenv("XSTAC_CONFIG", str(config))
    from_toml = credentials.get_broker().provider_for(MAAP_DATA)
    assert provider.id == from_env.id == from_toml.id
    assert provider.public_config() == from_env.public_config() == from_toml.public_config()


def test_cdse_preset_trusts_its_download_hosts(monkeypatch):
    monkeypatch.setenv("XSTAC_CDSE_USERNAME", "me@example.org")
    monkeypatch.setenv("XSTAC_CDSE_PASSWORD", "pw-from-env")
    provider = credentials.get_broker().provider_for(CDSE_ODATA)
    assert isinstance(provider, OidcPassword)
    assert provider.client_id == "cdse-public" and provider.username == "me@example.org"
    assert provider.trusts("https://zipper.dataspace.copernicus.eu/download/x")
    assert not provider.trusts("https://evil.example.com/x")
    assert "pw-from-env" not in repr(provider)


def test_precedence_is_code_over_environment_over_file(monkeypatch, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[cdse]\nusername = "from-file"\npassword = "p1"\n')
    monkeypatch.setenv("XSTAC_CONFIG", str(config))
    assert credentials.get_broker().provider_for(CDSE_ODATA).username == "from-file"
    credentials.reset()
    monkeypatch.setenv("XSTAC_CDSE_USERNAME", "from-env")
    assert credentials.get_broker().provider_for(CDSE_ODATA).username == "from-env"
    broker = credentials.configure(cdse={"username": "from-code"})
    assert broker.provider_for(CDSE_ODATA).username == "from-code"


def test_earthdata_from_netrc_or_token(monkeypatch, tmp_path):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine urs.earthdata.nasa.gov login edl-me password edl-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    href = "https://data.lpdaac.earthdatacloud.nasa.gov/lp-prod-protected/HLSS30.020/x.tif"
    provider = credentials.get_broker().provider_for(href)
    assert isinstance(provider, EarthdataLogin) and provider.username == "edl-me"
    assert provider.basic_header(href) == {}  # Basic goes to the login host only
    assert provider.basic_header("https://urs.earthdata.nasa.gov/oauth/authorize")
    token = credentials.configure(earthdata={"token": "edl-token-xyz"}).provider_for(href)
    assert isinstance(token, BearerToken)


def test_earthdata_reads_an_underscore_netrc_when_there_is_no_dot_netrc(monkeypatch, tmp_path):
    """Windows users (curl, Earthdata's instructions) name the file ``_netrc``."""
    monkeypatch.delenv("NETRC")
    monkeypatch.setenv("HOME", str(tmp_path))
    netrc = tmp_path / "_netrc"
    netrc.write_text("machine urs.earthdata.nasa.gov login edl-win password edl-secret\n")
    netrc.chmod(0o600)
    href = "https://data.lpdaac.earthdatacloud.nasa.gov/lp-prod-protected/HLSS30.020/x.tif"
    provider = credentials.get_broker().provider_for(href)
    assert isinstance(provider, EarthdataLogin) and provider.username == "edl-win"
    (tmp_path / ".netrc").write_text("machine other.example.org login x password y\n")
    with pytest.raises(errors.ResolveError, match=r"\.netrc has no entry for urs"):
        EarthdataLogin()  # both there: ~/.netrc is the one read, as before


def test_the_config_file_stays_where_linux_users_have_it(monkeypatch, tmp_path):
    """platformdirs gives the path computed by hand before: existing files are still found."""
    monkeypatch.delenv("XSTAC_CONFIG")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    assert credentials.config_path() == tmp_path / ".config" / "xstac-access" / "config.toml"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert credentials.config_path() == tmp_path / "xdg" / "xstac-access" / "config.toml"
    monkeypatch.setenv("XSTAC_CONFIG", "~/elsewhere.toml")
    assert credentials.config_path() == tmp_path / "elsewhere.toml"


def test_custom_rules_come_first_from_code_and_file(monkeypatch, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(
        '[[rules]]\npattern = "https://data.example.org/*"\ntype = "bearer"\ntoken = "t-file"\n'
        '[[rules]]\npattern = "*.blob.core.windows.net"\ntype = "anonymous"\n'
    )
    monkeypatch.setenv("XSTAC_CONFIG", str(config))
    code_provider = BearerToken("t-code")
    broker = credentials.configure(rules=[("https://data.example.org/special/*", code_provider)])
    assert broker.provider_for("https://data.example.org/special/a.tif") is code_provider
    assert broker.provider_for("https://data.example.org/other/a.tif").kind == "bearer"
    blob = broker.provider_for("https://acct.blob.core.windows.net/c/B04.tif")
    assert blob.kind == "anonymous"  # the file's rule wins over the built-in SAS preset


def test_patterns_match_scheme_host_port_and_path():
    broker = Broker()
    broker.add("http://127.0.0.1:8001/maap/data/*", BearerToken("a"))
    broker.add("*.eodc.eu", BearerToken("b"))
    broker.add("s3://bucket/*", S3Credentials(anon=True))
    assert broker.provider_for("http://127.0.0.1:8001/maap/data/x.tif") is not None
    assert broker.provider_for("http://127.0.0.1:8002/maap/data/x.tif") is None  # other port
    assert broker.provider_for("http://127.0.0.1:8001/maap/browse/x.png") is None
    assert broker.provider_for("https://objects.eodc.eu:443/t:b/x.zarr").kind == "bearer"
    assert broker.provider_for("s3://bucket/key").kind == "s3"
    assert broker.provider_for("s3://other/key") is None


def test_configuration_errors_are_typed_and_helpful(monkeypatch, tmp_path):
    with pytest.raises(errors.ResolveError, match="unknown credential preset"):
        credentials.configure(mapp={"offline_token": "x"})
    with pytest.raises(errors.ResolveError, match="cannot read the token file"):
        credentials.configure(maap={"offline_token_file": str(tmp_path / "missing.txt")})
    config = tmp_path / "config.toml"
    config.write_text('[[rules]]\npattern = "x"\ntype = "kerberos"\n')
    monkeypatch.setenv("XSTAC_CONFIG", str(config))
    credentials.reset()
    with pytest.raises(errors.ResolveError, match="types: anonymous, bearer"):
        credentials.get_broker()


def test_a_preset_can_be_switched_off():
    broker = credentials.configure(planetary_computer=False)
    assert broker.provider_for("https://acct.blob.core.windows.net/c/B04.tif") is None


def test_a_preset_given_true_is_on_with_its_own_options():
    # True was allowed by configure's signature, yet failed: "'bool' object is not iterable"
    on = credentials.configure(planetary_computer=True)
    assert on.provider_for("https://acct.blob.core.windows.net/c/B04.tif") is not None
    per_call = credentials.broker_from({"planetary_computer": True})
    assert per_call.provider_for("https://acct.blob.core.windows.net/c/B04.tif") is not None


def test_per_call_credentials_are_cached_by_content():
    first = credentials.broker_from({"cdse": {"username": "u", "password": "p"}})
    again = credentials.broker_from({"cdse": {"username": "u", "password": "p"}})
    other = credentials.broker_from({"cdse": {"username": "u", "password": "q"}})
    assert first is again and first is not other
    assert build_broker({}, []).provider_for(CDSE_ODATA) is None
