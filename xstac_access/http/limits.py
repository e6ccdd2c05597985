"""Connection limits per credential: at most N requests of one user in flight in this process.

Some services cap the connections a user may have open at once and refuse the next one (CDSE:
4 for a general user, answered with 429). A provider's ``max_connections`` sets such a cap;
every I/O path of the process takes a slot of that provider's one :class:`Limiter` for each
request it makes with the provider's credential, and gives it back when the response is done:

* the requests sessions (:mod:`.session`: the engine's own reads, searches): one slot for a
  request and its whole chain of redirects;
* downloads (:mod:`xstac_access._download.transfer`): one slot for each attempt at a file, from its
  first request to the last byte written;
* GDAL (:mod:`xstac_access.readers._gdal`): one slot for each open or read while it runs.
  GDAL reads one range at a time in a thread (``GDAL_NUM_THREADS=1``), except a read of
  several blocks, which it fetches in parallel (``GDAL_HTTP_MULTIRANGE=YES``, its default,
  opens a connection per range on HTTP/1.1): :func:`gdal_options` makes that serial for a
  limited credential;
* fsspec/zarr (the aiohttp middleware of :mod:`.aio`): one slot for each request, held until
  aiohttp gives its connection back (the body read or released).

Threads wait in turn (first come, first served) and coroutines wait without blocking their
event loop. A thread that holds a slot never waits for another: its nested requests (a
diagnosis read after a failed GDAL read, the hops of a download) use the slot it holds, and a
nested request for another limited provider takes a slot only if one is free. Token requests
never take a slot. The limit is per process: dask worker processes (and each process of a
multiprocessing pool) have limiters of their own, with the same limit, which is carried by the
pickled :class:`~xstac_access.credentials.broker.Access` handles (``max_connections``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

from .._log import get_logger

if TYPE_CHECKING:
    from .protocols import AccessLike as Access

log = get_logger(__name__)

#: GDAL options for a limited credential: the blocks of one read come one range after another.
SERIAL_RANGES = {"GDAL_HTTP_MULTIRANGE": "SERIAL"}


class Limiter:
    """A counting semaphore shared by threads and event loops, first come, first served.

    A released slot goes straight to the longest waiter, so a newcomer cannot overtake it.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_use = 0
        self._waiters: deque[Callable[[], object]] = deque()  # what a waker returns is unused
        self._lock = threading.Lock()
        self._queued = threading.Condition(self._lock)  # notified when a waiter queues

    def acquire(self, *, blocking: bool = True) -> bool:
        """Take a slot, waiting for one unless ``blocking`` is false; whether one was taken."""
        with self._lock:
            if self.in_use < self.limit and not self._waiters:
                self.in_use += 1
                return True
            if not blocking:
                return False
            event = threading.Event()
            self._waiters.append(event.set)
            self._queued.notify_all()
        event.wait()
        return True

    async def acquire_async(self) -> None:
        """Take a slot, waiting for one without blocking the running event loop."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self.in_use < self.limit and not self._waiters:
                self.in_use += 1
                return
            future = loop.create_future()
            wake = functools.partial(loop.call_soon_threadsafe, self._grant, future)
            self._waiters.append(wake)
            self._queued.notify_all()
        try:
            await future
        except asyncio.CancelledError:
            with self._lock:
                if wake in self._waiters:  # still queued: no slot was handed over
                    self._waiters.remove(wake)
                    raise
            if future.done() and not future.cancelled():
                self.release()  # handed over, but the task was cancelled before it resumed
            raise  # (a cancelled future gives its slot back in _grant)

    def _grant(self, future: asyncio.Future) -> None:
        if future.cancelled():
            self.release()
        else:
            future.set_result(None)

    def release(self) -> None:
        """Give a slot back: to the longest waiter, else to the pool."""
        with self._lock:
            while self._waiters:
                wake = self._waiters.popleft()
                try:
                    wake()
                    return
                except RuntimeError:  # that waiter's event loop is closed: the next one
                    continue
            self.in_use -= 1

    @property
    def waiting(self) -> int:
        """How many threads and tasks wait for a slot."""
        return len(self._waiters)

    def wait_for_waiting(self, count: int, timeout: float) -> bool:
        """Block until at least ``count`` threads or tasks wait for a slot; ``False`` after
        ``timeout`` seconds. What a test or a monitor watches to see requests held back."""
        with self._queued:
            return self._queued.wait_for(lambda: len(self._waiters) >= count, timeout)

    def __repr__(self) -> str:
        return f"Limiter({self.in_use}/{self.limit} in use, {self.waiting} waiting)"


_limiters: dict[str, Limiter] = {}
_registry_lock = threading.Lock()
_held = threading.local()


def _forget_all() -> None:
    """In a forked child: the parent's slots belong to threads that do not exist here."""
    global _registry_lock
    _registry_lock = threading.Lock()
    _limiters.clear()
    _held.__dict__.clear()


os.register_at_fork(after_in_child=_forget_all)


def limiter_for(access: Access | None) -> Limiter | None:
    """The limiter of ``access``'s provider in this process, or ``None`` when it has no
    connection limit (or there is no credential)."""
    if access is None or access.provider_id is None or not access.max_connections:
        return None
    with _registry_lock:
        limiter = _limiters.get(access.provider_id)
        if limiter is None:
            limiter = _limiters[access.provider_id] = Limiter(access.max_connections)
        return limiter


@contextlib.contextmanager
def slot(access: Access | None) -> Iterator[None]:
    """Hold a connection slot of ``access``'s provider for the ``with`` block (a no-op without
    a limit, or when this thread holds that provider's slot already)."""
    limiter = limiter_for(access)
    held: set[int] = _held.__dict__.setdefault("limiters", set())
    if limiter is None or id(limiter) in held:
        yield
        return
    if not limiter.acquire(blocking=not held):
        log.debug("a nested request goes without a slot of its own: %r", limiter)
        yield
        return
    held.add(id(limiter))
    try:
        yield
    finally:
        held.discard(id(limiter))
        limiter.release()


def limited(
    handler: Callable[[Any], Awaitable[Any]], access: Access
) -> Callable[[Any], Awaitable[Any]]:
    """``handler`` (an aiohttp client middleware's next step) taking a slot of ``access``'s
    provider for each request, held until aiohttp gives the connection back."""
    limiter = limiter_for(access)
    if limiter is None:
        return handler

    async def send(request: Any) -> Any:
        await limiter.acquire_async()
        try:
            response = await handler(request)
        except BaseException:
            limiter.release()
            raise
        connection = response.connection
        if connection is None:  # the body is in already and the connection back in the pool
            limiter.release()
        else:
            connection.add_callback(limiter.release)
        return response

    return send


def gdal_options(
    access: Access | None, config: dict[str, str] | None = None
) -> dict[str, str] | None:
    """``config`` plus :data:`SERIAL_RANGES` when ``access`` is limited: then a read of several
    blocks keeps to the one connection its slot stands for."""
    if limiter_for(access) is None:
        return config
    return {**(config or {}), **SERIAL_RANGES}
