"""Credential providers: the base class, and the simple ones (static bearer, S3, URL signing).

A provider turns configuration into :class:`~.material.Material` for an href. Providers that
hold long-lived secrets (passwords, refresh and offline tokens, S3 keys) refuse to be pickled;
what crosses process boundaries is an :class:`~.broker.Access` handle naming the provider.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NoReturn
from urllib.parse import urlsplit

from .. import _clock, errors
from .._hrefs import host_of
from .._log import get_logger
from .._s3 import Location, bucket_of, registry_location
from ..http.tokens import post_or_get
from .material import NO_MATERIAL, Material
from .secrets import Secret

log = get_logger(__name__)
_SALT = secrets.token_bytes(16)
_NO_LIMIT = ("", "none", "0", "false", "unlimited")


class Provider:
    """Base of every provider: identity, redirect trust, refresh hooks, no pickling.

    ``trusted_hosts`` are hosts (``host`` or ``host:port``) that may receive this provider's
    material when a request to one of its own hosts is redirected there (CDSE's download host).
    ``max_connections`` caps the requests made with this credential that are in flight at once
    in this process, on every I/O path (:mod:`xstac_access.http.limits`); ``None``: no cap.
    """

    kind = "provider"

    def __init__(
        self, *, trusted_hosts: Iterable[str] = (), max_connections: int | None = None
    ) -> None:
        self.trusted_hosts = tuple(trusted_hosts)
        self.max_connections = connection_limit(max_connections, type(self).__name__)
        self._fingerprint = ""

    def _fingerprint_secrets(self, *values: str | Secret | None) -> None:
        """Make :attr:`id` depend on the secrets: two tokens, two providers.

        Salted per process, so an id in a pickle says nothing about the secret; workers find
        providers through the relay or their own configuration, not by id.
        """
        digest = hashlib.sha256(_SALT)
        for value in values:
            digest.update(_reveal(value).encode() + b"\0")
        self._fingerprint = digest.hexdigest()[:12]

    def public_config(self) -> dict[str, Any]:
        """Non-secret settings, for ``repr``, identity and the CLI's ``auth`` command."""
        config: dict[str, Any] = {"trusted_hosts": list(self.trusted_hosts)}
        config["max_connections"] = self.max_connections
        return {k: v for k, v in config.items() if v}

    @property
    def id(self) -> str:
        blob = json.dumps(
            [self.kind, self.public_config(), self._fingerprint], sort_keys=True, default=str
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def material(self, href: str) -> Material:
        """Material for ``href`` (fresh: refreshed here when close to expiry)."""
        raise NotImplementedError

    def invalidate(self, version: str) -> None:
        """The server refused material of ``version``: drop it so the next call refreshes."""

    def trusts(self, href: str) -> bool:
        return host_of(href) in self.trusted_hosts

    def wire_s3(self, material: Material, href: str) -> dict[str, Any]:
        """The S3 options of ``material`` that may be relayed to dask workers (revealed):
        none by default; a provider of short-lived S3 keys may send them, never long-lived
        ones."""
        return {}

    def scope(self, href: str) -> str:
        """What material depends on besides the provider: "" when one material fits all hrefs."""
        return ""

    def __repr__(self) -> str:
        config = ", ".join(f"{k}={v!r}" for k, v in self.public_config().items())
        return f"{type(self).__name__}({config})"

    def __reduce__(self) -> NoReturn:
        raise TypeError(
            f"{type(self).__name__} holds long-lived secrets and cannot be pickled; "
            "xstac-access pickles Access handles that name it instead"
        )


class Refreshing(Provider):
    """A provider of one expiring material, fetched again :meth:`_margin` seconds before it
    expires or after the server refused it; threads needing it meanwhile wait for the one fetch
    (single flight). Subclasses say how to fetch it and how early."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._material: Material | None = None
        self._lock = threading.Lock()

    def material(self, href: str) -> Material:
        with self._lock:
            if self._material is None or self._material.expires_within(self._margin()):
                self._material = self._fetch()
            return self._material

    def invalidate(self, version: str) -> None:
        with self._lock:
            if self._material is not None and self._material.version == version:
                self._material = None

    def _margin(self) -> float:
        raise NotImplementedError

    def _fetch(self) -> Material:
        raise NotImplementedError


class BearerToken(Provider):
    """A static bearer token (an Earthdata Login token, a personal API token)."""

    kind = "bearer"

    def __init__(self, token: str | Secret, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._fingerprint_secrets(token)
        self._material = Material.build(
            headers={"Authorization": Secret(f"Bearer {_reveal(token)}")}
        )

    def material(self, href: str) -> Material:
        return self._material


class S3Credentials(Provider):
    """S3 access: anonymous, keys, or a profile; custom endpoint; region; requester pays.

    ``endpoint_url`` (``https://objects.eodc.eu``) makes path-style addressing the default,
    which bucket names with a colon (EOPF's ``tenant:bucket``) need. Without a ``region``, a
    bucket of the AWS open-data registry gets its own (:data:`xstac_access._s3.REGISTRY`);
    :meth:`located` makes a copy that uses the region an item gives. ``requester_pays`` says
    you pay for what you read (``x-amz-request-payer: requester`` on every request): a
    requester-pays bucket refuses a reader who does not.
    """

    kind = "s3"

    def __init__(
        self,
        *,
        anon: bool | None = None,
        key: str | None = None,
        secret: str | Secret | None = None,
        token: str | Secret | None = None,
        profile: str | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        requester_pays: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.anon = anon if anon is not None else not (key or profile)
        self.key, self.profile = key, profile
        self._secret = Secret(_reveal(secret)) if secret else None
        self._token = Secret(_reveal(token)) if token else None
        self._fingerprint_secrets(secret, token)
        self.endpoint_url, self.region, self.requester_pays = endpoint_url, region, requester_pays

    @classmethod
    def from_storage_options(cls, options: dict[str, Any]) -> S3Credentials:
        """Build from fsspec/s3fs-style storage options (``client_kwargs.endpoint_url``...)."""
        client = dict(options.get("client_kwargs") or {})
        return cls(
            anon=options.get("anon"),
            key=options.get("key"),
            secret=options.get("secret"),
            token=options.get("token"),
            profile=options.get("profile"),
            endpoint_url=options.get("endpoint_url") or client.get("endpoint_url"),
            region=client.get("region_name") or options.get("region_name"),
            requester_pays=bool(options.get("requester_pays")),
        )

    def public_config(self) -> dict[str, Any]:
        names = ("anon", "key", "profile", "endpoint_url", "region", "requester_pays")
        config = {name: getattr(self, name) for name in names if getattr(self, name)}
        return {**config, **super().public_config()}

    def located(self, location: Location) -> S3Credentials:
        """A copy (same keys) for a bucket whose region and requester-pays status an item
        gives: its region replaces this one's; requester pays is added, never taken away."""
        return S3Credentials(
            anon=self.anon, key=self.key, secret=self._secret, token=self._token,
            profile=self.profile, endpoint_url=self.endpoint_url,
            region=location.region or self.region,
            requester_pays=self.requester_pays or bool(location.requester_pays),
            trusted_hosts=self.trusted_hosts,
        )  # fmt: skip

    def scope(self, href: str) -> str:
        """Material depends on the bucket when the region comes from the registry."""
        return "" if self.region else bucket_of(href)

    def public_options(self, href: str | None = None) -> dict[str, Any]:
        """The s3fs options that carry no secret (endpoint, region, anon, requester pays) for
        ``href``'s bucket (its registry region when this credential names none)."""
        options: dict[str, Any] = {"anon": self.anon}
        client: dict[str, Any] = {}
        if self.endpoint_url:
            client["endpoint_url"] = self.endpoint_url
        region = self.region or (registry_location(href).region if href else None)
        if region:
            client["region_name"] = region
        if client:
            options["client_kwargs"] = client
        if self.requester_pays:
            options["requester_pays"] = True
        if self.profile:
            options["profile"] = self.profile
        return options

    def wire_s3(self, material: Material, href: str) -> dict[str, Any]:
        return self.public_options(href)

    def material(self, href: str) -> Material:
        options: dict[str, Any] = self.public_options(href)
        if self.key and self._secret:
            options.update(key=self.key, secret=self._secret)
            if self._token:
                options["token"] = self._token
        return Material.build(s3=options)


class SasSigner(Provider):
    """URL signing with expiring SAS tokens (Microsoft Planetary Computer style).

    The token endpoint is ``token_url`` formatted with ``account`` and ``container``; by default
    both are read from an Azure blob href (``https://<account>.blob.core.windows.net/<container>/
    ...``); fixed values serve stores elsewhere. Tokens are re-requested ``margin`` seconds
    before their ``msft:expiry``, so a signed URL is never used after its token expired.
    ``blob_endpoint`` (with an ``{account}`` placeholder) says where an account's blob service
    answers ``abfs://`` reads, when it is not Azure's ``https://<account>.blob.core.windows.net``
    (an Azure-compatible emulator such as Azurite: ``http://127.0.0.1:10000/{account}``).
    """

    kind = "sas"

    def __init__(
        self,
        token_url: str,
        *,
        account: str | None = None,
        container: str | None = None,
        margin: float = 60.0,
        subscription_key: str | Secret | None = None,
        blob_endpoint: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.token_url, self.account, self.container, self.margin = (
            token_url,
            account,
            container,
            margin,
        )
        self.blob_endpoint = blob_endpoint
        self._key = Secret(_reveal(subscription_key)) if subscription_key else None
        self._fingerprint_secrets(subscription_key)
        self._tokens: dict[str, Material] = {}
        self._lock = threading.Lock()
        self.requests = 0

    def public_config(self) -> dict[str, Any]:
        config = {
            "token_url": self.token_url,
            "account": self.account,
            "container": self.container,
            "blob_endpoint": self.blob_endpoint,
        }
        return {**{k: v for k, v in config.items() if v}, **super().public_config()}

    def account_url(self, account: str) -> str:
        """Where ``account``'s blob service answers (``blob_endpoint``, else Azure's)."""
        template = self.blob_endpoint or "https://{account}.blob.core.windows.net"
        return template.format(account=account).rstrip("/")

    def scope(self, href: str) -> str:
        account, container = self._locate(href)
        return f"{account}/{container}"

    def _locate(self, href: str) -> tuple[str, str]:
        if self.account and self.container:
            return self.account, self.container
        parts = urlsplit(href)
        host = parts.hostname or ""
        segments = [s for s in parts.path.split("/") if s]
        if not host.endswith(".blob.core.windows.net") or not segments:
            raise errors.AuthError(
                f"cannot sign {host_of(href)}: not an Azure blob URL; give SasSigner an account "
                "and container",
                host=host_of(href),
            )
        return self.account or host.split(".")[0], self.container or segments[0]

    def material(self, href: str) -> Material:
        scope = self.scope(href)
        with self._lock:  # single flight: threads wait for the one request
            cached = self._tokens.get(scope)
            if cached is None or cached.expires_within(self.margin):
                cached = self._tokens[scope] = self._request(*scope.split("/"))
            return cached

    def invalidate(self, version: str) -> None:
        with self._lock:
            for scope, material in list(self._tokens.items()):
                if material.version == version:
                    del self._tokens[scope]

    def _request(self, account: str, container: str) -> Material:
        url = self.token_url.format(account=account, container=container)
        headers = {"Ocp-Apim-Subscription-Key": self._key.reveal()} if self._key else {}
        body = post_or_get(url, method="GET", headers=headers, what="SAS token")
        self.requests += 1
        token, expiry = body.get("token"), body.get("msft:expiry")
        if not isinstance(token, str) or not token:
            raise errors.AuthError(
                f"the SAS token service at {host_of(url)} returned no token", host=host_of(url)
            )
        expires_at = _parse_time(expiry) if expiry else _clock.now() + 3600
        log.debug("signed %s/%s until %s", account, container, expiry)
        return Material.build(query=Secret(token.lstrip("?")), expires_at=expires_at)


class Anonymous(Provider):
    """No credential: an explicit rule that a host needs none (and gets nothing)."""

    kind = "anonymous"

    def material(self, href: str) -> Material:
        return NO_MATERIAL


def connection_limit(value: Any, where: str) -> int | None:
    """A ``max_connections`` option as given in code, TOML or the environment: a positive
    whole number, or ``None`` / ``0`` / ``"none"`` / ``false`` for no limit. ``where`` names
    the preset or rule in the error."""
    if value is None or value is False or str(value).strip().lower() in _NO_LIMIT:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value) or None
    raise errors.ResolveError(
        f"{where}: max_connections must be a positive whole number (or none for no limit), "
        f"not {value!r}"
    )


def _reveal(value: str | Secret | None) -> str:
    return value.reveal() if isinstance(value, Secret) else str(value or "")


def _parse_time(value: str | float) -> float:
    if isinstance(value, int | float):
        return float(value)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
