"""The time that token and signature lifetimes are measured against.

:func:`now` is ``time.time()``, plus, when the environment variable ``XSTAC_CLOCK_FILE`` names a
file, the number of seconds written in it. The local test servers (token server, file server)
and every process of a test run (dask workers inherit the environment) read that one file, so a
test moves time forward for all of them at once, with one write, instead of sleeping until a
token expires. When the variable is unset, as for every user, the only cost is one environment
lookup and nothing is read. The file is written by ``xstac_access.testing.clock``.
"""

from __future__ import annotations

import os
import time

ENV = "XSTAC_CLOCK_FILE"
#: How often :func:`sleep_until` looks at a shared clock, which a test may move at any moment.
POLL_SECONDS = 0.05


def offset() -> float:
    """Seconds the shared clock is ahead of the system clock (0 when there is none)."""
    path = os.environ.get(ENV)
    if not path:
        return 0.0
    try:
        with open(path) as fh:
            return float(fh.read().strip() or 0.0)
    except (OSError, ValueError):
        return 0.0


def now() -> float:
    """Seconds since the epoch, on the shared clock when a test set one up."""
    return time.time() + offset()


def sleep_until(moment: float) -> None:
    """Sleep until :func:`now` reaches ``moment``. On the system clock that is one sleep; on a
    shared clock it wakes every ``POLL_SECONDS`` to see whether a test moved time past it."""
    while (left := moment - now()) > 0:
        time.sleep(min(left, POLL_SECONDS) if os.environ.get(ENV) else left)
