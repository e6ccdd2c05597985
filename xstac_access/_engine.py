"""The engine's logic behind ``xr.open_dataset(..., engine="stacasset")``, ``open_datatree``
and ``open_groups``.

resolve → choose reader → open lazily. Kept apart from the plugin module so that xarray's engine
discovery (which imports every installed backend) stays cheap.

Keywords are checked before anything is read, as xarray's own backends do by their signatures:
a name none of the readers takes is a ``TypeError`` listing those accepted (with the nearest, if
it looks misspelt), and so is one the chosen reader does not take (``member=`` on a GeoTIFF):
silently ignored, it would open something other than what was asked for.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from typing import Any

import xarray as xr

from . import errors
from ._hrefs import scheme_of
from ._item_collections import is_collection
from ._keywords import refuse_unknown
from ._resolve import Target, item_of, reachable, resolve
from ._s3 import Location, bucket_of, item_location
from .credentials.broker import Broker, Rule, broker_from
from .credentials.providers import S3Credentials
from .readers import COMMON_OPTIONS, OPTIONS, options_for, reader_for, takes
from .readers._attrs import stamp
from .readers._groups import as_tree

Credentials = Broker | dict[str, Any] | None
_CUBE = ("bands", "resolution", "crs", "bbox")
_WHERE = ("asset", "reader", "credentials", "storage_options")
_ITEM_TREE = ("assets", "include_previews")  # see _itemtree
_READERS_OWN = tuple(dict.fromkeys(name for own in OPTIONS.values() for name in own))
#: What :func:`open_dataset` accepts, and :func:`open_groups` and :func:`open_datatree`.
DATASET_KEYWORDS = (*_WHERE, *COMMON_OPTIONS, *_READERS_OWN, *_CUBE)
GROUPS_KEYWORDS = (*_WHERE, *COMMON_OPTIONS, *_READERS_OWN, *_ITEM_TREE)
_CHUNKS_NOTE = "chunks= is xarray's: xr.open_dataset(..., engine='stacasset', chunks={}) applies it"


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
    ``mask_and_scale`` (scale, offset and nodata) and have nothing else to decode. The
    readers' own keywords (``group``, ``member``...) are listed in ``docs/engine.md``; one that
    no reader takes, or that the asset's reader does not, is a ``TypeError`` (see above).
    """
    decoding = {
        "decode_times": decode_times,
        "decode_timedelta": decode_timedelta,
        "decode_coords": decode_coords,
        "use_cftime": use_cftime,
        "concat_characters": concat_characters,
        "decode_cf": decode_cf,
    }
    _refuse_unknown(reader_options, DATASET_KEYWORDS, "open_dataset")
    reader_options.update(decoding, overview_level=overview_level)
    reader_options = {k: v for k, v in reader_options.items() if v is not None}
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
    module, guess = reader_for(
        target, reader, broker=broker, member=reader_options.get("member") is not None
    )
    _refuse_misfits(reader_options, guess.format, target, groups=False)
    ds = module.open_dataset(
        target,
        broker=broker,
        mask_and_scale=True if mask_and_scale is None else mask_and_scale,
        drop_variables=_names(drop_variables),
        **reader_options,
    )
    return stamp(_checked(ds, xr.Dataset, target, guess.format), target)


def open_groups(
    obj: Any,
    *,
    asset: str | None = None,
    reader: str | None = None,
    credentials: Credentials = None,
    storage_options: dict[str, Any] | None = None,
    **options: Any,
) -> dict[str, xr.Dataset]:
    """Every group of ``obj`` as a lazy Dataset, keyed by path ("/", "/a", "/a/b"), as
    :func:`xarray.open_groups` gives them, also when they do not nest as a tree.

    The groups of a Zarr or netCDF/HDF5 asset (of its ``group=``, which is then "/"), or the
    whole item, one group per data asset (:mod:`xstac_access._itemtree`: ``assets=``,
    ``include_previews=``), or one group "/" for an asset of another format. Other keywords
    as :func:`open_dataset`'s.
    """
    return _groups(obj, asset, reader, credentials, storage_options, options, "open_groups")[0]


