"""The engine's logic behind ``xr.open_dataset(..., engine="stacasset")`` and ``open_datatree``.

resolve → choose reader → open lazily. Kept apart from the plugin module so that xarray's engine
discovery (which imports every installed backend) stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import xarray as xr

from . import errors
from ._hrefs import scheme_of
from ._item_collections import is_collection
from ._resolve import Target, item_of, reachable, resolve
from ._s3 import Location, bucket_of, item_location
from .credentials.broker import Broker, Rule, broker_from
from .credentials.providers import S3Credentials
from .readers import reader_for
from .readers._attrs import stamp

Credentials = Broker | dict[str, Any] | None
_CUBE = ("bands", "resolution", "crs", "bbox")


def open_dataset(
    obj: Any,
    *,
    asset: str | None = None,
    reader: str | None = None,
    credentials: Credentials = None,
    storage_options: dict[str, Any] | None = None,
    overview_level: int | None = None,
    mask_and_scale: bool | None = None,
    drop_variables: str | Iterable[str] | None = None,
    decode_times: Any = None,
    decode_timedelta: Any = None,
    decode_coords: Any = None,
    use_cftime: bool | None = None,
    concat_characters: bool | None = None,
    decode_cf: bool | None = None,
    **reader_options: Any,
) -> xr.Dataset:
    """Open one asset of ``obj`` as a lazy :class:`xarray.Dataset`.

    ``obj`` is a ``pystac.Item`` or ``pystac.Asset``, a STAC item dict, an item JSON URL or
    path, or a plain asset href; an ItemCollection or list of items is loaded as one cube
    (:func:`xstac_access.load`). ``asset`` names the asset (else the catalogue's hints, then
    roles, then media type choose), ``reader`` forces a format. ``credentials`` is a
    :class:`~xstac_access.credentials.Broker` or a dict of presets and rules as taken by
    :func:`xstac_access.credentials.configure`, for this call only; ``storage_options``
    (s3fs style) configure access to an ``s3://`` asset's bucket. xarray's decoder arguments
    (``mask_and_scale``, ``decode_times``, ``decode_timedelta``, ``decode_coords``,
    ``use_cftime``, ``concat_characters``, ``decode_cf``) keep xarray's meanings for the
    readers that decode through xarray (Zarr, netCDF); the GDAL readers take
    ``mask_and_scale`` (scale, offset and nodata) and have nothing else to decode.
    """
    decoding = {
        "decode_times": decode_times,
        "decode_timedelta": decode_timedelta,
        "decode_coords": decode_coords,
        "use_cftime": use_cftime,
        "concat_characters": concat_characters,
        "decode_cf": decode_cf,
    }
    reader_options.update({k: v for k, v in decoding.items() if v is not None})
    if is_collection(obj):  # many items: one cube through odc-stac, lazily
        from ._load import load

        cube_options = {k: reader_options.pop(k) for k in _CUBE if k in reader_options}
        if reader_options or asset or reader:
            raise errors.ResolveError(
                "a collection of items is loaded as one cube; it takes bands=, resolution=, "
                f"crs= and bbox=, not {sorted([*reader_options, *(['asset'] if asset else [])])}"
            )
        return load(obj, chunks={}, credentials=credentials, **cube_options)
    base = broker_from(credentials)
    target = resolve(obj, asset, purpose="dataset", broker=base)
    broker = call_broker(target, base, storage_options)
    target = reachable(target, broker)
    module, guess = reader_for(target, reader, broker=broker)
    ds = module.open_dataset(
        target,
        broker=broker,
        overview_level=overview_level,
        mask_and_scale=True if mask_and_scale is None else mask_and_scale,
        drop_variables=[drop_variables] if isinstance(drop_variables, str) else drop_variables,
        **reader_options,
    )
    return stamp(_checked(ds, xr.Dataset, target, guess.format), target)


def open_datatree(
    obj: Any,
    *,
    asset: str | None = None,
    reader: str | None = None,
    credentials: Credentials = None,
    storage_options: dict[str, Any] | None = None,
    **options: Any,
) -> xr.DataTree:
    """Open ``obj`` as a :class:`xarray.DataTree`: the reader's own tree, or a one-node tree."""
    base = broker_from(credentials)
    item = item_of(obj, broker=base)  # an item URL is fetched here, once
    try:
        target = resolve(obj if item is None else item, asset, purpose="datatree", broker=base)
    except errors.AmbiguousAssetError:  # no single tree asset: the whole item as a tree
        if item is None:  # (only an item has assets to choose among)
            raise
        from ._itemtree import open_item_tree

        return open_item_tree(item, base, **options)
    broker = call_broker(target, base, storage_options)
    target = reachable(target, broker)
    module, guess = reader_for(target, reader, broker=broker)
    if hasattr(module, "open_datatree"):
        tree = module.open_datatree(target, broker=broker, **options)
    else:
        tree = xr.DataTree(module.open_dataset(target, broker=broker, **options))
    return stamp(_checked(tree, xr.DataTree, target, guess.format), target)


def call_broker(target: Target, base: Broker, storage_options: dict[str, Any] | None) -> Broker:
    """``base``, preceded by a rule for the target's bucket when the call or the item says more
    about it than ``base`` does.

    Storage options (the caller's, over the asset's ``xarray:storage_options``) become an
    :class:`~xstac_access.credentials.S3Credentials` provider, so keys in them travel the way
    every credential does: never inside a pickled dataset. What the catalogue says is taken as
    where and how to reach its bucket, never whose credentials to use: a ``profile`` it names
    is ignored, and requests to an endpoint it chose are anonymous (the user's own AWS keys
    would otherwise be signed for a host any item could name). The caller's
    ``storage_options`` may say otherwise. The item's storage extension (``storage:region``,
    ``storage:requester_pays``, ``storage:schemes``) says which region the bucket is in and
    whether its readers pay: it applies to the S3 credential that serves the bucket (the
    caller's storage options keep their own region).
    """
    if scheme_of(target.href) != "s3":
        return base
    options = {**_catalogue_s3_options(target.hint("storage_options")), **(storage_options or {})}
    location = item_location(target.asset, target.item)
    if options:
        given = S3Credentials.from_storage_options(options)
        provider = given.located(Location(given.region or location.region, location.requester_pays))
        source = "storage_options"
    else:
        rule = base.rule_for(target.href)
        if rule is None or not isinstance(rule.provider, S3Credentials) or not location:
            return base
        provider, source = rule.provider.located(location), f"{rule.source} + item storage"
    return Broker([Rule(f"s3://{bucket_of(target.href)}/*", provider, source), *base.rules])


def _catalogue_s3_options(hint: dict[str, Any]) -> dict[str, Any]:
    """The catalogue's storage options, without the power to pick the user's credentials."""
    options = {k: v for k, v in hint.items() if k != "profile"}
    if S3Credentials.from_storage_options(options).endpoint_url and not options.get("key"):
        options["anon"] = True  # no ambient keys signed for a host the item names
    return options


def _checked(result: Any, kind: type, target: Target, fmt: str) -> Any:
    if not isinstance(result, kind):  # a reader bug must never reach the user as None
        raise errors.FormatError(
            f"the {fmt} reader returned {type(result).__name__} for {target.label}; please "
            "report this as a bug of xstac-access"
        )
    return result
