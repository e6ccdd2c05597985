"""Which credential each hop of a request gets, and when a refusal refreshes it: in one place,
for the requests sessions (:mod:`.session`) and the aiohttp middleware (:mod:`.aio`) alike.

A :class:`Chain` follows one request through its redirects. Its first hop carries the
credential of the href (a bearer header, the cookies a login left, a SAS signature); each
redirect target gets its own rule's credential, or the origin's where that provider trusts the
target (CDSE's download host), or nothing (an S3 presigned URL, any other host). A login host
(NASA Earthdata's) gets its Basic credentials on that hop only, when the chain started at one of
its data hosts or carried no credential; the cookies the hosts set after the login are kept by
that provider, per host (no session keeps cookies: a jar would send them to every port of a
host). Where the chain ended, and with whose credential, is its :class:`Landing`.

After a refusal (401 or 403: a token revoked server-side, an expired signature or cookie) the
credential that was sent is refreshed once and the request tried again (:class:`Refresh`); a
second refusal stands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._hrefs import host_of
from .._log import get_logger, remember
from .protocols import AccessLike, BrokerLike, LoginLike, MaterialLike

log = get_logger(__name__)

#: Statuses that say the credential sent was refused.
REFUSED = frozenset({401, 403})
#: Headers that carry credentials: replaced on every hop, never carried over to another.
SECRET_HEADERS = ("Authorization", "Cookie")


class _Headers:
    """Material made of headers only (a login host's Basic credentials, or nothing)."""

    version = ""

    def __init__(self, headers: Mapping[str, str] | None = None) -> None:
        self._headers = dict(headers or {})
        for value in self._headers.values():
            remember(value)  # a Basic header is a secret of its own (base64 of user:password)

    def http_headers(self) -> dict[str, str]:
        return dict(self._headers)

    def sign(self, href: str) -> str:
        return href

    def s3_options(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        return f"headers({sorted(self._headers)})"


NOTHING: MaterialLike = _Headers()


@dataclass(frozen=True)
class Landing:
    """Where a chain of redirects ended, and the credential it had there (``access.needed``
    false: none)."""

    href: str
    access: AccessLike


class Chain:
    """The credential decisions of one request and its redirects (see the module docstring).

    ``material``, when given, is sent on the first hop instead of the access's current one (a
    check of whether the server still takes a credential the caller holds).
    """

    def __init__(
        self, broker: BrokerLike, access: AccessLike, material: MaterialLike | None = None
    ) -> None:
        self.broker = broker
        self.origin = access
        self.restart(material)

    def restart(self, material: MaterialLike | None = None) -> None:
        """Back to the first hop, with fresh material (after a refresh)."""
        self.url = self.origin.href
        self.access = self.origin
        self.login: LoginLike | None = None
        self.at_login = False  # this hop is at the login host, with its Basic credentials
        if material is None:
            material = self.origin.material() if self.origin.needed else NOTHING
        self.first = self.material = material

    def follow(self, url: str) -> None:
        """Decide the next hop: the response at :attr:`url` redirected to ``url``."""
        log.debug("redirected from %s to %s", host_of(self.url), host_of(url))
        self.url = url
        here = self.broker.login_provider(url)
        if here is not None and self.access.provider_id in (None, here.id):
            self.login = here  # a login host acts for its own chain, not for another's trusted hop
        self.at_login = self.login is not None and self.login.is_login_host(url)
        if self.at_login:
            assert self.login is not None
            self.material = _Headers(self.login.basic_header(url))  # Basic: this hop only
            return
        self.access = self.broker.redirect_access(url, self.access)
        self.material = self.access.material() if self.access.needed else NOTHING

    def headers(self, headers: Any) -> None:
        """Set this hop's credential headers on ``headers`` (a mutable mapping), removing any
        another hop's left there."""
        for name in SECRET_HEADERS:
            headers.pop(name, None)
        headers.update(self.material.http_headers())

    def sign(self, url: str) -> str:
        """``url`` (this hop's) as sent: signed when the hop's credential signs URLs."""
        return self.material.sign(url)

    def keep_cookies(self, cookies: Mapping[str, str | None]) -> None:
        """Cookies the host of this hop set: kept by the login provider acting for the chain
        (a cookie set without a value is sent back empty, not as the word ``None``)."""
        if self.login is not None and cookies:
            kept = {name: "" if value is None else value for name, value in cookies.items()}
            self.login.keep_cookies(self.url, kept)

    def landing(self) -> Landing:
        return Landing(self.url, self.access)


class Refresh:
    """The one rule for a refusal, on every path: when the server refused (401/403) a
    credential that was sent, refresh it once and try again; a second refusal stands."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.done = False

    def again(self, status: int, access: AccessLike, material: MaterialLike, url: str) -> bool:
        """Whether to try again after ``status``; if so, ``material`` is invalidated first."""
        if status not in REFUSED or not access.needed or self.done:
            return False
        log.info(
            "%s refused the credential for %s (HTTP %d); refreshing once",
            host_of(url), self.what, status,
        )  # fmt: skip
        access.invalidate(material)
        self.done = True
        return True
