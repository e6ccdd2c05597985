"""Rules: which hrefs a provider serves, and the providers known in this process.

A pattern with ``://`` is matched (``fnmatch``) against ``scheme://host[:port]/path`` of the
href, query removed; a pattern without is matched against the host (``host:port`` or bare host
name), so ``*.eodc.eu`` covers a domain. Both the broker (which provider serves an href) and the
configuration (which preset covers an href, for advice) match with :func:`pattern_matches`.

Every provider a broker is given is registered here by its id: an :class:`~.broker.Access`
unpickled in another process finds its provider through :func:`registered`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .._hrefs import host_of
from .providers import Provider

if TYPE_CHECKING:
    from ..http.protocols import BrokerLike

#: Makes the broker of one rule (``pattern``, ``provider``): what a provider that fetches its own
#: material with another provider's credential (Earthdata's S3 keys) sends its requests through.
BrokerOfOne = Callable[[str, Provider], "BrokerLike"]

#: Providers known in this process, by id: what an unpickled Access looks its provider up in.
_REGISTRY: dict[str, Provider] = {}
_registry_lock = threading.Lock()


def register(provider: Provider) -> Provider:
    """Make ``provider`` findable by id in this process (the latest of equal ids wins)."""
    with _registry_lock:
        _REGISTRY[provider.id] = provider
    return provider


def registered(provider_id: str) -> Provider | None:
    with _registry_lock:
        return _REGISTRY.get(provider_id)


def pattern_matches(pattern: str, href: str) -> bool:
    """Whether ``href`` falls under ``pattern`` (see the module docstring for the syntax)."""
    if "://" in pattern:
        parts = urlsplit(href)
        bare = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
        return fnmatchcase(bare, pattern) or fnmatchcase(bare + "/", pattern)
    host = host_of(href)
    return fnmatchcase(host, pattern) or fnmatchcase(host.split(":")[0], pattern)


@dataclass(frozen=True)
class Rule:
    """``pattern`` → ``provider`` (see the module docstring for pattern syntax).

    ``source`` says where the rule came from, for messages and ``xstac auth``: a preset name
    (``"maap"``), ``"config file"``, ``"code"``, or ``""`` when unknown.
    """

    pattern: str
    provider: Provider
    source: str = ""

    def matches(self, href: str) -> bool:
        return pattern_matches(self.pattern, href)
