"""The local file server's protected prefixes: bearer JWTs (signature, issuer, expiry on the
shared clock), Earthdata Login's redirect-and-cookie dance, redirects, run-time config.

The file server and the OIDC server run as real child processes (``local_servers.py``); the
tests talk HTTP to them with ``requests``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests

if TYPE_CHECKING:
    from local_servers import Servers

pytest_plugins = ["local_servers"]  # its fixtures: servers, w, session


def test_bearer_accept_reject(w: Servers, session: requests.Session) -> None:
    url = f"{w.alt}/cdse/download/X.zip"
    missing = session.get(url)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert "error" in missing.json()
    assert session.get(url, headers=w.bearer("garbage")).status_code == 401
    assert session.get(url, headers=w.bearer(w.token("earthdata"))).status_code == 401
    good = w.token()
    assert session.get(url, headers=w.bearer(good)).content == b"secret data cdse/download/X.zip"
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
    assert session.get(f"{w.main}/maap/data/x.tif", headers=w.bearer(maap)).status_code == 200
    assert session.get(f"{w.main}/maap/data/x.tif", headers=w.bearer(good)).status_code == 401
    log = w.files.stats()["log"]
    assert log[0]["authorization"] is False and "auth_sha256" not in log[0]
    assert log[3]["auth_sha256"] == hashlib.sha256(f"Bearer {good}".encode()).hexdigest()
    dumped = json.dumps(w.files.stats())
    assert good not in dumped and maap not in dumped and good not in missing.text


def test_expired_token_is_rejected(w: Servers, session: requests.Session) -> None:
    short = w.token()
    url = f"{w.alt}/cdse/download/X.zip"
    assert session.get(url, headers=w.bearer(short)).status_code == 200
    lifetime = jwt.decode(short, options={"verify_signature": False})
    w.advance_clock(lifetime["exp"] - lifetime["iat"] - 5)
    assert session.get(url, headers=w.bearer(short)).status_code == 200  # seconds to go
    w.advance_clock(5)
    assert session.get(url, headers=w.bearer(short)).status_code == 401


def test_issuer_mismatch_is_rejected(w: Servers, session: requests.Session) -> None:
    port = w.oidc.rsplit(":", 1)[1]
    other = w.token(host=f"localhost:{port}")  # same realm key, issuer http://localhost:...
    assert jwt.decode(other, options={"verify_signature": False})["iss"].startswith(
        "http://localhost:"
    )
    assert session.get(f"{w.alt}/cdse/download/X.zip", headers=w.bearer(other)).status_code == 401


def test_redirect_same_host(w: Servers, session: requests.Session) -> None:
    moved = session.get(f"{w.main}/old/big.bin", allow_redirects=False)
    assert moved.status_code == 301 and moved.headers["Location"] == f"{w.main}/big.bin"
    assert session.get(f"{w.main}/old/big.bin").content == w.big


def test_cross_port_redirect_and_dropped_authorization(
    w: Servers, session: requests.Session
) -> None:
    good = w.bearer(w.token())
    first = session.get(w.main + w.odata, headers=good, allow_redirects=False)
    assert first.status_code == 302
    assert first.headers["Location"] == f"{w.alt}/cdse/download/X.zip"
    followed = session.get(w.main + w.odata, headers=good)
    assert followed.status_code == 401  # requests drops Authorization across hosts
    assert session.get(first.headers["Location"], headers=good).status_code == 200
    arrived = [e["authorization"] for e in w.files.stats()["log"] if e["host"] == "alt"]
    assert arrived == [False, True]


def test_earthdata_login_flow_step_by_step(w: Servers, session: requests.Session) -> None:
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
    w: Servers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
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


def test_earthdata_bearer_token_instead_of_cookie(w: Servers, session: requests.Session) -> None:
    url = f"{w.main}/hls/protected/g.tif"
    answer = session.get(url, headers=w.bearer(w.token("earthdata")), allow_redirects=False)
    assert answer.status_code == 200
    assert session.get(url, headers=w.bearer(w.token()), allow_redirects=False).status_code == 401


def test_config_can_change_at_run_time(w: Servers, session: requests.Session) -> None:
    extra = {
        **w.config,
        "protected": [*w.config["protected"], {"prefix": "/small.txt", "realm": "cdse"}],
    }
    w.files.set_config(extra)
    try:
        assert session.get(f"{w.main}/small.txt").status_code == 401
        assert session.get(f"{w.alt}/small.txt").status_code == 401  # no host: both hosts
    finally:
        w.files.set_config(w.config)
    assert session.get(f"{w.main}/small.txt").status_code == 200


def test_revoked_tokens_are_refused_while_unexpired(w: Servers, session: requests.Session) -> None:
    url = f"{w.alt}/cdse/download/X.zip"
    old, named = w.token(), w.token()
    assert session.get(url, headers=w.bearer(old)).status_code == 200
    try:
        w.advance_clock(2)  # not-before has one-second resolution, as Keycloak's
        w.files.revoke_tokens()
        assert session.get(url, headers=w.bearer(old)).status_code == 401
        fresh = w.token()
        assert session.get(url, headers=w.bearer(fresh)).status_code == 200
        w.files.revoke_tokens(before=None, token=fresh, status=403)  # one token, as a gateway
        assert session.get(url, headers=w.bearer(fresh)).status_code == 403
        assert session.get(url, headers=w.bearer(w.token())).status_code == 200
        assert session.get(url, headers=w.bearer("garbage")).status_code == 401
    finally:
        w.files.revoke_tokens(before=0, status=401)
    assert session.get(url, headers=w.bearer(named)).status_code == 200
