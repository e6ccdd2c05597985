"""The one HTTP layer: the only place that opens sessions, below the credentials and readers,
and pooled (N token requests, one connection, counted at the token server)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from xstac_access import credentials
from xstac_access.credentials import OidcRefreshToken

PACKAGE = Path(credentials.__file__).resolve().parent.parent
#: Ways of opening an HTTP session (or a one-off one: requests' module functions).
SESSION = re.compile(
    r"requests\.Session\(|aiohttp\.ClientSession\(|\bClientSession\(|from requests import .*Session"
    r"|requests\.(get|post|put|patch|delete|head|request)\(|urlopen\("
)


def library_files() -> list[Path]:
    """The library's modules, the local world of test servers (``testing/``) left out."""
    return [p for p in PACKAGE.rglob("*.py") if "testing" not in p.relative_to(PACKAGE).parts]


def test_only_the_http_layer_opens_sessions():
    found = {
        f"{path.relative_to(PACKAGE)}:{number}"
        for path in library_files()
        if path.relative_to(PACKAGE).parts[0] != "http"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if SESSION.search(line)
    }
    assert found == set()
    inside = "".join(p.read_text() for p in (PACKAGE / "http").glob("*.py"))
    assert "aiohttp.ClientSession(" in inside and "class Session(requests.Session)" in inside


def imported(path: Path) -> set[str]:
    """The modules ``path`` imports, function-level imports included, TYPE_CHECKING left out."""
    tree = ast.parse(path.read_text())
    skipped = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for stmt in block.body
        for node in ast.walk(stmt)
    }
    names = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            joint = "." if node.module else ""  # from .. import x: "..x"
            names |= {base} | {f"{base}{joint}{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
    return names


def test_the_http_layer_imports_neither_credentials_nor_readers():
    for path in (PACKAGE / "http").glob("*.py"):
        bad = {
            n for n in imported(path) if re.match(r"(\.\.|xstac_access\.)(credentials|readers)", n)
        }
        assert bad == set(), path.name


def test_token_requests_reuse_one_pooled_connection(local_world):
    e = local_world.endpoints
    local_world.oidc.reset()
    provider = OidcRefreshToken(
        f"{e.oidc}/realms/maap/protocol/openid-connect/token", "offline-token",
        client_secret="offline-token-public-secret",
        refresh_token=local_world.oidc.offline_token("maap", "maap-user"),
    )  # fmt: skip
    href = f"{e.http}/maap/data/x.tif"
    for _ in range(6):  # each time: the token refused, a new one fetched
        provider.invalidate(provider.material(href).version)
    provider.material(href)
    log = [x for x in local_world.oidc.stats()["log"] if x["realm"] == "maap"]
    assert len(log) == 7 and all(x["ok"] for x in log)
    assert len({x["connection"] for x in log}) == 1  # one TCP connection for all seven
