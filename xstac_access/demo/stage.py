"""The stage of the demo: the world it runs in, where it writes, what it says, what steps cost."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ..testing.endpoints import started

if TYPE_CHECKING:
    from ..testing.world import LocalWorld


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
        started(self.world.files).reset()
        cost, began = Cost(), time.perf_counter()
        yield cost
        cost.seconds = time.perf_counter() - began
        stats = started(self.world.files).stats()
        for key, count in stats["requests"].items():
            if key.partition(":")[2].startswith(prefix):
                cost.requests += count
                cost.bytes += stats["bytes"].get(key, 0)

    def file_size(self, href: str) -> int:
        """Size of the replica file behind a file-server ``href``."""
        endpoints = started(self.world.endpoints)
        for base in (endpoints.http, endpoints.http_alt):
            if href.startswith(base):
                path = href[len(base) :].split("?")[0].lstrip("/")
                return (started(self.world.replica).files_root / path).stat().st_size
        raise ValueError(f"{href} is not served by the local file server")


def _size(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


def indent(text: str, prefix: str = "      ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())
