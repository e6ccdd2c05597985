"""``xstac download``: files of items to disk, through :func:`xstac_access.download`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ._common import (
    CliError,
    command,
    human_size,
    json_value,
    storage_options,
    storage_options_argument,
    table,
)


def register(sub: Any) -> None:
    parser = command(
        sub, "download", "download asset files: parallel, resumable, verified",
        "Download the assets of items to DIR/<item id>/<file name>: by default each item's data "
        "files (role 'data', no archives when there are plain files, no Zarr stores), or those "
        "--assets names (keys or patterns). A cut transfer resumes from its .part file; a "
        "complete file is skipped; file:size and file:checksum are checked. Exit code 0 when "
        "every file is there, 1 when some failed.",
        [
            "xstac download ITEM_URL --dest data/",
            "xstac download item1.json item2.json --dest data/ --assets red green blue",
            "xstac search URL --collections sentinel-2-l2a --format geojson -o found.geojson",
            "xstac download found.geojson --dest data/ --assets 'B0*' --parallel 8",
            "xstac search URL --format geojson | xstac download - --dest data/",
        ],
    )  # fmt: skip
    parser.add_argument(
        "inputs", nargs="+", metavar="ITEM_OR_HREF_OR_GEOJSON",
        help="item URLs or paths, asset hrefs, GeoJSON FeatureCollection files ('-': stdin)",
    )  # fmt: skip
    parser.add_argument("--dest", type=Path, required=True, metavar="DIR", help="where to write")
    parser.add_argument(
        "--assets", nargs="+", metavar="PATTERN", help="asset keys or fnmatch patterns ('*': all)"
    )
    parser.add_argument(
        "--parallel", type=int, default=4, metavar="N", help="files at once (default 4)"
    )
    parser.add_argument(
        "--no-resume", action="store_true", help="start over instead of resuming .part files"
    )
    parser.add_argument("--no-verify", action="store_true", help="do not check file:checksum")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument(
        "--overwrite", action="store_true", help="download again files that already exist"
    )
    storage_options_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Download, print one row per file and the totals; 1 when any file failed."""
    from .._download import download

    options = storage_options(args)
    credentials = None
    if options is not None:  # s3fs options as a rule for every s3:// href, before the presets
        from ..credentials import S3Credentials

        credentials = {"rules": [("s3://*", S3Credentials.from_storage_options(options))]}
    report = download(
        [read_input(value) for value in args.inputs],
        args.dest,
        assets=args.assets,
        parallel=args.parallel,
        resume=not args.no_resume,
        verify=not args.no_verify,
        progress=not args.no_progress,
        overwrite=args.overwrite,
        credentials=credentials,
    )
    rows = [
        [e.status, e.item or "-", e.asset or "-", human_size(e.size), str(e.path or "")]
        for e in report.entries
    ]
    if rows:
        print(table(["status", "item", "asset", "size", "file"], rows))
    print(report.summary())
    return 0 if report.ok else 1


def read_input(value: str) -> Any:
    """A FeatureCollection file (or ``-``, stdin) as its dict; anything else as given."""
    if value == "-":
        text = sys.stdin.read()
    else:
        path = Path(value)
        if path.suffix.lower() not in (".json", ".geojson") or not path.is_file():
            return value
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot read {value}: {exc.strerror}") from None
    document = json_value(text, "stdin" if value == "-" else value)
    if isinstance(document, dict) and document.get("type") == "FeatureCollection":
        return document
    return value if value != "-" else document  # one item: by path, so relative hrefs resolve
