"""A running local world used from other processes, through the state file it wrote.

A world writes its endpoints, PIDs, cache and clock to a JSON state file
(``LocalWorld.write_state``: the detached ``python -m xstac_access.testing start --state FILE``
does, and so does the test session's world). With that file another process can

- *borrow* the world (:class:`BorrowedWorld`): use it like a world it started, with its latency
  set for the borrower; leaving restores what the borrower may have changed (latency, faults,
  file-server and token-server settings, counters) and stops nothing. The demo, the examples,
  the documentation's pictures and the benchmarks borrow the world named by ``$XSTAC_WORLD``
  when it is set (:func:`world_from_env`) and start their own otherwise;
- *stop* it (:func:`~xstac_access.testing.detached.stop_from_state`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Self

from xstac_access.testing import stacproxy_client
from xstac_access.testing.admin import FileServerAdmin, OidcAdmin
from xstac_access.testing.detached import read_state
from xstac_access.testing.endpoints import Endpoints, started
from xstac_access.testing.oidc_state import DEFAULT_CONFIG, TUNABLES
from xstac_access.testing.replica import build_replica
from xstac_access.testing.s3 import S3Store
from xstac_access.testing.world import LocalWorld

#: Names the state file of a running world to borrow instead of starting one.
WORLD_ENV = "XSTAC_WORLD"


def world_from_env(*, latency_ms: int = 0, scale: str = "ci", seed: int = 0) -> LocalWorld:
    """The world to enter: the running one whose state file ``$XSTAC_WORLD`` names (borrowed),
    else a new one that starts on entry and stops on exit."""
    state = os.environ.get(WORLD_ENV)
    if state:
        return BorrowedWorld(Path(state), latency_ms=latency_ms, scale=scale, seed=seed)
    return LocalWorld(latency_ms=latency_ms, scale=scale, seed=seed)


class BorrowedWorld(LocalWorld):
    """A world another process started, used through its state file.

    ``start()`` attaches: the endpoints, the replica (its files are in the shared cache, so
    building it is only the STAC JSON), admin clients and the shared clock; then it puts the
    servers in the state the world started in, with ``latency_ms`` at the file server.
    ``stop()`` puts that state back (undoing what the borrower changed) and stops nothing;
    ``pids`` is empty.
    """

    def __init__(
        self, state_file: Path, *, latency_ms: int = 0, scale: str = "ci", seed: int = 0
    ) -> None:
        self.state_file = Path(state_file)
        self._state = read_state(self.state_file)
        super().__init__(
            Path(self._state["workdir"]),
            cache_dir=Path(self._state["cache_dir"]),
            latency_ms=latency_ms,
            scale=scale,
            seed=seed,
            access_token_lifetime=self._state["access_token_lifetime"],
        )

    def start(self) -> Self:
        """Attach to the running world; ``ValueError`` if it serves another scale or seed."""
        began = time.monotonic()
        served = (self._state["scale"], self._state["seed"])
        if served != (self.scale, self.seed):
            raise ValueError(
                f"the world of {self.state_file} serves scale {served[0]!r} seed {served[1]}, "
                f"not scale {self.scale!r} seed {self.seed}: unset {WORLD_ENV} to start one"
            )
        self.endpoints = Endpoints(**self._state["endpoints"])
        self.clock_file = Path(self._state["clock_file"])
        self.replica = build_replica(
            self.cache_dir, self.endpoints, seed=self.seed, scale=self.scale
        )
        self.files = FileServerAdmin(self.endpoints.http)
        self.oidc = OidcAdmin(self.endpoints.oidc)
        self.stac_quirks = stacproxy_client.StacProxyAdmin(self.endpoints.stac_quirks)
        self.s3 = S3Store(self.log_dir, port=int(self.endpoints.s3.rsplit(":", 1)[1]))
        self._restore(self.latency_ms)
        self.start_seconds = time.monotonic() - began
        return self

    def stop(self, *, keep_workdir: bool = False) -> None:
        """Put the world back as it started; stop nothing. Idempotent."""
        if self.files is not None:
            self._restore(self._state["latency_ms"])

    def _restore(self, latency_ms: float) -> None:
        """The servers as the world started them, at ``latency_ms``: no fault (held responses
        let go), the replica's protection config, the token server's lifetimes, no counts."""
        files, oidc, quirks = started(self.files), started(self.oidc), started(self.stac_quirks)
        files.clear_faults()
        files.set_config(started(self.replica).server_config)
        files.set_latency(latency_ms)
        files.reset()
        defaults = {key: DEFAULT_CONFIG[key] for key in TUNABLES}
        oidc.settings(**defaults | {"access_token_lifetime": self.access_token_lifetime})
        oidc.reset()
        quirks.clear_faults()
        quirks.reset()
