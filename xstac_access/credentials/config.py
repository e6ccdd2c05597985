"""What the configuration says, three ways with one meaning: code, environment, a TOML file.

Presets know the five systems (hosts, token endpoints, client ids, redirect hosts), so users
supply only their own secret. Options of a preset come from, lowest to highest precedence: the
preset's defaults, the TOML file (``[maap]``), environment variables
(``XSTAC_MAAP_OFFLINE_TOKEN``: ``XSTAC_<PRESET>_<OPTION>``; lists comma-separated), and
:func:`~.broker.configure` in code. Custom rules (``[[rules]]`` in TOML, ``rules=`` in code) come
before the presets. Every preset and rule takes ``max_connections``: how many requests made with
its credential may be in flight at once in this process (:mod:`xstac_access.http.limits`; CDSE:
4). The TOML file is ``$XSTAC_CONFIG``, else ``config.toml`` in the platform's config directory
(``~/.config/xstac-access`` on Linux).

This module reads the configuration into :class:`~.rules.Rule` values
(:func:`configured_rules`) and says what to configure for an href (:func:`advice`); the broker
built from those rules, and the process's own one, are :mod:`.broker`'s.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from .. import errors
from .._hrefs import host_of, scheme_of
from . import earthdata_s3
from .earthdata import LOGIN_HOST, EarthdataLogin
from .oidc import OidcPassword, OidcRefreshToken
from .providers import (
    Anonymous,
    BearerToken,
    Provider,
    S3Credentials,
    SasSigner,
    connection_limit,
)
from .rules import BrokerOfOne, Rule, pattern_matches


@dataclass(frozen=True)
class Preset:
    """A system's hosts and how to build its provider from options (``None``: not enabled)."""

    hosts: tuple[str, ...]
    build: Callable[[dict[str, Any]], Provider | None]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    #: What the user must supply, as an example of ``configure`` keywords (shown in errors).
    needs: str = ""
    #: More ``(pattern, provider)`` rules made from the options and the preset's provider (the
    #: Earthdata DAACs' S3 buckets, read with keys obtained with the Earthdata credential).
    extra_rules: (
        Callable[[dict[str, Any], Provider, BrokerOfOne], list[tuple[str, Provider]]] | None
    ) = None


def _maap(o: dict[str, Any]) -> Provider | None:
    if not (o.get("offline_token") or o.get("offline_token_file")):
        return None
    return OidcRefreshToken(
        o["token_url"],
        o["client_id"],
        client_secret=o["client_secret"],
        scope=o["scope"],
        refresh_token=o.get("offline_token"),
        token_file=o.get("offline_token_file"),
        trusted_hosts=o.get("trusted_hosts", ()),
    )


def _cdse(o: dict[str, Any]) -> Provider | None:
    if not (o.get("username") and o.get("password")):
        return None
    return OidcPassword(
        o["token_url"],
        o["client_id"],
        username=o["username"],
        password=o["password"],
        totp=o.get("totp"),  # 2FA accounts: the one-time code, or a callable returning it
        trusted_hosts=o.get("trusted_hosts", ()),
    )


def _earthdata(o: dict[str, Any]) -> Provider | None:
    if o.get("token"):
        return BearerToken(o["token"], trusted_hosts=o.get("trusted_hosts", ()))
    if o.get("username") and o.get("password"):
        return EarthdataLogin(
            username=o["username"], password=o["password"], login_host=o["login_host"]
        )
    try:
        return EarthdataLogin(netrc_path=o.get("netrc"), login_host=o["login_host"])
    except errors.ResolveError:
        return None  # no netrc entry: Earthdata stays unconfigured until the user adds one


def _s3(o: dict[str, Any]) -> Provider:
    keys = ("anon", "key", "secret", "token", "profile", "endpoint_url", "region", "requester_pays")
    return S3Credentials(**{k: o[k] for k in keys if k in o})


def _s3_keys(o: dict[str, Any]) -> Provider | None:
    """An S3 credential only once the user gave their keys (CDSE's ``eodata`` wants them)."""
    return _s3(o) if o.get("key") and o.get("secret") else None


def _sas(o: dict[str, Any]) -> Provider:
    return SasSigner(
        o["token_url"],
        account=o.get("account"),
        container=o.get("container"),
        subscription_key=o.get("subscription_key"),
        blob_endpoint=o.get("blob_endpoint"),
    )


