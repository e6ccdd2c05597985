"""Command line for the local world: ``python -m xstac_access.testing serve|start|stop``.

``serve`` runs a world in the foreground until Ctrl-C or SIGTERM. ``start --state FILE`` runs
``serve`` detached and returns once the world is up and FILE holds its endpoints and PIDs;
``stop --state FILE`` ends it. Other processes can use a detached world through FILE
(``XSTAC_WORLD=FILE``: see :mod:`xstac_access.testing.shared`).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from xstac_access.testing import endpoints
from xstac_access.testing.detached import read_state, stop_from_state

if TYPE_CHECKING:  # only ``serve`` needs the servers' heavy imports
    from xstac_access.testing.world import LocalWorld


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m xstac_access.testing", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run a local world in the foreground")
    start = sub.add_parser("start", help="start a detached local world")
    for cmd in (serve, start):
        cmd.add_argument("--latency-ms", type=int, default=0, help="file server delay")
        cmd.add_argument("--scale", choices=("ci", "bench"), default="ci")
        cmd.add_argument("--seed", type=int, default=0)
        cmd.add_argument("--access-token-lifetime", type=int, default=300, help="seconds")
        cmd.add_argument("--workdir", type=Path, help="logs and server files (default: temp)")
        cmd.add_argument("--cache-dir", type=Path, help="default: $XSTAC_CACHE_DIR or ~/.cache")
    serve.add_argument("--state", type=Path, help="write the world's state JSON here")
    start.add_argument("--state", type=Path, required=True, help="state JSON to write")
    start.add_argument("--timeout", type=float, default=300.0, help="seconds to wait")
    stop = sub.add_parser("stop", help="stop a detached local world")
    stop.add_argument("--state", type=Path, required=True, help="state JSON from start")
    return parser


def _world_args(args: argparse.Namespace) -> list[str]:
    """The options of ``start`` that ``serve`` takes too, as argv."""
    argv = [
        "--latency-ms", str(args.latency_ms), "--scale", args.scale, "--seed", str(args.seed),
        "--access-token-lifetime", str(args.access_token_lifetime),
    ]  # fmt: skip
    if args.workdir:
        argv += ["--workdir", str(args.workdir)]
    if args.cache_dir:
        argv += ["--cache-dir", str(args.cache_dir)]
    return argv


def serve(args: argparse.Namespace) -> int:
    """Start a world, print its endpoints, wait for Ctrl-C or SIGTERM, stop it."""
    from xstac_access.testing.world import LocalWorld

    done = threading.Event()

    def interrupt(signum: int, frame: object) -> None:
        if not started.is_set():
            raise KeyboardInterrupt  # abort a start in progress; start() stops what it began
        done.set()

    started = threading.Event()
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    world = LocalWorld(
        args.workdir,
        cache_dir=args.cache_dir,
        latency_ms=args.latency_ms,
        scale=args.scale,
        seed=args.seed,
        access_token_lifetime=args.access_token_lifetime,
    )
    try:
        world.start()
        started.set()
        print(json.dumps(world.state(), indent=1), flush=True)
        print(_summary(world), flush=True)
        if args.state:
            world.write_state(args.state)
            print(f"Borrow it: XSTAC_WORLD={args.state} xstac demo (examples, benchmarks too)")
        done.wait()
    except KeyboardInterrupt:
        return 130
    finally:
        world.stop()
        if args.state:
            args.state.unlink(missing_ok=True)
        print("local world stopped: every server ended", flush=True)
    return 0


def _summary(world: LocalWorld) -> str:
    ep, replica = endpoints.started(world.endpoints), endpoints.started(world.replica)
    return "\n".join(
        [
            f"local world up in {world.start_seconds:.1f} s (workdir {world.workdir})",
            f"  STAC API      {ep.stac}",
            f"  STAC quirks   {ep.stac_quirks}/<personality>/  (noquery, nofilter, cmr, ...)",
            f"  files         {ep.http}  (second host: {ep.http_alt})",
            f"  S3 endpoint   {ep.s3}  buckets: {', '.join(replica.s3_buckets)}",
            f"  OIDC          {ep.oidc}/realms/<realm>/protocol/openid-connect/token",
            "Ctrl-C or SIGTERM stops everything.",
        ]
    )


def start(args: argparse.Namespace) -> int:
    """Spawn a detached ``serve`` and return once it has written the state file."""
    state: Path = args.state.resolve()
    state.unlink(missing_ok=True)
    log_path = state.with_name(state.name + ".log")
    argv = [
        sys.executable,
        "-m",
        "xstac_access.testing",
        "serve",
        "--state",
        str(state),
    ]
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            argv + _world_args(args),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + args.timeout
    while not state.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)
            tail = log_path.read_text(errors="replace").splitlines()[-30:]
            print("local world failed to start:\n" + "\n".join(tail), file=sys.stderr)
            return 1
        time.sleep(0.1)
    print(json.dumps(read_state(state), indent=1))
    return 0


def stop(args: argparse.Namespace) -> int:
    """Stop the detached world recorded in the state file."""
    if not args.state.exists():
        print(f"no state file at {args.state}: nothing to stop", file=sys.stderr)
        return 1
    stop_from_state(args.state)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return {"serve": serve, "start": start, "stop": stop}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
