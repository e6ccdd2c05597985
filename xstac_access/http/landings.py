"""Where an href lands after its redirects, kept per process until a read there is refused.

GDAL sends its headers and cookies only to the host it was given, so for a credential that
must follow a redirect (CDSE's download host) or a login that sets cookies (NASA Earthdata) the
engine walks the redirect chain itself (:func:`~.fetch.land`) and gives GDAL
the URL where it ends. That URL may expire: NASA's cloud data hosts (TEA) answer an authorised
request with a 303 to a presigned S3 URL valid at most one hour, after which S3 answers 403
``AccessDenied`` "Request has expired". A read that outlives it (a cached dataset, a long dask
job) then lands again: :func:`forget` drops the landing and the next :func:`landed` walks the
chain again through the data host, with the credential.

Landed URLs, presigned signatures included, stay in this process: what readers pickle is the
href they were given, and an unpickled reader lands again where it runs.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

from .fetch import land
from .hops import Landing

if TYPE_CHECKING:
    from .protocols import AccessLike as Access
    from .protocols import BrokerLike as Broker

#: Landings kept (the least recently used go first): one per remote file being read.
MAX_LANDINGS = 256
_LANDED: OrderedDict[tuple[str, str | None], tuple[Landing | None, Broker | None]] = OrderedDict()
_lock = threading.Lock()


def landed(
    href: str,
    access: Access,
    broker: Broker | Callable[[], Broker],
    *,
    what: str = "asset",
    fresh: bool = False,
) -> Landing:
    """Where ``href`` lands with ``access``'s credential: as walked before in this process, or
    walked now (``fresh``, or after :func:`forget`) with the broker of the last walk, else
    ``broker`` (a callable: called only then, for the one configured in this process)."""
    key = (href, access.provider_id)
    with _lock:
        known, kept = _LANDED.get(key, (None, None))
    if known is not None and not fresh:
        return known
    if fresh or kept is None:
        kept = broker() if callable(broker) else broker
    landing = land(href, access=access, broker=kept, what=what)
    remember(href, access, landing, kept)
    return landing


def known(href: str, access: Access) -> Landing | None:
    """Where ``href`` landed when walked in this process, if it was and is not forgotten."""
    with _lock:
        return _LANDED.get((href, access.provider_id), (None, None))[0]


def remember(href: str, access: Access, landing: Landing, broker: Broker | None = None) -> None:
    """Record where ``href`` landed, walked by a read of its own (a zip's tail)."""
    key = (href, access.provider_id)
    with _lock:
        _LANDED[key] = (landing, broker)
        _LANDED.move_to_end(key)
        while len(_LANDED) > MAX_LANDINGS:
            _LANDED.popitem(last=False)


def forget(href: str, access: Access) -> None:
    """A read where ``href`` landed was refused (an expired presigned URL): land again next."""
    key = (href, access.provider_id)
    with _lock:
        if key in _LANDED:
            _LANDED[key] = (None, _LANDED[key][1])
