"""The engine's logic behind ``xr.open_dataset(..., engine="stacasset")`` and ``open_datatree``.

resolve → choose reader → open lazily. Kept apart from the plugin module so that xarray's engine
discovery (which imports every installed backend) stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import xarray as xr

from . import errors
from .readers import reader_for
from .resolve import Target, resolve


def open_dataset(
    obj: Any,
    *,
    asset: str | None = None,
    reader: str | None = None,
    storage_options: dict[str, Any] | None = None,
    overview_level: int | None = None,
    mask_and_scale: bool | None = None,
    drop_variables: str | Iterable[str] | None = None,
    **reader_options: Any,
) -> xr.Dataset:
    """Open one asset of ``obj`` as a lazy :class:`xarray.Dataset` (see the README for inputs)."""
    target = resolve(obj, asset, purpose="dataset")
    module, guess = reader_for(target, reader, storage_options=_options(target, storage_options))
    ds = module.open_dataset(
        target,
        storage_options=storage_options,
        overview_level=overview_level,
        mask_and_scale=True if mask_and_scale is None else mask_and_scale,
        drop_variables=[drop_variables] if isinstance(drop_variables, str) else drop_variables,
        **reader_options,
    )
    return _checked(ds, xr.Dataset, target, guess.format)


def open_datatree(
    obj: Any,
    *,
    asset: str | None = None,
    reader: str | None = None,
    storage_options: dict[str, Any] | None = None,
    **options: Any,
) -> xr.DataTree:
    """Open ``obj`` as a :class:`xarray.DataTree`: the reader's own tree, or a one-node tree."""
    target = resolve(obj, asset, purpose="datatree")
    module, guess = reader_for(target, reader, storage_options=_options(target, storage_options))
    if hasattr(module, "open_datatree"):
        tree = module.open_datatree(target, storage_options=storage_options, **options)
    else:
        tree = xr.DataTree(module.open_dataset(target, storage_options=storage_options, **options))
    return _checked(tree, xr.DataTree, target, guess.format)


def _options(target: Target, storage_options: dict[str, Any] | None) -> dict[str, Any]:
    return {**target.hint("storage_options"), **(storage_options or {})}


def _checked(result: Any, kind: type, target: Target, fmt: str) -> Any:
    if not isinstance(result, kind):  # a reader bug must never reach the user as None
        raise errors.FormatError(
            f"the {fmt} reader returned {type(result).__name__} for {target.label}; please "
            "report this as a bug of xstac-access"
        )
    return result
