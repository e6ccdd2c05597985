"""A whole STAC item as groups of a tree: one per data asset, the item's properties at the root.

Used by ``xr.open_datatree(item, engine="stacasset")`` (and ``xr.open_groups``, which gets the
groups, "/" and "/<asset key>", before they become a tree) when no single asset is the obvious
tree (an EOPF ``product`` asset is; twenty Sentinel-2 band COGs are not). Each data asset is
opened by its reader, lazily (headers only), with those of the caller's keywords that reader
takes; previews and metadata assets (roles ``thumbnail``, ``overview``, ``metadata``...) are
not opened but listed in the root's attributes with their hrefs, unless
``include_previews=True``. An asset that cannot be opened does not sink the others: it is named
in the root's ``unopened_assets`` attribute and a warning says why. The item travels with the
groups as with any opened asset (``attrs["stac_item"]``, see
:func:`xstac_access.readers._attrs.stamp`): on the root, each group and every variable.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import xarray as xr

from . import errors
from ._hrefs import safe_href
from ._resolve import PREVIEW_ROLES, Target, resolve
from .credentials.broker import Broker
from .readers import options_for, reader_for
from .readers._attrs import stamp


def open_item_groups(
    item: Mapping[str, Any],
    broker: Broker,
    *,
    assets: Iterable[str] | None = None,
    include_previews: bool = False,
    **options: Any,
) -> dict[str, xr.Dataset]:
    """The item's groups (see the module docstring); ``assets=`` limits them to those keys."""
    keys = list(assets) if assets is not None else list(item["assets"])
    unknown = [k for k in keys if k not in item["assets"]]
    if unknown:
        raise errors.AssetKeyError(
            f"item {item.get('id')!r} has no asset(s) {unknown}; its "
            f"assets are: {', '.join(sorted(item['assets']))}"
        )
    nodes: dict[str, xr.Dataset] = {}
    root_attrs: dict[str, Any] = {}
    unopened: list[str] = []
    for key in keys:
        target = resolve(item, key)
        if _is_preview(target) and not include_previews and assets is None:
            root_attrs[f"asset:{key}"] = safe_href(target.href)
            continue
        try:
            module, guess = reader_for(target, broker=broker)
            ds = module.open_dataset(target, broker=broker, **options_for(guess.format, options))
            nodes[f"/{key}"] = stamp(ds, target)
        except errors.XStacError as exc:
            unopened.append(key)
            warnings.warn(f"asset {key!r} left out of the tree: {exc}", UserWarning, stacklevel=3)
    if unopened:
        root_attrs["unopened_assets"] = unopened
    return stamp({"/": xr.Dataset(attrs=root_attrs), **nodes}, Target(href="", item=item))


def _is_preview(target: Target) -> bool:
    roles = set(target.roles)
    return bool(roles) and "data" not in roles and roles <= PREVIEW_ROLES
