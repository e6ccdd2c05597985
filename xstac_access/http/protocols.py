"""What the HTTP layer needs of credentials, as small protocols: it imports no credential code.

The credentials package implements these (its ``Broker``, ``BrokerHandle``, ``Access`` and
``Material``; Earthdata's login provider), and imports this package to fetch its tokens: the
arrows point one way. A hop of a redirect chain asks the broker which credential its URL gets
(:meth:`BrokerLike.access`, :meth:`BrokerLike.redirect_access`) and whether a login host acts
for it (:meth:`BrokerLike.login_provider`); the credential hands out material to send.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class MaterialLike(Protocol):
    """Access material for one href: headers (and cookies) to send, a URL signature."""

    @property
    def version(self) -> str:
        """A fingerprint of the secret parts: the provider forgets this version on a refusal."""
        ...

    def http_headers(self) -> dict[str, str]:
        """The headers to send, secrets revealed (cookies folded into ``Cookie``)."""
        ...

    def sign(self, href: str) -> str:
        """``href`` with its signature (a SAS token), or ``href`` itself."""
        ...

    def s3_options(self) -> dict[str, Any]:
        """s3fs storage options, secrets revealed."""
        ...


class AccessLike(Protocol):
    """The credential of one href: picklable, fresh material on demand, refreshable."""

    href: str
    provider_id: str | None
    max_connections: int | None

    @property
    def needed(self) -> bool:
        """Whether a credential serves this href at all."""
        ...

    @property
    def provider(self) -> Any:
        """The provider in this process (``None`` in a worker that gets material by relay)."""
        ...

    def material(self) -> MaterialLike:
        """Fresh material (refreshed when close to expiry)."""
        ...

    def invalidate(self, material: MaterialLike) -> None:
        """The server refused ``material``: the next :meth:`material` gets a new one."""
        ...


class LoginLike(Protocol):
    """A provider that logs in at a host of its own (Earthdata Login): Basic credentials there
    only, and the cookies the data hosts set after the login, kept per host."""

    id: str

    def is_login_host(self, href: str) -> bool: ...

    def basic_header(self, href: str) -> dict[str, str]: ...

    def keep_cookies(self, href: str, cookies: Mapping[str, str]) -> None: ...


class BrokerLike(Protocol):
    """Which credential each URL gets (the credentials package's broker, or its handle)."""

    def access(self, href: str) -> AccessLike:
        """The credential of ``href`` by its own rule (none: an access that is not needed)."""
        ...

    def redirect_access(self, href: str, origin: AccessLike) -> AccessLike:
        """The credential of a redirect target: its own rule's, else ``origin``'s where that
        one trusts the target's host, else none."""
        ...

    def login_provider(self, href: str) -> LoginLike | None:
        """The provider that logs in at ``href``'s host, if any."""
        ...

    def advice(self, href: str) -> str:
        """What to configure for ``href`` (for the messages of refusals)."""
        ...