PRESETS: dict[str, Preset] = {
    "maap": Preset(("https://catalog.maap.eo.esa.int/data/*",), _maap, {
        "token_url": "https://iam.maap.eo.esa.int/realms/esa-maap/protocol/openid-connect/token",
        "client_id": "offline-token",
        # Published by ESA in its MAAP notebooks: a public client's secret, not the user's.
        "client_secret": "p1eL7uonXs6MDxtGbgKdPVRAmnGxHpVE",
        "scope": "offline_access openid",
    }, needs='"offline_token_file": "~/maap-offline-token.txt"'),
    "cdse": Preset((
        "https://download.dataspace.copernicus.eu/*", "https://zipper.dataspace.copernicus.eu/*",
        "https://catalogue.dataspace.copernicus.eu/odata/*",
    ), _cdse, {
        "token_url": "https://identity.dataspace.copernicus.eu/auth/realms/CDSE/protocol/"
                     "openid-connect/token",
        "client_id": "cdse-public",
        "trusted_hosts": ["zipper.dataspace.copernicus.eu", "download.dataspace.copernicus.eu"],
        # "Quotas and limitations": a general user may have 4 concurrent connections
        "max_connections": 4,
    }, needs='"username": "you@example.org", "password": "..."'),
    "earthdata": Preset((
        "https://*.earthdatacloud.nasa.gov/*", "https://*.earthdata.nasa.gov/*",
        "https://e4ftl01.cr.usgs.gov/*",
    ), _earthdata, {"login_host": LOGIN_HOST},
        needs='"token": "<EDL token>"', extra_rules=earthdata_s3.bucket_rules),
    # S3 keys from the CDSE S3 credentials manager, for the current STAC's s3://eodata hrefs
    "cdse_s3": Preset(("s3://eodata/*",), _s3_keys, {
        "endpoint_url": "https://eodata.dataspace.copernicus.eu", "region": "default",
        "max_connections": 4,  # the same quota of concurrent connections covers CDSE's S3
    }, needs='"key": "<CDSE S3 access key>", "secret": "<CDSE S3 secret key>"'),
    # anon is inferred: anonymous unless the user gives keys or a profile
    "eopf": Preset(("s3://e05ab01a9d56408d82ac32d69a5aae2a:*",), _s3,
                   {"endpoint_url": "https://objects.eodc.eu"}),
    # each bucket's region from the AWS open-data registry (xstac_access._s3.REGISTRY)
    "earthsearch": Preset((
        "s3://sentinel-s1-l1c/*", "s3://sentinel-s2-l1c/*", "s3://sentinel-s2-l2a/*",
        "s3://usgs-landsat/*",
    ), _s3, {"anon": False, "requester_pays": True},
        needs='"profile": "<AWS profile, billed as requester>"'),
    "earthsearch_public": Preset(("s3://sentinel-cogs/*",), _s3),
    "planetary_computer": Preset(("https://*.blob.core.windows.net/*",), _sas, {
        "token_url": "https://planetarycomputer.microsoft.com/api/sas/v1/token/{account}/"
                     "{container}",
    }),
}  # fmt: skip

_RULE_TYPES: dict[str, Callable[[dict[str, Any]], Provider]] = {
    "bearer": lambda o: BearerToken(o["token"], trusted_hosts=o.get("trusted_hosts", ())),
    "oidc-refresh-token": lambda o: OidcRefreshToken(
        o["token_url"], o["client_id"], client_secret=o.get("client_secret"),
        scope=o.get("scope"), refresh_token=o.get("refresh_token"),
        token_file=o.get("token_file"), trusted_hosts=o.get("trusted_hosts", ())),
    "oidc-password": lambda o: OidcPassword(
        o["token_url"], o["client_id"], username=o["username"], password=o["password"],
        totp=o.get("totp"), scope=o.get("scope"), trusted_hosts=o.get("trusted_hosts", ())),
    "earthdata": lambda o: EarthdataLogin(
        username=o.get("username"), password=o.get("password"), netrc_path=o.get("netrc"),
        login_host=o.get("login_host", LOGIN_HOST)),
    "s3": _s3,
    "sas": _sas,
    "anonymous": lambda o: Anonymous(),
}  # fmt: skip


