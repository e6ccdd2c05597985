"""The local file server: Range reads, counters, latency, faults, bearer and Earthdata auth.

The file server and the OIDC server run as real child processes; the tests talk HTTP to them
with ``requests`` (and ``http.client`` where the raw wire matters).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests

from xstac_access.testing._procs import free_port, start_process
from xstac_access.testing.admin import FileServerAdmin, OidcAdmin

ODATA = "/cdse/odata/v1/Products(abc)/$value"
CONFIG = {
    "protected": [
        {"prefix": "/maap/data/", "host": "main", "scheme": "bearer", "realm": "maap"},
        {"prefix": "/cdse/download/", "host": "alt", "scheme": "bearer", "realm": "cdse"},
        {"prefix": "/hls/protected/", "host": "main", "scheme": "earthdata"},
    ],
    "redirects": [
        {"host": "main", "path": ODATA, "to_host": "alt", "to_path": "/cdse/download/X.zip"},
        {
            "host": "main",
            "path": "/old/big.bin",
            "to_host": "main",
            "to_path": "/big.bin",
            "status": 301,
        },
    ],
    "earthdata": {"username": "edl-user", "password": "edl-pass"},
}


@dataclass
class World:
    """The running servers of this module and what they serve."""

    main: str
    alt: str
    oidc: str
    files: FileServerAdmin
    tokens: OidcAdmin
    big: bytes
    outside: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("fileserver")
    root = base / "root"
    for rel in ("sub", "maap/data", "cdse/download", "hls/protected"):
        (root / rel).mkdir(parents=True)
    big = os.urandom(1_000_000)
    (root / "big.bin").write_bytes(big)
    (root / "small.txt").write_text("hello\n")
    for rel in ("maap/data/x.tif", "cdse/download/X.zip", "hls/protected/g.tif"):
        (root / rel).write_bytes(b"secret data " + rel.encode())
    outside = base / "outside.txt"
    outside.write_text("must not be served")
    config = base / "config.json"
    config.write_text(json.dumps(CONFIG))
    logs = base / "logs"
    oidc_port, port, alt_port = free_port(), free_port(), free_port()
    oidc, main = f"http://127.0.0.1:{oidc_port}", f"http://127.0.0.1:{port}"
    files_argv = [sys.executable, "-m", "xstac_access.testing.fileserver", "--root", str(root)]
    files_argv += ["--port", str(port), "--alt-port", str(alt_port)]
    files_argv += ["--config", str(config), "--oidc-url", oidc]
    oidc_argv = [sys.executable, "-m", "xstac_access.testing.oidc", "--port", str(oidc_port)]
    # Both start at once: the file server fetches the JWKS only when a token arrives.
    with ThreadPoolExecutor(2) as pool:
        starts = [
            pool.submit(
                start_process,
                "oidc",
                oidc_argv,
                log_dir=logs,
                ready_url=f"{oidc}/realms/maap/.well-known/openid-configuration",
            ),
            pool.submit(
                start_process,
                "fileserver",
                files_argv,
                log_dir=logs,
                ready_url=f"{main}/__admin__/stats",
            ),
        ]
    procs = [start.result() for start in starts if start.exception() is None]
    try:
        if len(procs) < len(starts):
            raise next(exc for start in starts if (exc := start.exception()) is not None)
        yield World(
            main,
            f"http://127.0.0.1:{alt_port}",
            oidc,
            FileServerAdmin(main),
            OidcAdmin(oidc),
            big,
            outside,
        )
    finally:
        for proc in procs:
            proc.stop()


@pytest.fixture
def w(world: World) -> Iterator[World]:
    """The world with counters cleared before and latency, faults and lifetimes reset after."""
    world.files.reset()
    yield world
    world.files.clear_faults()
    world.files.set_latency(0)
    world.tokens.set_access_token_lifetime(300)


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        yield session


def token(w: World, realm: str = "cdse", host: str | None = None) -> str:
    """An access token from a password grant (``host`` overrides the Host header)."""
    users = {
        "cdse": ("cdse-public", "cdse-user", "cdse-pass"),
        "earthdata": ("earthdata-public", "edl-user", "edl-pass"),
    }
    client_id, user, password = users[realm]
    answer = requests.post(
        f"{w.oidc}/realms/{realm}/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": client_id,
            "username": user,
            "password": password,
        },
        headers={"Host": host} if host else None,
    )
    answer.raise_for_status()
    return answer.json()["access_token"]


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def test_full_get_head_and_counters(w: World, session: requests.Session) -> None:
    answer = session.get(f"{w.main}/big.bin")
    assert answer.status_code == 200 and answer.content == w.big
    assert answer.headers["Accept-Ranges"] == "bytes"
    head = session.head(f"{w.alt}/big.bin")
    assert head.status_code == 200 and head.headers["Content-Length"] == "1000000"
    assert w.files.requests_for("/big.bin") == 1 and w.files.bytes_for("/big.bin") == 1_000_000
    assert w.files.requests_for("/big.bin", host="alt") == 1
    assert w.files.bytes_for("/big.bin", host="alt") == 0


def test_ranges(w: World, session: requests.Session) -> None:
    url = f"{w.main}/big.bin"
    part = session.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == w.big[100:200]
    assert part.headers["Content-Range"] == "bytes 100-199/1000000"
    tail = session.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == w.big[-10:]
    rest = session.get(url, headers={"Range": "bytes=999990-"})
    assert rest.content == w.big[999990:]
    assert rest.headers["Content-Range"] == "bytes 999990-999999/1000000"
    beyond = session.get(url, headers={"Range": "bytes=2000000-"})
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == "bytes */1000000"
    multi = session.get(url, headers={"Range": "bytes=0-1,5-6"})
    assert multi.status_code in (200, 206)
    stats = w.files.stats()
    assert [e["range"] for e in stats["log"]][:2] == ["bytes=100-199", "bytes=-10"]
    assert w.files.requests_for("/big.bin") == 5
    assert w.files.bytes_for("/big.bin") - stats["log"][3]["bytes"] - len(multi.content) == 120


def test_missing_directory_and_traversal_are_404(w: World, session: requests.Session) -> None:
    assert session.get(f"{w.main}/nope.bin").status_code == 404
    assert session.get(f"{w.main}/sub").status_code == 404
    assert session.get(f"{w.main}/sub/").status_code == 404
    host, port = w.main.removeprefix("http://").split(":")
    for raw in ("/../outside.txt", "/%2e%2e/outside.txt", "/sub/..%2f..%2foutside.txt", "/a%00b"):
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        conn.request("GET", raw)
        answer = conn.getresponse()
        assert answer.status == 404 and b"must not" not in answer.read()
        conn.close()


def test_latency_delays_every_request(w: World, session: requests.Session) -> None:
    w.files.set_latency(150)
    started = time.perf_counter()
    session.get(f"{w.main}/small.txt")
    session.get(f"{w.alt}/small.txt")
    assert time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    w.files.stats()
    assert time.perf_counter() - started < 0.15  # admin calls are never delayed


def test_status_fault_with_retry_after_then_success(w: World, session: requests.Session) -> None:
    w.files.set_faults([{"path": "/small*", "count": 2, "status": 503, "retry_after": 1}])
    first, second = (session.get(f"{w.main}/small.txt") for _ in range(2))
    assert first.status_code == second.status_code == 503
    assert first.headers["Retry-After"] == "1"
    assert session.get(f"{w.main}/small.txt").text == "hello\n"
    w.files.set_faults([{"path": "*", "host": "alt", "status": 429}])
    assert session.get(f"{w.main}/small.txt").status_code == 200
    assert session.get(f"{w.alt}/small.txt").status_code == 429


def test_reset_mid_body_raises_on_the_client(w: World, session: requests.Session) -> None:
    w.files.set_faults([{"path": "/big.bin", "count": 1, "reset_after_bytes": 100_000}])
    with pytest.raises(requests.exceptions.RequestException):
        session.get(f"{w.main}/big.bin")
    assert 0 < w.files.bytes_for("/big.bin") <= 100_000
    assert session.get(f"{w.main}/big.bin").content == w.big


def test_truncated_body_keeps_full_content_length(w: World) -> None:
    w.files.set_faults([{"path": "/big.bin", "count": 1, "truncate_after_bytes": 1000}])
    host, port = w.main.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.request("GET", "/big.bin", headers={"Range": "bytes=0-9999"})
    answer = conn.getresponse()
    assert answer.status == 206 and answer.getheader("Content-Length") == "10000"
    with pytest.raises(http.client.IncompleteRead) as err:
        answer.read()
    assert err.value.partial == w.big[:1000]
    conn.close()
    assert len(requests.get(f"{w.main}/big.bin").content) == 1_000_000  # count used up
    w.files.set_faults([{"path": "/big.bin", "count": 1, "truncate_after_bytes": 1000}])
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(f"{w.main}/big.bin", headers={"Range": "bytes=0-9999"})


def test_slow_body_and_html_login_page(w: World, session: requests.Session) -> None:
    w.files.set_faults(
        [{"path": "/big.bin", "slow_bytes_per_s": 200_000}, {"path": "/small.txt", "html": True}]
    )
    started = time.perf_counter()
    slow = session.get(f"{w.main}/big.bin", headers={"Range": "bytes=0-49999"})
    assert slow.content == w.big[:50_000] and time.perf_counter() - started >= 0.2
    page = session.get(f"{w.main}/small.txt")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert b"<form" in page.content


def test_admin_rejects_unknown_fault_keys(w: World, session: requests.Session) -> None:
    answer = session.post(f"{w.main}/__admin__/faults", json={"rules": [{"stauts": 503}]})
    assert answer.status_code == 400


def test_bearer_accept_reject(w: World, session: requests.Session) -> None:
    url = f"{w.alt}/cdse/download/X.zip"
    missing = session.get(url)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert "error" in missing.json()
    assert session.get(url, headers=bearer("garbage")).status_code == 401
    assert session.get(url, headers=bearer(token(w, "earthdata"))).status_code == 401
    good = token(w)
    assert session.get(url, headers=bearer(good)).content == b"secret data cdse/download/X.zip"
    assert session.get(f"{w.main}/cdse/download/X.zip").status_code == 200  # alt only
    offline = w.tokens.offline_token("maap", "maap-user")
    exchanged = session.post(
        f"{w.oidc}/realms/maap/protocol/openid-connect/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": offline,
            "client_id": "offline-token",
            "client_secret": "offline-token-public-secret",
            "scope": "offline_access openid",
        },
    )
    maap = exchanged.json()["access_token"]
    assert session.get(f"{w.main}/maap/data/x.tif", headers=bearer(maap)).status_code == 200
    assert session.get(f"{w.main}/maap/data/x.tif", headers=bearer(good)).status_code == 401
    log = w.files.stats()["log"]
    assert log[0]["authorization"] is False and "auth_sha256" not in log[0]
    assert log[3]["auth_sha256"] == hashlib.sha256(f"Bearer {good}".encode()).hexdigest()
    dumped = json.dumps(w.files.stats())
    assert good not in dumped and maap not in dumped and good not in missing.text


def test_expired_token_is_rejected(w: World, session: requests.Session) -> None:
    w.tokens.set_access_token_lifetime(2)
    short = token(w)
    url = f"{w.alt}/cdse/download/X.zip"
    assert session.get(url, headers=bearer(short)).status_code == 200
    exp = jwt.decode(short, options={"verify_signature": False})["exp"]
    time.sleep(max(0.0, exp - time.time()) + 0.05)
    assert session.get(url, headers=bearer(short)).status_code == 401


def test_issuer_mismatch_is_rejected(w: World, session: requests.Session) -> None:
    port = w.oidc.rsplit(":", 1)[1]
    other = token(w, host=f"localhost:{port}")  # same realm key, issuer http://localhost:...
    assert jwt.decode(other, options={"verify_signature": False})["iss"].startswith(
        "http://localhost:"
    )
    assert session.get(f"{w.alt}/cdse/download/X.zip", headers=bearer(other)).status_code == 401


def test_redirect_same_host(w: World, session: requests.Session) -> None:
    moved = session.get(f"{w.main}/old/big.bin", allow_redirects=False)
    assert moved.status_code == 301 and moved.headers["Location"] == f"{w.main}/big.bin"
    assert session.get(f"{w.main}/old/big.bin").content == w.big


def test_cross_port_redirect_and_dropped_authorization(w: World, session: requests.Session) -> None:
    good = bearer(token(w))
    first = session.get(w.main + ODATA, headers=good, allow_redirects=False)
    assert first.status_code == 302
    assert first.headers["Location"] == f"{w.alt}/cdse/download/X.zip"
    followed = session.get(w.main + ODATA, headers=good)
    assert followed.status_code == 401  # requests drops Authorization across hosts
    assert session.get(first.headers["Location"], headers=good).status_code == 200
    arrived = [e["authorization"] for e in w.files.stats()["log"] if e["host"] == "alt"]
    assert arrived == [False, True]


def test_earthdata_login_flow_step_by_step(w: World, session: requests.Session) -> None:
    url = f"{w.main}/hls/protected/g.tif?x=1"
    first = session.get(url, allow_redirects=False)
    assert first.status_code == 302
    login = first.headers["Location"]
    assert login.startswith(f"{w.alt}/oauth/authorize?")
    assert parse_qs(urlsplit(login).query)["state"] == ["/hls/protected/g.tif?x=1"]
    refused = session.get(login, auth=("edl-user", "wrong"), allow_redirects=False)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == 'Basic realm="Earthdata Login"'
    granted = session.get(login, auth=("edl-user", "edl-pass"), allow_redirects=False)
    assert granted.status_code == 302
    callback = granted.headers["Location"]
    assert callback.startswith(f"{w.main}/oauth/callback?code=")
    back = session.get(callback, allow_redirects=False)
    assert back.status_code == 302 and back.headers["Location"] == url
    assert "HttpOnly" in back.headers["Set-Cookie"] and "edl_session" in session.cookies
    assert session.get(url).content == b"secret data hls/protected/g.tif"
    assert session.get(callback, allow_redirects=False).status_code == 401  # code used once
    with requests.Session() as stranger:
        stranger.trust_env = False
        assert stranger.get(url, allow_redirects=False).status_code == 302
    main_auth = [e["authorization"] for e in w.files.stats()["log"] if e["host"] == "main"]
    assert not any(main_auth)  # Basic went only to the login host


def test_earthdata_login_flow_with_netrc(
    w: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login edl-user password edl-pass\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with requests.Session() as session:
        answer = session.get(f"{w.main}/hls/protected/g.tif")
    assert answer.status_code == 200 and answer.content == b"secret data hls/protected/g.tif"
    assert [r.status_code for r in answer.history] == [302, 302, 302]


def test_earthdata_bearer_token_instead_of_cookie(w: World, session: requests.Session) -> None:
    url = f"{w.main}/hls/protected/g.tif"
    answer = session.get(url, headers=bearer(token(w, "earthdata")), allow_redirects=False)
    assert answer.status_code == 200
    assert session.get(url, headers=bearer(token(w)), allow_redirects=False).status_code == 401


def test_config_can_change_at_run_time(w: World, session: requests.Session) -> None:
    extra = {
        **CONFIG,
        "protected": [*CONFIG["protected"], {"prefix": "/small.txt", "realm": "cdse"}],
    }
    w.files.set_config(extra)
    try:
        assert session.get(f"{w.main}/small.txt").status_code == 401
        assert session.get(f"{w.alt}/small.txt").status_code == 401  # no host: both hosts
    finally:
        w.files.set_config(CONFIG)
    assert session.get(f"{w.main}/small.txt").status_code == 200
