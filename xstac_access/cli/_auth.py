"""``xstac auth``: which credential applies to a URL, and (``--test``) whether it works."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from ._common import command, credential_info

#: The names of the rows ``--test`` adds: the value column is wide enough for them too.
_TEST_ROWS = ("material", "request")


def register(sub: Any) -> None:
    parser = command(
        sub, "auth", "which credential applies to a URL; --test tries it",
        "Say which rule of the configured credentials (presets from XSTAC_<PRESET>_<OPTION> "
        "variables, the TOML config file, --config) applies to URL, with its settings and its "
        "secret masked. --test obtains the material (a token grant for OIDC presets) and makes "
        "one GET of URL, reporting the HTTP status. Secrets, tokens, header values and cookies "
        "are never printed.",
        [
            "xstac auth https://catalog.maap.eo.esa.int/data/zipper/x.zip",
            "XSTAC_MAAP_OFFLINE_TOKEN_FILE=~/.maap-offline-token xstac auth URL --test",
            "xstac --config creds.toml auth URL --test",
        ],
    )  # fmt: skip
    parser.add_argument("url", metavar="URL", help="an asset or item URL (or s3:// href)")
    parser.add_argument(
        "--test", action="store_true", help="obtain the credential and make one request"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Describe the credential for the URL; with ``--test`` use it once."""
    from .._hrefs import safe_href
    from ..credentials import get_broker
    from ..credentials.config import advice, config_path

    broker = get_broker()
    info = credential_info(broker, args.url)
    print(safe_href(args.url))
    rows = [("credential", info["summary"] if info else "none: requests go without one")]
    if info and info.get("pattern"):
        rows.append(("rule", f"{info['pattern']}"))
        rows += [(name, _shown(value)) for name, value in info["settings"].items()]
    elif info is None or info.get("kind") is None:
        rows.append(("advice", advice(args.url)))
    path = config_path()
    rows.append(("config file", f"{path}" + ("" if path.is_file() else " (none there)")))
    width = max(len(name) for name in [*(name for name, _ in rows), *_TEST_ROWS]) + 2
    _print(rows, width)
    if args.test:
        return _test(broker, args.url, width)
    return 0


def _test(broker: Any, url: str, width: int) -> int:
    """Obtain the material for ``url`` and read it once; report what happened."""
    from .. import errors
    from .._hrefs import scheme_of
    from ..http import fetch, stream

    access = broker.access(url)
    material = access.material()
    _print([("material", _material(material))], width)
    if scheme_of(url) not in ("http", "https"):
        fetch(url, byte_range=(0, 1), access=access, broker=broker, what="the test read")
        _print([("request", "read 1 byte: OK")], width)
        return 0
    try:
        resp, landing = stream(url, headers={}, access=access, broker=broker, what="the test GET")
    except errors.AccessError as exc:
        _print([("request", f"GET -> HTTP {exc.status}" if exc.status else "GET failed")], width)
        raise
    with resp:
        status = resp.status_code
    hops = "" if landing.href == url else " (after redirects)"
    _print([("request", f"GET -> HTTP {status}{hops}")], width)
    return 0


def _material(material: Any) -> str:
    """What the material is made of, by name only: header and cookie names, never values."""
    parts = [f"header {name}" for name in material.headers]
    parts += [f"cookie {name}" for name in material.cookies]
    if material.query is not None:
        parts.append("signed query")
    if material.s3:
        parts.append("s3 options " + ", ".join(sorted(material.s3)))
    if material.expires_at is not None:
        parts.append(f"expires in {material.expires_at - time.time():.0f} s")
    return ", ".join(parts) or "none (anonymous)"


def _shown(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)


def _print(rows: list[tuple[str, str]], width: int) -> None:
    """``name value`` lines, values starting in one column (``width`` past the indent)."""
    for name, value in rows:
        print(f"  {name:<{width}}{value}")
    sys.stdout.flush()