def configured_rules(
    code_presets: Mapping[str, Any],
    code_rules: list[tuple[str, Provider]],
    broker_of: BrokerOfOne,
) -> list[Rule]:
    """The rules the configuration makes, in the order they apply: ``code_rules`` (from
    :func:`~.broker.configure`), the TOML file's rules, then each preset not switched off whose
    options (defaults, TOML, environment, ``code_presets``) make a provider."""
    file_config = read_config_file()
    rules = [Rule(pattern, provider, "code") for pattern, provider in code_rules]
    for rule in file_config.get("rules", []):
        rules.append(Rule(rule["pattern"], _rule_provider(rule), "config file"))
    for name, preset in PRESETS.items():
        code = code_presets.get(name, {})
        if code is False:
            continue
        if code is True:  # on, with its own options
            code = {}
        options = {**preset.defaults, **file_config.get(name, {}), **_env_options(name), **code}
        provider = preset.build(options)
        if provider is not None:
            _limit(provider, options, f"credential preset {name!r}")
            for pattern in options.get("hosts") or preset.hosts:
                rules.append(Rule(pattern, provider, name))
            extra = preset.extra_rules(options, provider, broker_of) if preset.extra_rules else []
            rules += [Rule(pattern, served_by, name) for pattern, served_by in extra]
    return rules


def advice(href: str) -> str:
    """What to configure for ``href``: the matching preset's keywords, or a custom rule."""
    name = preset_covering(href)
    if name is not None:
        env = f"XSTAC_{name.upper()}_<OPTION>"
        return (
            f"Configure the {name!r} credential preset: "
            f"xstac_access.credentials.configure({name}={{{PRESETS[name].needs}}}), or set {env}, "
            f"or add [{name}] to {config_path()}."
        )
    return (
        f"Configure a credential for {host_of(href)}: xstac_access.credentials.configure("
        f'rules=[("{scheme_of(href)}://{host_of(href)}/*", <provider>)]) '
        "(see docs/credentials.md)."
    )


def preset_covering(href: str) -> str | None:
    """The preset whose own hosts cover ``href`` and that needs the user's secret, or ``None``."""
    for name, preset in PRESETS.items():
        if preset.needs and any(pattern_matches(p, href) for p in preset.hosts):
            return name
    return None


def _rule_provider(rule: Mapping[str, Any]) -> Provider:
    kind = rule.get("type")
    if kind not in _RULE_TYPES:
        raise errors.ResolveError(
            f"credential rule for {rule.get('pattern')!r} has type {kind!r}; "
            f"types: {', '.join(sorted(_RULE_TYPES))}"
        )
    return _limit(_RULE_TYPES[kind](dict(rule)), rule, f"credential rule {rule.get('pattern')!r}")


def _limit(provider: Provider, options: Mapping[str, Any], where: str) -> Provider:
    """``provider`` with the ``max_connections`` option of its preset or rule, if given."""
    if "max_connections" in options:
        provider.max_connections = connection_limit(options["max_connections"], where)
    return provider


def _env_options(preset: str) -> dict[str, Any]:
    prefix = f"XSTAC_{preset.upper()}_"
    options: dict[str, Any] = {}
    for key, value in os.environ.items():
        if key.startswith(prefix) and value:
            name = key[len(prefix) :].lower()
            if name in ("hosts", "trusted_hosts"):
                options[name] = [v.strip() for v in value.split(",") if v.strip()]
            elif value.lower() in ("true", "false"):
                options[name] = value.lower() == "true"
            else:
                options[name] = value
    return options


def config_path() -> Path:
    """Where the TOML config is read from (it need not exist).

    ``$XSTAC_CONFIG`` when set, else ``config.toml`` in platformdirs' user config directory for
    ``xstac-access``: ``$XDG_CONFIG_HOME/xstac-access`` or ``~/.config/xstac-access`` on Linux,
    ``~/Library/Application Support/xstac-access`` on macOS, ``%APPDATA%\\xstac-access`` on
    Windows (the roaming profile, so a config follows a user across machines of a domain).
    """
    if os.environ.get("XSTAC_CONFIG"):
        return Path(os.environ["XSTAC_CONFIG"]).expanduser()
    base = platformdirs.user_config_dir("xstac-access", appauthor=False, roaming=True)
    return Path(base) / "config.toml"


def read_config_file() -> dict[str, Any]:
    path = config_path()
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise errors.ResolveError(f"cannot read the xstac-access config {path}: {exc}") from None
