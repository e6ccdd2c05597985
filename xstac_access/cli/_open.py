"""``xstac open`` and ``xstac quicklook``: ``xr.open_dataset``/``open_datatree`` with the
stacasset engine, then the xarray repr, or ``.eo.quicklook`` to a PNG."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._common import CliError, command, storage_options, storage_options_argument, target_arguments


def _open_arguments(parser: argparse.ArgumentParser) -> None:
    target_arguments(parser)
    parser.add_argument(
        "--tree", action="store_true", help="open_datatree (Zarr products, whole items)"
    )
    parser.add_argument("--group", metavar="G", help="a group of a Zarr or netCDF asset")
    parser.add_argument(
        "--member", metavar="M", help="a file inside a zip asset (glob allowed; manifest:NAME)"
    )
    parser.add_argument(
        "--overview-level", type=int, metavar="K", help="COG overview / GeoZarr level K"
    )
    storage_options_argument(parser)


def register(sub: Any) -> None:
    opener = command(
        sub, "open", "open lazily and print the xarray repr",
        "Open an item's asset (or a plain href) with xr.open_dataset(..., engine='stacasset'), "
        "or with --tree xr.open_datatree, and print the repr. Only metadata is read.",
        [
            "xstac open item.json --asset red",
            "xstac open ITEM_URL --asset SR_10m",
            "xstac open ITEM_URL --tree                     # a Zarr product, or the whole item",
            "xstac open ITEM_URL --asset product --member '*/MTD_MSIL2A.xml'",
            "xstac open s3://bucket/x.tif --storage-options '{\"anon\": true}'",
        ],
    )  # fmt: skip
    _open_arguments(opener)
    opener.set_defaults(run=run_open)

    picture = command(
        sub, "quicklook", "save a quick look (RGB, SAR in dB, ...) as PNG",
        "Open as `xstac open` does, then draw ds.eo.quicklook(): a percentile-stretched RGB, SAR "
        "polarisations side by side in dB, or one panel per layer. Reads a picture's worth of "
        "data (a COG overview when there is one), not the image.",
        [
            "xstac quicklook item.json --asset visual --max-size 512 -o tci.png",
            "xstac quicklook ITEM_URL --asset enclosure_i_abs_tiff --kind sar -o sar.png",
            "xstac quicklook ITEM_URL --asset SR_10m --bands B04 B03 B02 -o rgb.png",
        ],
    )  # fmt: skip
    _open_arguments(picture)
    picture.add_argument(
        "--bands", nargs="+", metavar="BAND", help="layers (names or common names), in order"
    )
    picture.add_argument(
        "--kind",
        choices=("auto", "rgb", "sar", "single", "palette"),
        default="auto",
        help="default: auto",
    )
    picture.add_argument(
        "--max-size", type=int, default=1024, metavar="N", help="long side to read (default 1024)"
    )
    picture.add_argument(
        "--stretch", nargs=2, type=float, default=(2.0, 98.0), metavar=("LOW", "HIGH"),
        help="percentiles of the limits (default 2 98)",
    )  # fmt: skip
    picture.add_argument("--per-band", action="store_true", help="RGB: one stretch per band")
    picture.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.png")
    picture.set_defaults(run=run_quicklook)


def open_target(args: argparse.Namespace) -> Any:
    """The Dataset (or with ``--tree`` the DataTree) the arguments describe, lazily."""
    import xarray as xr

    options = {
        "asset": args.asset,
        "group": args.group,
        "member": args.member,
        "overview_level": args.overview_level,
        "storage_options": storage_options(args),
    }
    options = {k: v for k, v in options.items() if v is not None}
    opener = xr.open_datatree if args.tree else xr.open_dataset
    return opener(args.target, engine="stacasset", **options)


#: The attributes named on the line above the repr (which may fold them away among many).
_HEADLINE = ("stac_item_id", "stac_collection", "stac_asset", "stac_href")


def run_open(args: argparse.Namespace) -> int:
    """Print what was opened (item, collection, asset, href) and the repr."""
    obj = open_target(args)
    attrs = obj.attrs
    said = [f"{name.removeprefix('stac_')} {attrs[name]}" for name in _HEADLINE if attrs.get(name)]
    if said:
        print("; ".join(said))
    print(obj)
    return 0


def run_quicklook(args: argparse.Namespace) -> int:
    """Draw and save the quick look; say where, what kind, what was read and the limits."""
    obj = open_target(args)
    try:
        ql = obj.eo.quicklook(
            path=args.output, kind=args.kind, bands=args.bands, max_size=args.max_size,
            stretch=tuple(args.stretch), per_band=args.per_band,
        )  # fmt: skip
    except (ValueError, KeyError) as exc:  # no picture in it, too many panels, unknown band
        raise CliError(f"cannot draw a quicklook: {exc}") from None
    width, height = (round(v) for v in ql.figure.get_size_inches() * ql.figure.dpi)
    print(f"wrote {ql.path} ({width}x{height} px)")
    rows, cols = ql.shape
    source = "the data as opened" if ql.overview_level is None else "COG overview"
    level = "" if ql.overview_level is None else f" {ql.overview_level}"
    print(f"kind {ql.kind}: {len(ql.axes)} panel(s) of {rows}x{cols} px read from {source}{level} "
          f"(max size {args.max_size})")  # fmt: skip
    units = dict(zip(ql.picture.titles, ql.picture.units, strict=False))
    limits = [
        f"{name} {lo:.6g} .. {hi:.6g}" + (f" {units[name]}" if units.get(name) else "")
        for name, (lo, hi) in ql.limits.items()
    ]
    print(f"limits (percentiles {args.stretch[0]:g}-{args.stretch[1]:g}): " + "; ".join(limits))
    return 0
