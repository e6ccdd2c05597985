"""The broker: which provider serves an href, the handles readers carry, the process's broker.

A :class:`Broker` is an ordered list of :class:`~.rules.Rule` (first match wins). Readers ask it
for an :class:`Access` per href; it pickles as the provider's id alone, and in another process
finds the provider there (by id in :mod:`.rules`' registry, or by href in that process's own
configuration) or gets short-lived material through the dask relay (:mod:`.relay`).

The process's broker (:func:`get_broker`) is built from the configuration (:mod:`.config`:
presets, the TOML file, the environment, and :func:`configure` in code); :func:`broker_from`
layers one call's ``credentials=`` on top. It lives here, beside :class:`Access`, because an
access unpickled in a worker falls back on it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn, cast

from .. import errors
from .._hrefs import host_of, safe_href
from . import relay
from .config import PRESETS, advice, configured_rules
from .material import NO_MATERIAL, Material
from .providers import Provider
from .rules import Rule, pattern_matches, register, registered

if TYPE_CHECKING:
    from ..http.protocols import AccessLike, MaterialLike


class Broker:
    """An ordered list of rules; ``access(href)`` gives the handle readers use."""

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self.rules: list[Rule] = []
        for rule in rules:
            self.add(rule.pattern, rule.provider, source=rule.source)

    def add(self, pattern: str, provider: Provider, *, source: str = "") -> Broker:
        """Append a rule (earlier rules win) and register its provider in this process."""
        self.rules.append(Rule(pattern, register(provider), source))
        return self

    def rule_for(self, href: str) -> Rule | None:
        """The first rule matching ``href`` (the one whose provider serves it), or ``None``."""
        return next((rule for rule in self.rules if rule.matches(href)), None)

    def provider_for(self, href: str) -> Provider | None:
        rule = self.rule_for(href)
        return rule.provider if rule is not None else None

    def access(self, href: str) -> Access:
        return Access(href, self.provider_for(href))

    def redirect_access(self, href: str, origin: AccessLike) -> Access:
        """The credential of a redirect target: its own rule's, or the origin's where its
        provider trusts the target's host, or none (:mod:`xstac_access.http.hops`)."""
        return _redirect_access(self.access(href), href, origin)

    def login_provider(self, href: str) -> Any:
        """The provider that logs in at ``href``'s host (Earthdata), if any."""
        for rule in self.rules:
            is_login = getattr(rule.provider, "is_login_host", None)
            if is_login is not None and is_login(href):
                return rule.provider
        return None

    def advice(self, href: str) -> str:
        """What to configure for ``href`` (said after a refusal)."""
        return advice(href)

    def describe(self, href: str) -> str:
        """Which provider serves ``href``, secret-free (for messages and the CLI)."""
        provider = self.provider_for(href)
        return f"{safe_href(href)} -> {provider!r}" if provider else f"{safe_href(href)} -> none"

    def handle(self) -> BrokerHandle:
        """A picklable stand-in (patterns and provider ids) for code that runs in workers."""
        return BrokerHandle(self)

    def __repr__(self) -> str:
        return (
            f"Broker({len(self.rules)} rules: "
            + ", ".join(f"{r.pattern} -> {type(r.provider).__name__}" for r in self.rules)
            + ")"
        )

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Broker holds secrets and cannot be pickled; pickle Access handles")


