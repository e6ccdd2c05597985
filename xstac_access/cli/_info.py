"""``xstac info``: what each asset of an item is and how the engine would open it."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ._common import (
    command,
    credential_info,
    human_size,
    storage_options,
    storage_options_argument,
    table,
    target_arguments,
)


def register(sub: Any) -> None:
    parser = command(
        sub, "info", "what an item's assets are and how they would open",
        "For each asset (or the one --asset names): its media type and roles, the reader the "
        "stacasset engine would pick and why, its size when known (file:size; with --sizes also "
        "from http servers), the credential that applies to its host (masked), and the "
        "catalogue's open hints (xarray:*, alternate). Nothing is downloaded: an asset the "
        "catalogue does not describe costs one 1 KiB read to tell its format.",
        [
            "xstac info https://earth-search.aws.element84.com/v1/collections/sentinel-2-l2a/"
            "items/S2A_13TDE_20231008_0_L2A",
            "xstac info item.json --asset red --sizes",
            "xstac info item.json --json | jq '.assets[] | {key, reader}'",
        ],
    )  # fmt: skip
    target_arguments(parser)
    parser.add_argument(
        "--sizes", action="store_true",
        help="ask http(s) servers for sizes the item does not give (one 1-byte request each)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    storage_options_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Describe the item's assets, as a table or as JSON."""
    info = describe(args.target, args.asset, sizes=args.sizes, options=storage_options(args))
    print(json.dumps(info, indent=1, default=str) if args.json else render(info))
    return 0


def describe(
    obj: Any, asset: str | None = None, *, sizes: bool = False, options: dict | None = None
) -> dict[str, Any]:
    """What ``xstac info`` shows, as JSON-able values (hrefs without query strings)."""
    from .. import errors
    from .._resolve import choose_asset, item_of, resolve
    from ..credentials import get_broker

    broker = get_broker()
    item = item_of(obj, broker=broker)
    if item is None:
        targets = [resolve(obj, broker=broker)]
    elif asset is not None:
        targets = [resolve(item, asset, broker=broker)]
    else:
        targets = [resolve(item, key, broker=broker) for key in item["assets"]]
    described = [_asset(target, broker, sizes, options) for target in targets]
    info: dict[str, Any] = {"item": None, "assets": described}
    if item is not None:
        props = item.get("properties") or {}
        defaults: dict[str, str | None] = {}
        for purpose in ("dataset", "datatree"):
            try:
                defaults[purpose] = choose_asset(item, purpose)
            except errors.ResolveError:
                defaults[purpose] = None  # ambiguous: the caller must name one
        info["item"] = {
            "id": item.get("id"),
            "collection": item.get("collection"),
            "datetime": props.get("datetime") or props.get("start_datetime"),
            "assets": len(item.get("assets") or {}),
            "default_asset": defaults,
        }
    return info


def _asset(target: Any, base: Any, sizes: bool, options: dict | None) -> dict[str, Any]:
    from .. import errors
    from .._engine import call_broker
    from .._hrefs import safe_href
    from ..readers import FORMATS, detect_format, reader_for

    broker = call_broker(target, base, options)
    entry: dict[str, Any] = {
        "key": target.key,
        "href": safe_href(target.href),
        "title": target.title,
        "media_type": target.media_type,
        "roles": list(target.roles),
        "reader": None,
        "format": None,
        "reader_reason": None,
        "reader_error": None,
    }
    try:
        _, guess = reader_for(target, broker=broker)
        entry.update(reader=guess.format, format=FORMATS[guess.format], reader_reason=guess.reason)
    except errors.XStacError as exc:
        entry["reader_error"] = str(exc)
        if isinstance(exc, errors.UnsupportedFormatError):
            try:  # the same decision again, to name the format no reader opens
                guess = detect_format(target, broker=broker)
                entry.update(format=FORMATS.get(guess.format), reader_reason=guess.reason)
            except errors.XStacError:
                pass
    entry.update(_size(target, broker, sizes and entry["reader"] != "zarr"))
    entry["credential"] = credential_info(broker, target.href)
    entry["hints"] = dict(target.hints)
    entry["alternate"] = {
        name: {**alt, "href": safe_href(str(alt.get("href", "")))}
        for name, alt in target.alternates.items()
        if isinstance(alt, dict)
    }
    return entry


