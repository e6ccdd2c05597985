"""The local OIDC server behaves like Keycloak where token clients go wrong.

It runs as a real child process (``local_servers.py``); the tests speak HTTP to it with
``requests`` and verify its tokens with PyJWT against its JWKS, exactly as the file server and
the library do. Tokens age on its clock, which the tests move forward instead of sleeping.
"""

from __future__ import annotations

import json
import urllib.error
from collections.abc import Iterator
from typing import TYPE_CHECKING

import jwt
import pytest
import requests

from xstac_access.testing import _jwt, clock
from xstac_access.testing.admin import OidcAdmin

if TYPE_CHECKING:
    from local_servers import Servers

pytest_plugins = ["local_servers"]  # its fixtures: servers, w, session

MAAP_SECRET = "offline-token-public-secret"


@pytest.fixture(scope="module")
def oidc(servers: Servers) -> str:
    """Base URL of the running OIDC server (default realms) of ``local_servers.py``."""
    return servers.oidc


@pytest.fixture
def admin(oidc: str) -> Iterator[OidcAdmin]:
    """The admin client, with counters cleared and the default lifetime restored after."""
    client = OidcAdmin(oidc)
    client.reset()
    yield client
    client.set_access_token_lifetime(300)


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        yield session


def token_url(base: str, realm: str) -> str:
    return f"{base}/realms/{realm}/protocol/openid-connect/token"


def password_grant(
    http: requests.Session,
    base: str,
    realm: str = "cdse",
    client_id: str = "cdse-public",
    user: str = "cdse-user",
    password: str = "cdse-pass",
) -> requests.Response:
    form = {
        "grant_type": "password",
        "client_id": client_id,
        "username": user,
        "password": password,
    }
    return http.post(token_url(base, realm), data=form)


def refresh(
    http: requests.Session, base: str, token: str, realm: str = "cdse", **client: str
) -> requests.Response:
    form = {"grant_type": "refresh_token", "refresh_token": token, **client}
    return http.post(token_url(base, realm), data=form)