class BrokerHandle:
    """What of a broker may be pickled: its patterns and provider ids, in order.

    In the process that owns the broker it delegates to it; elsewhere it finds providers in that
    process's registry or, failing that, hands out :class:`Access` objects that use the relay.
    """

    def __init__(self, broker: Broker) -> None:
        self._broker: Broker | None = broker
        self.rules = tuple((r.pattern, r.provider.id) for r in broker.rules)
        self.limits = {r.provider.id: r.provider.max_connections for r in broker.rules}

    def access(self, href: str) -> Access:
        """The credential for ``href`` by its own rule (none: an access that is not needed)."""
        if self._broker is not None:
            return self._broker.access(href)
        for pattern, provider_id in self.rules:
            if pattern_matches(pattern, href):
                access = Access(href, registered(provider_id))
                access.provider_id = provider_id
                access.max_connections = self.limits.get(provider_id)
                return access
        return Access(href, None)

    def redirect_access(self, href: str, origin: AccessLike) -> Access:
        """As :meth:`Broker.redirect_access`."""
        return _redirect_access(self.access(href), href, origin)

    def login_provider(self, href: str) -> Any:
        if self._broker is not None:
            return self._broker.login_provider(href)
        for _, provider_id in self.rules:
            provider = registered(provider_id)
            if getattr(provider, "is_login_host", lambda h: False)(href):
                return provider
        return None

    def advice(self, href: str) -> str:
        return advice(href)

    def __reduce__(self) -> tuple[Callable[..., BrokerHandle], tuple[Any, ...]]:
        return (_restore_handle, (self.rules, self.limits))


def _redirect_access(own: Access, href: str, origin: AccessLike) -> Access:
    if own.needed:
        return own
    provider = origin.provider
    if provider is not None and provider.trusts(href):
        return Access(href, provider)
    return own


def _restore_handle(
    rules: tuple[tuple[str, str], ...], limits: dict[str, int | None]
) -> BrokerHandle:
    handle = BrokerHandle.__new__(BrokerHandle)
    handle._broker, handle.rules, handle.limits = None, rules, limits
    return handle


class Access:
    """The credential of one href, as readers carry it: picklable, secret-free when pickled."""

    __slots__ = ("_provider", "href", "max_connections", "provider_id", "scope")

    def __init__(self, href: str, provider: Provider | None) -> None:
        self.href = href
        self._provider = provider
        self.provider_id = provider.id if provider is not None else None
        self.scope = provider.scope(href) if provider is not None else ""
        #: The provider's connection limit, carried to workers (:mod:`xstac_access.http.limits`).
        self.max_connections = provider.max_connections if provider is not None else None

    @property
    def provider(self) -> Provider | None:
        if self._provider is None and self.provider_id is not None:
            self._provider = registered(self.provider_id)
        return self._provider

    @property
    def needed(self) -> bool:
        return self.provider_id is not None

    def material(self) -> Material:
        """Fresh material for this href (refreshed by the provider, or relayed to a worker)."""
        if self.provider_id is None:
            return NO_MATERIAL
        provider = self.provider
        if provider is not None:
            return provider.material(self.href)
        material = relay.fetch(self.provider_id, self.href, self.scope)
        if material is None:  # no relay: this process's own configuration (env, TOML) may have it
            local = get_broker().provider_for(self.href)
            material = local.material(self.href) if local is not None else None
        if material is None:
            raise errors.AuthError(
                f"no credential for {host_of(self.href)} in this process (a dask worker?): "
                "configure it through environment variables or the config file so workers see "
                "it too, or compute with a dask.distributed Client in the process that has it",
                href=safe_href(self.href),
                host=host_of(self.href),
            )
        return material

    def invalidate(self, material: MaterialLike) -> None:
        """The server refused ``material``: the next :meth:`material` call gets a new one."""
        provider = self.provider
        if provider is not None:
            provider.invalidate(material.version)
        else:
            relay.forget(self.provider_id, self.href, material.version, self.scope)

    def __reduce__(self) -> tuple[Callable[..., Access], tuple[Any, ...]]:
        provider = self.provider
        if provider is not None:
            relay.offer(provider, self.href)
        return (_restore_access, (self.href, self.provider_id, self.scope, self.max_connections))

    def __copy__(self) -> Access:
        return self  # immutable: copies (xarray deep-copies attrs and arrays) share the handle

    def __deepcopy__(self, memo: dict) -> Access:
        return self

    def __repr__(self) -> str:
        return f"Access({safe_href(self.href)!r}, provider={self.provider_id})"


