"""Zarr stores (EOPF products) as DataTree, and their groups or arrays as Dataset.

The catalogue's hints are honoured: ``xarray:open_datatree_kwargs`` / ``open_dataset_kwargs`` /
``open_kwargs`` (engine ``eopf-zarr`` with ``op_mode``, ``chunks``...), and the older
``alternate.xarray`` blocks of band assets (their ``bands`` select variables, ``spatial_res``
becomes ``resolution`` in analysis mode). ``op_mode="native"`` is the tree as stored, which is
what xarray's own zarr engine gives, so it is opened that way on a store that carries the
broker's credentials; ``op_mode="analysis"`` is delegated to xarray-eopf on the same store.
An href inside a product (``.../product.zarr/measurements/reflectance/r10m``) is opened from the
product root with ``group=``, so the root's consolidated metadata is read once and nothing else
is fetched at open but index coordinates. An href naming an array opens its group and keeps
that variable.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from typing import Any

import xarray as xr

from .. import errors
from .._hrefs import host_of, local_path, safe_href, scheme_of
from ..credentials.broker import Broker
from ..credentials.filesystems import filesystem_for
from ..resolve import Target
from ._attrs import stac_attrs

_NATIVE = {"engine", "op_mode"}


def open_datatree(target: Target, *, broker: Broker, **options: Any) -> xr.DataTree:
    """The product tree (or the subtree under the href's group)."""
    href, hints = _hinted(target, "open_datatree_kwargs")
    root, group = split_root(href)
    kwargs = {**hints, **_user(options)}
    store = _store(root, broker)
    if _analysis(kwargs):
        tree = _guard(target, store, lambda **extra: xr.open_datatree(store, **kwargs, **extra))
    else:
        kwargs = _native(kwargs)
        tree = _guard(
            target,
            store,
            lambda **extra: xr.open_datatree(
                store, engine="zarr", group=group or None, decode_timedelta=False, **kwargs, **extra
            ),
        )
    tree.attrs.update(stac_attrs(target))
    return tree


def open_dataset(
    target: Target,
    *,
    broker: Broker,
    group: str | None = None,
    mask_and_scale: bool = True,
    drop_variables: Iterable[str] | None = None,
    **options: Any,
) -> xr.Dataset:
    """One group of the store (the href's, joined with ``group=``), or one array of it."""
    href, hints = _hinted(target, "open_dataset_kwargs")
    root, href_group = split_root(href)
    path = "/".join(p for p in (href_group, (group or "").strip("/")) if p)
    kwargs = {**hints, **_user(options)}
    keep = [b.lower() for b in kwargs.pop("bands", None) or []]
    resolution = kwargs.pop("spatial_res", None)
    store = _store(root, broker)
    if _analysis(kwargs):
        if resolution is not None:
            kwargs.setdefault("resolution", resolution)
        if keep:
            kwargs.setdefault("variables", keep)
        ds = _guard(target, store, lambda **extra: xr.open_dataset(store, **kwargs, **extra))
    else:
        kwargs = _native(kwargs)
        path, array = _split_array(store, path)
        keep = keep or ([array] if array else [])
        ds = _guard(
            target,
            store,
            lambda **extra: xr.open_dataset(
                store,
                engine="zarr",
                group=path or None,
                mask_and_scale=mask_and_scale,
                drop_variables=drop_variables,
                decode_timedelta=False,
                **kwargs,
                **extra,
            ),
        )
        if keep:
            missing = [k for k in keep if k not in ds.variables]
            if missing:
                raise errors.AssetKeyError(
                    f"{target.label}: group {path!r} has no variable(s) {missing}; it has "
                    + ", ".join(sorted(map(str, ds.data_vars)))
                )
            ds = ds[keep]
    ds.attrs.update(stac_attrs(target))
    return ds


def split_root(href: str) -> tuple[str, str]:
    """``(store root ending in .zarr, group path inside it)``; the whole href if no ``.zarr``."""
    head, sep, tail = href.partition(".zarr/")
    if not sep:
        return href.rstrip("/"), ""
    return head + ".zarr", tail.strip("/")


def _hinted(target: Target, name: str) -> tuple[str, dict[str, Any]]:
    """The href and open kwargs the catalogue gives: the asset's, else its alternate's."""
    hints = {**target.hint("open_kwargs"), **target.hint(name)}
    alternate = target.alternates.get("xarray")
    if not hints and isinstance(alternate, dict) and isinstance(alternate.get("href"), str):
        alt_hints = {
            **alternate.get("xarray:open_kwargs", {}),
            **alternate.get(f"xarray:{name}", {}),
        }
        return alternate["href"], alt_hints
    return target.href, hints


def _user(options: dict[str, Any]) -> dict[str, Any]:
    """The caller's options that are zarr/eopf keywords (the engine passes ours too)."""
    ignore = {"overview_level", "member", "storage_options"}
    return {k: v for k, v in options.items() if k not in ignore and v is not None}


def _native(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Keywords for xarray's zarr engine: not the eopf ones, and no ``chunks``.

    xarray wraps whatever a backend returns in its own lazy arrays, so chunking here would be
    undone; the arrays carry the store's chunking in ``encoding["preferred_chunks"]`` and the
    caller's ``chunks={}`` (as the catalogue's hint suggests) gives dask chunks matching it.
    """
    return {k: v for k, v in kwargs.items() if k not in _NATIVE and k != "chunks"}


def _analysis(kwargs: dict[str, Any]) -> bool:
    if kwargs.get("engine") == "eopf-zarr" and kwargs.get("op_mode", "analysis") == "analysis":
        kwargs.setdefault("op_mode", "analysis")
        return True
    return False


def _store(root: str, broker: Broker) -> Any:
    if scheme_of(root) == "file":
        return local_path(root)
    return filesystem_for(root, broker).get_mapper(root)


def _split_array(store: Any, path: str) -> tuple[str, str | None]:
    """``(group, array)`` when ``path`` names an array in the store, else ``(path, None)``."""
    if not path:
        return path, None
    try:
        import zarr

        node = (
            zarr.open_consolidated(store, mode="r")
            if _consolidated(store)
            else zarr.open(store, mode="r")
        )
        if isinstance(node.get(path), zarr.Array):
            group, _, array = path.rpartition("/")
            return group, array
    except (KeyError, ValueError, OSError):
        pass
    return path, None


def _consolidated(store: Any) -> bool:
    return _has_key(store, ".zmetadata")


def _has_key(store: Any, key: str) -> bool:
    """Whether the store's root holds ``key`` (a local directory or an fsspec mapper)."""
    try:
        if isinstance(store, str):
            return os.path.exists(os.path.join(store, key))
        return key in store
    except OSError:
        return False


def _guard(target: Target, store: Any, opener: Any) -> Any:
    """Run ``opener``; turn a missing or unreadable store into a typed error.

    Time units xarray cannot decode (seen in real EOPF products) do not make the whole product
    unreadable: it is opened again with ``decode_times=False`` and a warning says so.
    """
    try:
        return opener()
    except errors.XStacError:
        raise
    except (FileNotFoundError, KeyError) as exc:
        if _has_key(store, "zarr.json"):
            v3 = ValueError("the store has zarr.json (zarr_format 3)")
            raise _format_error(target, v3) from None
        raise errors.HrefNotFoundError(
            f"{target.label} at {safe_href(target.href)}: no Zarr group or array there "
            f"({exc.__class__.__name__}: {exc}). Check the href and group=.",
            href=safe_href(target.href),
            host=host_of(target.href),
            status=404,
        ) from None
    except ValueError as exc:
        if "unable to decode time units" not in str(exc):
            raise _format_error(target, exc) from None
        warnings.warn(
            f"{target.label}: time units could not be decoded ({exc}); opened with "
            "decode_times=False, so those variables keep their raw numbers.",
            UserWarning,
            stacklevel=4,
        )
        try:
            return opener(decode_times=False)
        except (ValueError, TypeError, OSError) as again:
            raise _format_error(target, again) from None
    except (TypeError, OSError) as exc:
        raise _format_error(target, exc) from None


def _format_error(target: Target, exc: Exception) -> errors.FormatError:
    hint = ""
    if "zarr_format" in str(exc) or "zarr.json" in str(exc) or "version" in str(exc):
        hint = (
            " It may be a Zarr v3 store (GeoZarr multiscales), which needs zarr>=3; "
            "xarray-eopf pins zarr<3, so xstac-access reads Zarr v2 only for now."
        )
    return errors.FormatError(
        f"{target.label} at {safe_href(target.href)} (host {host_of(target.href)}) could not "
        f"be opened as Zarr: {exc.__class__.__name__}: {exc}.{hint}"
    )
