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
from pathlib import Path
from typing import TextIO

from .stage import Cost, Demo, indent

DEFAULT_OUT = Path("xstac-demo")


def run_demo(
    *, latency_ms: int = 0, out_dir: str | Path = DEFAULT_OUT, out: TextIO = sys.stdout
) -> None:
    """Run the demo against a fresh local world (or the one ``$XSTAC_WORLD`` names) and print
    its report to ``out``."""
    from .. import credentials
    from ..testing.endpoints import started
    from ..testing.shared import BorrowedWorld, world_from_env
    from . import systems

    world = world_from_env(latency_ms=latency_ms)
    borrowed = isinstance(world, BorrowedWorld)
    what = "STAC API, HTTP, S3, OIDC on 127.0.0.1"
    if isinstance(world, BorrowedWorld):
        print(f"Using the running local world of {world.state_file} ({what})...", file=out)
    else:
        print(f"Starting the local replica world ({what})...", file=out)
    with world:
        demo = Demo(world, Path(out_dir), out)
        e = started(world.endpoints)
        demo.step(
            f"up in {world.start_seconds:.1f} s: STAC API {e.stac}, files {e.http}, S3 {e.s3}, "
            f"OIDC {e.oidc}"
        )
        try:
            for number, system in enumerate(systems.ALL, start=1):
                demo.say()
                demo.say(f"{number}. {(system.__doc__ or system.__name__).splitlines()[0]}")
                system(demo)
        finally:
            credentials.reset()
    demo.say()
    demo.say(f"Pictures and downloads are in {demo.out_dir.resolve()}")
    if borrowed:
        demo.say("Done: the running world was left as it was found.")
    else:
        demo.say("Done: every server was stopped.")


__all__ = ["DEFAULT_OUT", "Cost", "Demo", "indent", "run_demo"]
