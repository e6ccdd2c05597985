"""The ``xstac`` command line.

``xstac demo`` runs the offline demo on the local replica world (the README's main job);
``xstac demo serve`` runs that world in the foreground so you can point your own code at it.
Errors of xstac-access are printed as one line with exit code 2; ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import argparse
import sys

from . import errors


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xstac", description="Open STAC assets with xarray.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="offline demo on the local replica catalogue")
    demo.add_argument(
        "action",
        nargs="?",
        choices=("run", "serve"),
        default="run",
        help="run the demo (default) or only serve the local world",
    )
    demo.add_argument(
        "--latency-ms", type=int, default=0, help="delay the file server adds to each request"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``xstac`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo" and args.action == "serve":
            from .testing.__main__ import main as world_main

            return world_main(["serve", "--latency-ms", str(args.latency_ms)])
        if args.command == "demo":
            from .demo import run_demo

            run_demo(latency_ms=args.latency_ms)
            return 0
    except errors.XStacError as exc:
        if args.debug:
            raise
        print(f"xstac: error: {exc}", file=sys.stderr)
        return 2
    return 1  # pragma: no cover - argparse rejects unknown commands first


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
