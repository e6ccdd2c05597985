"""The ``xstac`` command line: a thin layer over the library's Python API.

``search`` (:func:`xstac_access.search`), ``info`` (resolve + the readers' dispatch),
``open`` and ``quicklook`` (``xr.open_dataset``/``open_datatree`` with the stacasset engine,
``.eo.quicklook``), ``download`` (:func:`xstac_access.download`), ``auth`` (the
credential broker), and ``demo`` (the offline demo on the local replica world).

Credentials come from the library's configuration: ``XSTAC_<PRESET>_<OPTION>`` environment
variables and the TOML file (``$XSTAC_CONFIG``, ``--config FILE``, else
``~/.config/xstac-access/config.toml``). Exit codes: 0 success, 1 some downloads failed,
2 an error of xstac-access (printed as one line ``xstac: error: ...``; ``--debug`` shows the
traceback) or a usage error, 130 interrupted, 141 stdout closed early (``| head``). Commands
import what they need when they run: ``xstac --help`` costs the package's own import (xarray).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from .. import errors
from . import _auth, _demo, _download, _info, _open, _search
from ._common import CliError, HelpFormatter, global_options

__all__ = ["build_parser", "main"]

_COMMANDS = (_search, _info, _open, _download, _auth, _demo)


def build_parser() -> argparse.ArgumentParser:
    """The ``xstac`` parser with every subcommand (each sets ``run`` in its defaults)."""
    parser = argparse.ArgumentParser(
        prog="xstac",
        description="Search STAC catalogues, open their assets with xarray, download them.",
        epilog="examples:\n"
        "  xstac search URL --collections sentinel-2-l2a --max-items 5\n"
        "  xstac info ITEM_URL\n"
        "  xstac open ITEM_URL --asset red\n"
        "  xstac quicklook ITEM_URL --asset visual -o tci.png\n"
        "  xstac download ITEM_URL --dest data/\n"
        "  xstac auth URL --test\n"
        "'xstac COMMAND --help' tells more.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    global_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _COMMANDS:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``xstac`` console script; returns the exit code."""
    args = build_parser().parse_args(_descending_sort_keys(sys.argv[1:] if argv is None else argv))
    _logging(args.verbose, args.debug)
    try:
        with _config_file(args.config):
            return args.run(args)
    except errors.XStacError as exc:
        if args.debug:
            raise
        print(f"xstac: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("xstac: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # ``xstac ... | head``: the reader left; say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


@contextlib.contextmanager
def _config_file(path: Path | None) -> Iterator[None]:
    """With ``--config``, the credentials are read from ``path`` (as ``$XSTAC_CONFIG`` does)
    for the duration of the command."""
    if path is None:
        yield
        return
    from ..credentials import reset

    if not path.expanduser().is_file():
        raise CliError(f"--config: no file at {path}")
    previous = os.environ.get("XSTAC_CONFIG")
    os.environ["XSTAC_CONFIG"] = str(path.expanduser())
    reset()
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("XSTAC_CONFIG", None)
        else:
            os.environ["XSTAC_CONFIG"] = previous
        reset()


def _descending_sort_keys(argv: list[str]) -> list[str]:
    """``--sortby -FIELD`` as ``--sortby=-FIELD``: argparse would take ``-FIELD`` for an option."""
    out: list[str] = []
    words = iter(argv)
    for word in words:
        if word == "--sortby":
            value = next(words, None)
            if value is not None and value.startswith("-") and value not in ("-h", "-v", "-o"):
                out.append(f"--sortby={value}")
                continue
            out += [word] if value is None else [word, value]
        else:
            out.append(word)
    return out


def _logging(verbose: bool, debug: bool) -> None:
    """Logs of xstac-access to stderr (INFO with ``-v``, DEBUG with ``--debug``), redacted."""
    if not (verbose or debug):
        return
    from .._log import RedactingFilter

    logger = logging.getLogger("xstac_access")
    logger.setLevel(logging.DEBUG if debug else logging.INFO)
    if any(getattr(h, "xstac_cli", False) for h in logger.handlers):
        return  # main() called again in this process: one handler is enough
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.xstac_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)


def _one_line(exc: BaseException) -> str:
    """The message on one line, with any secret the library knows masked (belt and braces)."""
    from .._log import redact

    return redact(" ".join(str(exc).split()))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("xstac-access")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"