def open_datatree(
    obj: Any,
    *,
    asset: str | None = None,
    reader: str | None = None,
    credentials: Credentials = None,
    storage_options: dict[str, Any] | None = None,
    **options: Any,
) -> xr.DataTree:
    """Open ``obj`` as a :class:`xarray.DataTree`: the tree of :func:`open_groups`' groups.

    Groups that do not nest (a child whose dimensions differ in size from its parent's) are a
    :class:`~xstac_access.errors.FormatError` pointing to :func:`open_groups`.
    """
    groups, label = _groups(
        obj, asset, reader, credentials, storage_options, options, "open_datatree"
    )
    try:
        return as_tree(groups)
    except ValueError as exc:  # xarray's first line names the group; the rest reprs it
        raise errors.FormatError(
            f"the groups of {label} do not nest as a DataTree "
            f"({str(exc).splitlines()[0].rstrip(':')}). "
            "xr.open_groups(..., engine='stacasset') opens them as a dict of Datasets."
        ) from None


def _groups(
    obj: Any,
    asset: str | None,
    reader: str | None,
    credentials: Credentials,
    storage_options: dict[str, Any] | None,
    options: dict[str, Any],
    call: str,
) -> tuple[dict[str, xr.Dataset], str]:
    """The groups of ``obj`` (see :func:`open_groups`) and how messages name it."""
    _refuse_unknown(options, GROUPS_KEYWORDS, call)
    options = {k: v for k, v in options.items() if v is not None}
    if "drop_variables" in options:
        options["drop_variables"] = _names(options["drop_variables"])
    base = broker_from(credentials)
    item = item_of(obj, broker=base)  # an item URL is fetched here, once
    target = None
    if item is None or asset is not None or "assets" not in options:  # assets=: the whole item
        with contextlib.suppress(errors.AmbiguousAssetError):  # no single tree asset
            target = resolve(obj if item is None else item, asset, purpose="datatree", broker=base)
    if target is None:  # only an item has many assets (or assets= asks for them all)
        assert item is not None
        from ._itemtree import open_item_groups

        return open_item_groups(item, base, **options), f"item {item.get('id')!r}"
    broker = call_broker(target, base, storage_options)
    target = reachable(target, broker)
    module, guess = reader_for(
        target, reader, broker=broker, member=options.get("member") is not None
    )
    grouped = hasattr(module, "open_groups")
    _refuse_misfits(options, guess.format, target, groups=grouped)
    if grouped:
        groups = module.open_groups(target, broker=broker, **options)
    else:
        groups = {"/": module.open_dataset(target, broker=broker, **options)}
    return stamp(_checked(groups, dict, target, guess.format), target), target.label


def _names(drop_variables: str | Iterable[str] | None) -> list[str] | None:
    """``drop_variables`` as a list: xarray takes one name as well as several."""
    if drop_variables is None:
        return None
    return [drop_variables] if isinstance(drop_variables, str) else list(drop_variables)


def _refuse_unknown(given: Iterable[str], accepted: Sequence[str], call: str) -> None:
    """A TypeError for keywords none of ``call``'s readers takes (:mod:`._keywords`)."""
    refuse_unknown(
        call,
        given,
        accepted,
        taker="the stacasset engine (beside xarray's own chunks=, cache=...)",
        notes={"chunks": _CHUNKS_NOTE},
    )


def _refuse_misfits(options: dict[str, Any], fmt: str, target: Target, *, groups: bool) -> None:
    """A KeywordError (a TypeError) for keywords of other readers (or of items, or of many
    items) given for ``target``, which the reader of ``fmt`` would ignore."""
    misfits = sorted(set(options) - set(options_for(fmt, options, groups=groups)))
    if not misfits:
        return
    own = [name for name in takes(fmt, groups=groups) if name not in COMMON_OPTIONS]
    why = "; ".join(f"{name}= is for {_whose(name, fmt, groups)}" for name in misfits)
    raise errors.KeywordError(
        f"{target.label} is read by the {fmt} reader"
        + (" as groups" if groups else "")
        + f", which takes {', '.join(f'{n}=' for n in own) or 'none of its own keywords'} "
        f"beside xarray's decoders: {why}."
    )


def _whose(name: str, fmt: str, groups: bool) -> str:
    """What keyword ``name``, not taken by the reader of ``fmt``, is for, in words."""
    if name in _CUBE:
        return "many items, loaded as one cube"
    if name in _ITEM_TREE:
        return "a whole item opened as a tree"
    if groups and name in OPTIONS[fmt]:
        return "open_dataset, which opens one group"
    return " and ".join(f"{other} assets" for other, own in OPTIONS.items() if name in own)


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