def _size(target: Any, broker: Any, probe: bool) -> dict[str, Any]:
    """``{"size", "size_from"}``: the item's ``file:size``, else (``probe``) the server's."""
    from .. import errors
    from .._hrefs import host_of, scheme_of
    from ..http import stream

    size = target.asset.get("file:size")
    if isinstance(size, int):
        return {"size": size, "size_from": "file:size"}
    if not probe or scheme_of(target.href) not in ("http", "https"):
        return {"size": None, "size_from": None}
    try:
        resp, _ = stream(
            target.href, headers={"Range": "bytes=0-0"}, access=broker.access(target.href),
            broker=broker, what=target.label,
        )  # fmt: skip
    except errors.XStacError as exc:
        status = getattr(exc, "status", None)
        short = f"HTTP {status} from {host_of(target.href)}" if status else type(exc).__name__
        return {"size": None, "size_from": None, "size_error": short, "size_message": str(exc)}
    with resp:
        total = resp.headers.get("Content-Range", "").rpartition("/")[2]
        length = resp.headers.get("Content-Length", "")
        if resp.status_code == 206 and total.isdigit():
            return {"size": int(total), "size_from": "server"}
        if resp.status_code == 200 and length.isdigit():
            return {"size": int(length), "size_from": "server"}
    return {"size": None, "size_from": None}


def render(info: dict[str, Any]) -> str:
    """The text form of :func:`describe`'s answer: a header, a table, then hints and errors."""
    lines = []
    item = info["item"]
    if item is not None:
        lines.append(
            f"item {item['id']}  (collection {item['collection']}, {item['datetime']}, "
            f"{item['assets']} assets)"
        )
        default = item["default_asset"]
        lines.append(
            f"default asset: open_dataset -> {default['dataset'] or 'none (ambiguous: --asset)'}, "
            f"open_datatree -> {default['datatree'] or 'the whole item as a tree'}"
        )
        lines.append("")
    rows = []
    for a in info["assets"]:
        if a["reader"]:
            reader = f"{a['reader']} ({_why(a['reader_reason'])})"
        else:
            reader = f"none ({a['format']})" if a["format"] else "unknown"
        credential = a["credential"]["summary"] if a["credential"] else "-"
        size = human_size(a["size"])
        roles = ",".join(a["roles"]) or "-"
        rows.append([a["key"] or "-", reader, a["media_type"] or "-", roles, size, credential])
    lines.append(table(["asset", "reader", "media type", "roles", "size", "credential"], rows))
    notes = []
    for a in info["assets"]:
        name = a["key"] or a["href"]
        for hint, value in a["hints"].items():
            notes.append(f"  {name}: xarray:{hint} = {json.dumps(value, default=str)}")
        for alt, block in a["alternate"].items():
            extra = {k: v for k, v in block.items() if k.startswith("xarray:")}
            tail = f" {json.dumps(extra, default=str)}" if extra else ""
            notes.append(f"  {name}: alternate {alt} -> {block['href']}{tail}")
    if notes:
        lines += ["", "open hints:", *notes]
    problems = []
    for a in info["assets"]:
        if a["reader_error"] and a["format"] is None:
            problems.append(f"  {a['key'] or a['href']}: {a['reader_error']}")
        if a.get("size_error"):
            problems.append(f"  {a['key'] or a['href']}: size unknown ({a['size_error']})")
    if problems:
        lines += ["", "problems:", *problems]
    return "\n".join(lines)


def _why(reason: str | None) -> str:
    """``media type 'image/tiff; …'`` → ``media type``: the kind of evidence, for the table."""
    return (reason or "").split(" '")[0].split(" b'")[0]
