"""``xstac search``: items of a STAC API, through :func:`xstac_access.search`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ._common import CliError, command, json_object, json_value, table, write_text

#: Table columns shown when the items have them, after id, collection and datetime.
_USUAL = ("eo:cloud_cover", "platform")


def register(sub: Any) -> None:
    parser = command(
        sub, "search", "search the items of a STAC API",
        "Search a STAC API's items, working around what it lacks (a query becomes a CQL2 "
        "filter, a filter or a sort the server cannot do is done here); what was done differently "
        "is said on stderr.",
        [
            "xstac search https://earth-search.aws.element84.com/v1 \\",
            "    --collections sentinel-2-l2a \\",
            "    --bbox -105.3 39.9 -105.1 40.1 --datetime 2023-10-01/2023-10-31 \\",
            "    --filter 'eo:cloud_cover < 10' --sortby -eo:cloud_cover",
            "xstac search URL --query '{\"eo:cloud_cover\": {\"lt\": 10}}' --format ids",
            "xstac search URL --collections sentinel-2-l2a --format geojson -o items.geojson",
            "xstac search URL --intersects area.geojson --columns proj:code s2:mgrs_tile",
        ],
    )  # fmt: skip
    parser.add_argument("catalog_url", metavar="CATALOG_URL", help="root URL of the STAC API")
    parser.add_argument("--collections", nargs="+", metavar="C", help="collection ids")
    parser.add_argument(
        "--bbox", nargs=4, type=float, metavar=("W", "S", "E", "N"), help="lon/lat box"
    )
    parser.add_argument(
        "--intersects", metavar="FILE_OR_GEOJSON",
        help="a GeoJSON geometry or Feature, inline or in a file",
    )  # fmt: skip
    parser.add_argument(
        "--datetime", metavar="D", help="an instant or interval: 2023-10-08, 2023-10-01/.., ..."
    )
    parser.add_argument("--ids", nargs="+", metavar="ID", help="item ids")
    parser.add_argument(
        "--query", metavar="JSON", help='Query extension object: \'{"eo:cloud_cover": {"lt": 10}}\''
    )
    parser.add_argument(
        "--filter", metavar="CQL2", help='CQL2 text ("eo:cloud_cover < 10") or CQL2-JSON'
    )
    parser.add_argument(
        "--sortby", action="append", metavar="FIELD",
        help="sort key, repeatable; a leading '-' sorts descending (--sortby -eo:cloud_cover)",
    )  # fmt: skip
    parser.add_argument(
        "--max-items", type=int, default=100, metavar="N",
        help="at most N items (default 100; 0: no limit)",
    )  # fmt: skip
    parser.add_argument(
        "--format", choices=("table", "geojson", "ids"), default="table",
        help="table (default), a GeoJSON FeatureCollection, or one id per line",
    )  # fmt: skip
    parser.add_argument(
        "--columns", nargs="+", metavar="COL",
        help="more table columns: property names, dotted for nested ones (proj:centroid.lat)",
    )  # fmt: skip
    parser.add_argument("-o", "--output", type=Path, metavar="FILE", help="write here, not stdout")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Search, tell what was done on stderr, print or write the items."""
    from .._search import search

    text_filter = args.filter
    result = search(
        args.catalog_url,
        collections=args.collections,
        bbox=args.bbox,
        intersects=_geojson(args.intersects),
        datetime=args.datetime,
        ids=args.ids,
        query=json_object(args.query, "--query"),
        filter=text_filter,
        filter_lang="cql2-json" if text_filter and text_filter.lstrip().startswith("{") else None,
        sortby=args.sortby,
        max_items=args.max_items or None,
    )
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    matched = result.matched()
    counted = f"{len(result)} items" + (f" of {matched} matched" if matched is not None else "")
    if args.max_items and len(result) == args.max_items and matched != len(result):
        counted += f" (--max-items {args.max_items})"
    print(counted, file=sys.stderr)
    if args.format == "geojson":
        if args.output is not None:
            print(f"wrote {result.to_geojson(args.output)}", file=sys.stderr)
        else:
            json.dump(result.items.to_dict(transform_hrefs=False), sys.stdout)
            sys.stdout.write("\n")
    elif args.format == "ids":
        write_text("\n".join(item.id for item in result), args.output)
    else:
        write_text(items_table(result, args.columns or ()), args.output)
    return 0


def _geojson(value: str | None) -> dict[str, Any] | None:
    """``--intersects``: inline GeoJSON, or the path of a file holding it."""
    if value is None:
        return None
    if not value.lstrip().startswith("{"):
        try:
            value = Path(value).read_text(encoding="utf-8")
        except OSError as exc:
            raise CliError(f"--intersects: cannot read {value}: {exc.strerror}") from None
    geometry = json_value(value, "--intersects")
    if isinstance(geometry, dict) and geometry.get("type") == "FeatureCollection":
        features = geometry.get("features") or []
        if len(features) != 1:
            raise CliError(
                f"--intersects: the FeatureCollection has {len(features)} features; give one "
                "geometry"
            )
        geometry = features[0]
    if not isinstance(geometry, dict):
        raise CliError("--intersects must be a GeoJSON object")
    return geometry


def items_table(result: Any, extra: tuple[str, ...] | list[str]) -> str:
    """The search result as a terminal table: id, collection, datetime, the usual properties
    the items have (cloud cover, platform), the ``extra`` columns, and the number of assets."""
    frame = result.to_dataframe()
    if not len(frame):
        return "no items"
    usual = [c for c in _USUAL if c in frame.columns and frame[c].notna().any()]
    columns = ["id", "collection", "datetime", *usual, *[c for c in extra if c not in usual]]
    assets = [c for c in frame.columns if c.startswith("asset:")]
    rows = []
    for _, record in frame.iterrows():
        row = [_cell(record.get(name)) for name in columns]
        rows.append([*row, int(record[assets].notna().sum()) if assets else 0])
    return table([*columns, "assets"], rows)


def _cell(value: Any) -> Any:
    """A table cell: timestamps in ISO form, floats rounded, missing values blank."""
    import pandas as pd

    if value is None or (not isinstance(value, list | dict) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, float):
        return round(value, 2)
    return value
