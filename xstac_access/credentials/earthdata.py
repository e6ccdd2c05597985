"""NASA Earthdata Login: netrc credentials, the login redirect, and the session cookies after it.

A data host (``data.lpdaac.earthdatacloud.nasa.gov``) answers an anonymous request with a
redirect to the login host (``urs.earthdata.nasa.gov``), which wants HTTP Basic credentials and
redirects back to the data host's callback, which sets a session cookie. This provider supplies
the Basic header *only* to the login host, and keeps the cookies each data host set, so later
requests (ours, fsspec's and GDAL's) carry them and skip the dance.
"""

from __future__ import annotations

import netrc
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import errors
from .._hrefs import host_of
from .material import Material
from .providers import Provider, _reveal
from .secrets import Secret

LOGIN_HOST = "urs.earthdata.nasa.gov"


class EarthdataLogin(Provider):
    """Earthdata Login with a username and password, from arguments or a netrc file."""

    kind = "earthdata"

    def __init__(
        self,
        *,
        username: str | None = None,
        password: str | Secret | None = None,
        netrc_path: str | os.PathLike[str] | None = None,
        login_host: str = LOGIN_HOST,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.login_host = login_host
        if username is None or password is None:
            username, password = _from_netrc(login_host, netrc_path)
        self.username = username
        self._password = Secret(_reveal(password))
        self._fingerprint_secrets(self._password)
        self._cookies: dict[str, dict[str, Secret]] = {}
        self._lock = threading.Lock()
        #: How many times the login host was asked (for tests and ``xstac auth``).
        self.logins = 0

    def public_config(self) -> dict[str, Any]:
        return {"login_host": self.login_host, "username": self.username, **super().public_config()}

    def material(self, href: str) -> Material:
        with self._lock:
            cookies = dict(self._cookies.get(host_of(href), {}))
        return Material.build(cookies=cookies)

    def scope(self, href: str) -> str:
        return host_of(href)

    def invalidate(self, version: str) -> None:
        with self._lock:
            for host, cookies in list(self._cookies.items()):
                if Material.build(cookies=cookies).version == version:
                    del self._cookies[host]

    def is_login_host(self, href: str) -> bool:
        """True for the login host, the only one that may see the Basic credentials."""
        return host_of(href) == self.login_host

    def basic_header(self, href: str) -> dict[str, str]:
        """The Basic ``Authorization`` header, for the login host and nothing else."""
        if not self.is_login_host(href):
            return {}
        import base64

        self.logins += 1
        pair = f"{self.username}:{self._password.reveal()}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}

    def keep_cookies(self, href: str, cookies: Mapping[str, str]) -> None:
        """Remember cookies a data host set (never the login host's own)."""
        if cookies and not self.is_login_host(href):
            with self._lock:
                jar = self._cookies.setdefault(host_of(href), {})
                jar.update({name: Secret(value) for name, value in cookies.items()})


def netrc_location(path: str | os.PathLike[str] | None = None) -> Path:
    """The netrc file to read: ``path``, else ``$NETRC``, else ``~/.netrc`` or, when only that
    exists, ``~/_netrc`` (the name curl and Earthdata's instructions use on Windows)."""
    if path or os.environ.get("NETRC"):
        return Path(path or os.environ["NETRC"]).expanduser()
    dotted, underscored = Path.home() / ".netrc", Path.home() / "_netrc"
    return underscored if underscored.exists() and not dotted.exists() else dotted


def _from_netrc(login_host: str, path: str | os.PathLike[str] | None) -> tuple[str, str]:
    location = netrc_location(path)
    try:
        entry = netrc.netrc(str(location)).authenticators(login_host.split(":")[0])
        entry = entry or netrc.netrc(str(location)).authenticators(login_host)
    except (OSError, netrc.NetrcParseError) as exc:
        raise errors.ResolveError(
            f"Earthdata Login needs credentials: cannot read {location} ({exc.__class__.__name__})."
            f" Add 'machine {login_host} login <user> password <password>' to it, or pass "
            "username= and password=."
        ) from None
    if not entry:
        raise errors.ResolveError(
            f"{location} has no entry for {login_host}: add 'machine {login_host} login <user> "
            "password <password>'"
        )
    login, _, password = entry
    return login, password or ""