def test_discovery_and_jwks_verify_access_token(
    oidc: str, http: requests.Session, servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(clock.ENV, str(servers.clock_file))  # verify on the server's clock
    meta = http.get(f"{oidc}/realms/cdse/.well-known/openid-configuration").json()
    assert meta["issuer"] == f"{oidc}/realms/cdse"
    assert meta["token_endpoint"] == token_url(oidc, "cdse")
    answer = password_grant(http, oidc)
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    assert {"refresh_token", "refresh_expires_in", "scope", "session_state"} <= set(body)
    key = jwt.PyJWKClient(meta["jwks_uri"]).get_signing_key_from_jwt(body["access_token"])
    claims = _jwt.verify(body["access_token"], key.key, issuer=meta["issuer"])  # as files do
    assert claims["aud"] == "account" and claims["exp"] - claims["iat"] == 300
    assert claims["azp"] == "cdse-public" and claims["typ"] == "Bearer"
    assert claims["preferred_username"] == "cdse-user"
    assert claims["exp"] - claims["iat"] == 300
    assert jwt.get_unverified_header(body["access_token"])["kid"] == key.key_id


def test_realms_have_distinct_keys(oidc: str, http: requests.Session) -> None:
    token = password_grant(http, oidc).json()["access_token"]
    maap_jwks = jwt.PyJWKClient(f"{oidc}/realms/maap/protocol/openid-connect/certs")
    with pytest.raises(jwt.PyJWKClientError):
        maap_jwks.get_signing_key_from_jwt(token)


def test_wrong_password_and_unknown_user(oidc: str, http: requests.Session) -> None:
    for user, password in (("cdse-user", "nope"), ("nobody", "cdse-pass")):
        answer = password_grant(http, oidc, user=user, password=password)
        assert answer.status_code == 401
        assert answer.json()["error"] == "invalid_grant"


def test_refresh_tokens_rotate(oidc: str, http: requests.Session, admin: OidcAdmin) -> None:
    first = password_grant(http, oidc).json()["refresh_token"]
    answer = refresh(http, oidc, first, client_id="cdse-public")
    assert answer.status_code == 200
    second = answer.json()["refresh_token"]
    assert second != first
    reused = refresh(http, oidc, first, client_id="cdse-public")
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert refresh(http, oidc, second, client_id="cdse-public").status_code == 200
    assert admin.token_requests("cdse", "refresh_token") == 3
    assert admin.token_requests("cdse", "password") == 1


def test_garbage_or_foreign_refresh_token_is_invalid_grant(
    oidc: str, http: requests.Session
) -> None:
    garbage = refresh(http, oidc, "not-a-token", client_id="cdse-public")
    assert garbage.status_code == 400 and garbage.json()["error"] == "invalid_grant"
    cdse_refresh = password_grant(http, oidc).json()["refresh_token"]
    foreign = refresh(http, oidc, cdse_refresh, realm="earthdata", client_id="earthdata-public")
    assert foreign.status_code == 400 and foreign.json()["error"] == "invalid_grant"


def test_offline_token_exchange_with_client_secret(
    oidc: str, http: requests.Session, admin: OidcAdmin
) -> None:
    offline = admin.offline_token("maap", "maap-user")
    client = {
        "client_id": "offline-token",
        "client_secret": MAAP_SECRET,
        "scope": "offline_access openid",
    }
    answer = refresh(http, oidc, offline, realm="maap", **client)
    assert answer.status_code == 200
    body = answer.json()
    assert "offline_access" in body["scope"].split()
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["iss"] == f"{oidc}/realms/maap" and claims["azp"] == "offline-token"
    rotated = body["refresh_token"]
    assert rotated != offline
    assert refresh(http, oidc, offline, realm="maap", **client).status_code == 400
    basic = http.post(
        token_url(oidc, "maap"),
        auth=("offline-token", MAAP_SECRET),
        data={"grant_type": "refresh_token", "refresh_token": rotated},
    )
    assert basic.status_code == 200


def test_offline_rotation_can_be_switched_off(
    oidc: str, http: requests.Session, admin: OidcAdmin
) -> None:
    http.post(f"{oidc}/__admin__/config", json={"rotate_offline": False}).raise_for_status()
    try:
        offline = admin.offline_token("maap", "maap-user")
        client = {"client_id": "offline-token", "client_secret": MAAP_SECRET}
        for _ in range(2):
            answer = refresh(http, oidc, offline, realm="maap", **client)
            assert answer.json()["refresh_token"] == offline
    finally:
        http.post(f"{oidc}/__admin__/config", json={"rotate_offline": True})


def test_client_errors(oidc: str, http: requests.Session, admin: OidcAdmin) -> None:
    offline = admin.offline_token("maap", "maap-user")
    for secret in ("wrong", None):
        client = {"client_id": "offline-token"} | ({"client_secret": secret} if secret else {})
        answer = refresh(http, oidc, offline, realm="maap", **client)
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    unknown = password_grant(http, oidc, client_id="no-such-client")
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    odd = http.post(
        token_url(oidc, "cdse"),
        data={"grant_type": "client_credentials", "client_id": "cdse-public"},
    )
    assert odd.status_code == 400 and odd.json()["error"] == "unsupported_grant_type"
    direct = password_grant(
        http, oidc, realm="maap", client_id="offline-token", user="maap-user", password="maap-pass"
    )
    assert direct.status_code == 401  # confidential client without its secret
    assert http.post(token_url(oidc, "nowhere"), data={}).status_code == 404


def test_userinfo_rejects_expired_token(
    oidc: str, http: requests.Session, admin: OidcAdmin, servers: Servers
) -> None:
    admin.set_access_token_lifetime(2)
    body = password_grant(
        http,
        oidc,
        realm="earthdata",
        client_id="earthdata-public",
        user="edl-user",
        password="edl-pass",
    ).json()
    assert body["expires_in"] == 2
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 2
    url = f"{oidc}/realms/earthdata/protocol/openid-connect/userinfo"
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    fresh = http.get(url, headers=headers)
    assert fresh.status_code == 200 and fresh.json()["preferred_username"] == "edl-user"
    servers.advance_clock(2)
    expired = http.get(url, headers=headers)
    assert expired.status_code == 401
    assert expired.headers["WWW-Authenticate"].startswith("Bearer")
    assert http.get(url, headers={"Authorization": "Bearer garbage"}).status_code == 401


def test_issuer_follows_the_host_the_client_used(oidc: str, http: requests.Session) -> None:
    port = oidc.rsplit(":", 1)[1]
    form = {
        "grant_type": "password",
        "client_id": "cdse-public",
        "username": "cdse-user",
        "password": "cdse-pass",
    }
    answer = http.post(token_url(oidc, "cdse"), data=form, headers={"Host": f"localhost:{port}"})
    claims = jwt.decode(answer.json()["access_token"], options={"verify_signature": False})
    assert claims["iss"] == f"http://localhost:{port}/realms/cdse"


def test_stats_count_and_never_hold_secrets(
    oidc: str, http: requests.Session, admin: OidcAdmin
) -> None:

    body = password_grant(http, oidc).json()
    password_grant(http, oidc, password="wrong")
    offline = admin.offline_token("maap", "maap-user")
    refresh(http, oidc, offline, realm="maap", client_id="offline-token", client_secret=MAAP_SECRET)
    stats = admin.stats()
    assert stats["token_requests"] == {"cdse:password": 2, "maap:refresh_token": 1}
    assert [entry["ok"] for entry in stats["log"]] == [True, False, True]
    dumped = json.dumps(stats)
    for secret in (
        "cdse-pass",
        "wrong",
        MAAP_SECRET,
        offline,
        body["access_token"],
        body["refresh_token"],
    ):
        assert secret not in dumped


def test_faults_answer_busy_with_retry_after_then_the_service_recovers(
    oidc: str, http: requests.Session, admin: OidcAdmin
) -> None:
    admin.set_faults([{"realm": "cdse", "status": 503, "retry_after": 2, "count": 2}])
    try:
        busy = [password_grant(http, oidc) for _ in range(2)]
        assert [r.status_code for r in busy] == [503, 503]
        assert busy[0].headers["Retry-After"] == "2"
        assert busy[0].json()["error"] == "temporarily_unavailable"
        assert password_grant(http, oidc).status_code == 200  # the count is used up
        assert admin.token_requests("cdse", "password") == 3  # faulted requests count too
        with pytest.raises(urllib.error.HTTPError):
            admin.set_faults([{"realm": "cdse"}])  # a rule needs a status
    finally:
        admin.set_faults([])