def as_access(access: AccessLike) -> Access:
    """A credential the http layer handed back (a landing's), as the :class:`Access` it is: that
    layer types accesses by its protocol, and the brokers here (and their handles) give only
    :class:`Access` objects."""
    return cast(Access, access)


def _restore_access(
    href: str, provider_id: str | None, scope: str, max_connections: int | None
) -> Access:
    access = Access(href, None)
    access.provider_id, access.scope, access.max_connections = provider_id, scope, max_connections
    return access


# The process's broker, built from the configuration on first use.

_lock = threading.Lock()
_code: dict[str, Any] = {"presets": {}, "rules": []}
_default: Broker | None = None
_per_call: dict[str, Broker] = {}


def configure(
    *,
    rules: list[tuple[str, Provider]] | None = None,
    replace: bool = False,
    **presets: Mapping[str, Any] | bool,
) -> Broker:
    """Configure the process's broker in code; returns it.

    ``configure(maap={"offline_token_file": "~/maap-token.txt"})``,
    ``configure(cdse={"username": u, "password": p})``, ``configure(earthdata={"token": t})``,
    ``configure(rules=[("https://data.example.com/*", BearerToken(t))])``. A preset given
    ``False`` is switched off, one given ``True`` is on with its own options (as by default).
    ``replace=True`` forgets earlier ``configure`` calls first.
    """
    global _default
    unknown = set(presets) - set(PRESETS)
    if unknown:
        raise errors.ResolveError(
            f"unknown credential preset(s) {sorted(unknown)}; presets: "
            + ", ".join(sorted(PRESETS))
        )
    with _lock:
        if replace:
            _code["presets"], _code["rules"] = {}, []
        for name, options in presets.items():
            _code["presets"][name] = options if isinstance(options, bool) else dict(options or {})
        _code["rules"] = list(rules or []) + _code["rules"]
        _default = None
        _per_call.clear()
    return get_broker()


def reset() -> None:
    """Forget code configuration; the next use re-reads the environment and the config file."""
    global _default
    with _lock:
        _code["presets"], _code["rules"], _default = {}, [], None
        _per_call.clear()


def get_broker() -> Broker:
    """The process's broker (built on first use from defaults, TOML, environment and code)."""
    global _default
    with _lock:
        if _default is None:
            _default = build_broker(_code["presets"], _code["rules"])
        return _default


def broker_from(credentials: Broker | Mapping[str, Any] | None) -> Broker:
    """The broker for one call's ``credentials=``: a Broker, or presets/rules layered on top."""
    if credentials is None:
        return get_broker()
    if isinstance(credentials, Broker):
        return credentials
    key = _cache_key(credentials)
    with _lock:  # built once even when threads ask together: one provider, one token
        broker = _per_call.get(key)
        if broker is None:
            options = dict(credentials)
            rules = options.pop("rules", None) or []
            broker = build_broker({**_code["presets"], **options}, list(rules) + _code["rules"])
            _per_call[key] = broker
            while len(_per_call) > 16:
                _per_call.pop(next(iter(_per_call)))
        return broker


def _cache_key(credentials: Mapping[str, Any]) -> str:
    """Equal ``credentials=`` dicts share one broker, so tokens are reused across calls."""

    def default(value: Any) -> str:
        return f"<{type(value).__name__} {id(value)}>"  # providers: by identity

    blob = json.dumps([credentials, _code["presets"]], sort_keys=True, default=default)
    return hashlib.sha256(blob.encode()).hexdigest()


def build_broker(code_presets: Mapping[str, Any], code_rules: list[tuple[str, Provider]]) -> Broker:
    """A broker of the configuration's rules (:func:`.config.configured_rules`)."""
    return Broker(configured_rules(code_presets, code_rules, _broker_of_one))


def _broker_of_one(pattern: str, provider: Provider) -> Broker:
    return Broker([Rule(pattern, provider)])
