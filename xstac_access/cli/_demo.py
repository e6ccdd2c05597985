"""``xstac demo``: the offline demo on the local replica world, or that world alone."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import command


def register(sub: Any) -> None:
    parser = command(
        sub, "demo", "offline demo on the local replica catalogue",
        "Start the local replica world (STAC API, file server, S3, OIDC on 127.0.0.1), search "
        "it, open a COG and a GCP GeoTIFF and print what it cost; 'serve' only runs the world "
        "in the foreground until Ctrl-C.",
        ["xstac demo", "xstac demo serve --latency-ms 50"],
    )  # fmt: skip
    parser.add_argument(
        "action", nargs="?", choices=("run", "serve"), default="run",
        help="run the demo (default) or only serve the local world",
    )  # fmt: skip
    parser.add_argument(
        "--latency-ms", type=int, default=0, help="delay the file server adds to each request"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo, or serve the world until interrupted."""
    if args.action == "serve":
        from ..testing.__main__ import main as world_main

        return world_main(["serve", "--latency-ms", str(args.latency_ms)])
    from ..demo import run_demo

    run_demo(latency_ms=args.latency_ms)
    return 0
