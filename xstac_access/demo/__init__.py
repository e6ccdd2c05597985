"""The offline demo (``xstac demo`` / ``make demo``): the five seed workflows on the local replica.

It starts the local world (STAC API, file server, S3 store, token server on 127.0.0.1), or
borrows the running one whose state file ``$XSTAC_WORLD`` names (the test suite's), and, for
each catalogue of the seed notebooks (ESA MAAP, Earth Search + NASA CMR, the EOPF Zarr service,
CDSE, and a catalogue that rejects ``query``), does what the notebook does by hand in a call or
two of xstac-access: search, open lazily, draw a quicklook, download. Each step prints what it
cost at the server (requests, bytes, seconds); the pictures and downloads land in ``out_dir``.
The steps themselves are in :mod:`xstac_access.demo.systems`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from ..testing.world import LocalWorld

DEFAULT_OUT = Path("xstac-demo")


@dataclass
class Cost:
    """What one step cost at the local file server: filled in when the step ends."""

    requests: int = 0
    bytes: int = 0
    seconds: float = 0.0

    def __str__(self) -> str:
        return f"{self.requests} requests, {_size(self.bytes)}, {self.seconds:.2f} s"


@dataclass
class Demo:
    """The world the demo runs in, where it writes, and how it reports."""

    world: LocalWorld
    out_dir: Path
    out: TextIO = field(default=sys.stdout)

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def step(self, text: str) -> None:
        self.say(f"   {text}")

    def path(self, name: str) -> Path:
        """A file in the output folder (created on first use)."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        return self.out_dir / name

    @contextmanager
    def cost(self, prefix: str = "/") -> Iterator[Cost]:
        """Count the requests and bytes the file server answers under ``prefix`` (both of its
        hosts) while the block runs."""
        self.world.files.reset()
        cost, began = Cost(), time.perf_counter()
        yield cost
        cost.seconds = time.perf_counter() - began
        stats = self.world.files.stats()
        for key, count in stats["requests"].items():
            if key.partition(":")[2].startswith(prefix):
                cost.requests += count
                cost.bytes += stats["bytes"].get(key, 0)

    def file_size(self, href: str) -> int:
        """Size of the replica file behind a file-server ``href``."""
        for base in (self.world.endpoints.http, self.world.endpoints.http_alt):
            if href.startswith(base):
                path = href[len(base) :].split("?")[0].lstrip("/")
                return (self.world.replica.files_root / path).stat().st_size
        raise ValueError(f"{href} is not served by the local file server")


def run_demo(
    *, latency_ms: int = 0, out_dir: str | Path = DEFAULT_OUT, out: TextIO = sys.stdout
) -> None:
    """Run the demo against a fresh local world (or the one ``$XSTAC_WORLD`` names) and print
    its report to ``out``."""
    from .. import credentials
    from ..testing.shared import BorrowedWorld, world_from_env
    from . import systems

    world = world_from_env(latency_ms=latency_ms)
    borrowed = isinstance(world, BorrowedWorld)
    what = "STAC API, HTTP, S3, OIDC on 127.0.0.1"
    if borrowed:
        print(f"Using the running local world of {world.state_file} ({what})...", file=out)
    else:
        print(f"Starting the local replica world ({what})...", file=out)
    with world:
        demo = Demo(world, Path(out_dir), out)
        e = world.endpoints
        demo.step(
            f"up in {world.start_seconds:.1f} s: STAC API {e.stac}, files {e.http}, S3 {e.s3}, "
            f"OIDC {e.oidc}"
        )
        try:
            for number, system in enumerate(systems.ALL, start=1):
                demo.say()
                demo.say(f"{number}. {system.__doc__.splitlines()[0]}")
                system(demo)
        finally:
            credentials.reset()
    demo.say()
    demo.say(f"Pictures and downloads are in {demo.out_dir.resolve()}")
    if borrowed:
        demo.say("Done: the running world was left as it was found.")
    else:
        demo.say("Done: every server was stopped.")


def _size(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


def indent(text: str, prefix: str = "      ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


__all__ = ["DEFAULT_OUT", "Cost", "Demo", "indent", "run_demo"]
