"""Zarr stores (EOPF products) as groups (a DataTree), and one group or array as a Dataset.

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

Stores on Azure blob storage (the Planetary Computer's ``abfs://<container>/<path>`` hrefs) are
read with adlfs: the storage account comes from the asset's ``xarray:storage_options`` (or the
``storage_options`` of its open kwargs), the credential from the broker
(:mod:`xstac_access.credentials.azure`).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterable, Iterator
from typing import Any

import xarray as xr

from .. import errors
from .._extras import needs
from .._hrefs import host_of, safe_href, scheme_of
from .._resolve import Target
from ..credentials.azure import BLOB_SCHEMES, blob_url, with_account
from ..credentials.broker import Broker
from ._decode import open_decoding
from ._groups import of_tree, rooted
from ._lazy import guard
from ._zarrdiscover import discover
from ._zarrlevels import Multiscales, georeference, multiscales
from ._zarrstore import MetadataOnceStore, open_store
from ._zarrtree import open_tree, takes

_NATIVE = {"engine", "op_mode"}

# The ``type: ignore[arg-type]`` on xr.open_dataset / open_datatree / open_groups: xarray's
# annotation of ``filename_or_obj`` leaves out zarr stores, which its zarr engine opens.


def open_groups(
    target: Target, *, broker: Broker, group: str | None = None, **options: Any
) -> dict[str, xr.Dataset]:
    """Every group of the product, or of the subtree under the href's group joined with
    ``group=``, keyed by path from that group ("/", "/a"...: :mod:`._groups`)."""
    with _labelling(target):
        href, hints = _hinted(target, "open_datatree_kwargs")
        store, href_group = _store(target, href, hints, broker)
        path = "/".join(p for p in (href_group, (group or "").strip("/")) if p)
        kwargs = {**hints, **options}  # the caller's xarray keywords
        if _analysis(kwargs, split_root(href)[0]):
            groups = of_tree(_guard(
                target, store, lambda **extra: xr.open_datatree(store, **kwargs, **extra), kwargs  # type: ignore[arg-type]
            ))  # fmt: skip
        else:
            kwargs = _native(kwargs)
            discover(store, path, target)  # an unconsolidated store over HTTP
            store.prefetch_index_coordinates(path, subtree=True)  # xarray reads them one by one
            groups = rooted(_guard(target, store, lambda **extra: _tree(store, path, kwargs, extra),
                                   kwargs))  # fmt: skip
        for ds in groups.values():
            guard(ds, target)  # the group's variables, in place
        return groups


def open_dataset(
    target: Target,
    *,
    broker: Broker,
    group: str | None = None,
    overview_level: int | None = None,
    mask_and_scale: bool = True,
    drop_variables: Iterable[str] | None = None,
    **options: Any,
) -> xr.Dataset:
    """One group of the store (the href's, joined with ``group=``), or one array of it.

    A GeoZarr ``multiscales`` group opens at its finest level, or at ``overview_level`` ``k``
    (the ``k+1``-th level of its layout, as GDAL counts overviews); the levels are listed in
    ``attrs["multiscales_levels"]``.
    """
    with _labelling(target):
        href, hints = _hinted(target, "open_dataset_kwargs")
        store, href_group = _store(target, href, hints, broker)
        root = split_root(href)[0]
        path = "/".join(p for p in (href_group, (group or "").strip("/")) if p)
        kwargs = {**hints, **options}  # the caller's xarray keywords
        keep = [b.lower() for b in kwargs.pop("bands", None) or []]
        resolution = kwargs.pop("spatial_res", None)
        levels: Multiscales | None = None
        if _analysis(kwargs, root):
            if resolution is not None:
                kwargs.setdefault("resolution", resolution)
            if keep:
                kwargs.setdefault("variables", keep)
            ds = _guard(
                target, store, lambda **extra: xr.open_dataset(store, **kwargs, **extra), kwargs  # type: ignore[arg-type]
            )
        else:
            kwargs = _native(kwargs)
            discover(store, path, target)  # an unconsolidated store over HTTP
            path, array, levels = _locate(target, store, path, overview_level)
            store.prefetch_index_coordinates(path)
            keep = keep or ([array] if array else [])
            ds = _guard(
                target,
                store,
                lambda **extra: xr.open_dataset(
                    store,  # type: ignore[arg-type]
                    engine="zarr",
                    group=path or None,
                    mask_and_scale=mask_and_scale,
                    drop_variables=drop_variables,
                    **kwargs,
                    **extra,
                ),
                kwargs,
            )
            if keep:
                missing = [k for k in keep if k not in ds.variables]
                if missing:
                    raise errors.AssetKeyError(
                        f"{target.label}: group {path!r} has no variable(s) {missing}; it has "
                        + ", ".join(sorted(map(str, ds.data_vars)))
                    )
                ds = ds[keep]
        if levels is not None:
            level = path.rpartition("/")[2]
            ds = georeference(ds, levels, level)
            ds.attrs.update(multiscales_level=level, multiscales_levels=levels.levels)
        return guard(ds, target)


def _tree(
    store: MetadataOnceStore, path: str, kwargs: dict[str, Any], extra: dict[str, Any]
) -> dict[str, xr.Dataset]:
    """The groups under ``path``: in a few trips to zarr's event loop (:mod:`._zarrtree`),
    or by xarray's zarr engine when the keywords include its other options."""
    if takes(kwargs):
        return open_tree(store, path, **kwargs, **extra)
    return xr.open_groups(store, engine="zarr", group=path or None, **kwargs, **extra)  # type: ignore[arg-type]


def _store(
    target: Target, href: str, hints: dict[str, Any], broker: Broker
) -> tuple[MetadataOnceStore, str]:
    """The store under ``href`` and the group path inside it.

    The hints' ``storage_options`` are used up here: they say where the store is (an Azure
    store's account), and the store, not xarray, is given them.
    """
    root, group = split_root(href)
    options = {**target.hint("storage_options"), **(hints.pop("storage_options", None) or {})}
    if scheme_of(root) in BLOB_SCHEMES:
        root = with_account(root, options, target.label)
    return open_store(root, broker, zarr_v3=_says_v3(target)), group


@contextlib.contextmanager
def _labelling(target: Target) -> Iterator[None]:
    """Errors of the library raised inside (by the store, a filesystem, a credential) begin
    with the asset they concern, when they do not name it already."""
    try:
        yield
    except errors.XStacError as exc:
        if target.label in str(exc):
            raise
        labelled = copy.copy(exc)
        labelled.args = (f"{target.label}: {exc}", *exc.args[1:])
        raise labelled from None


def _says_v3(target: Target) -> bool:
    """Whether the catalogue says the store is Zarr v3 (``...zarr; version=3``): then no
    request looks for v2 consolidated metadata first."""
    return "version=3" in (target.media_type or "").replace(" ", "").lower()


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


def _native(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Keywords for xarray's zarr engine: not the eopf ones, and no ``chunks``.

    xarray wraps whatever a backend returns in its own lazy arrays, so chunking here would be
    undone; the arrays carry the store's chunking in ``encoding["preferred_chunks"]`` and the
    caller's ``chunks={}`` (as the catalogue's hint suggests) gives dask chunks matching it.
    Defaults the caller may override: durations stay numbers (EOPF stores some that xarray
    cannot decode), and ``grid_mapping`` variables (GeoZarr's ``spatial_ref``) become
    coordinates, where rioxarray finds the CRS.
    """
    native = {k: v for k, v in kwargs.items() if k not in _NATIVE and k != "chunks"}
    return {"decode_timedelta": False, "decode_coords": "all", **native}


def _analysis(kwargs: dict[str, Any], root: str) -> bool:
    """Whether xarray-eopf's analysis mode is asked for; if so, complete its keywords.

    xarray-eopf recognises the product type from a path or URL, not from a zarr store object,
    so the type it recognises in the store's href is passed on explicitly.
    """
    if kwargs.get("engine") != "eopf-zarr" or kwargs.get("op_mode", "analysis") != "analysis":
        return False
    kwargs.setdefault("op_mode", "analysis")
    with needs("eopf", "op_mode='analysis' (xarray-eopf's analysis mode of EOPF products)"):
        import xarray_eopf  # noqa: F401  (registers the eopf-zarr engine)
    if not kwargs.get("product_type"):
        from xarray_eopf.amode import AnalysisMode

        mode = AnalysisMode.from_source(root)
        if mode is not None:
            kwargs["product_type"] = mode.product_type
    return True


def _locate(
    target: Target, store: Any, path: str, overview_level: int | None
) -> tuple[str, str | None, Multiscales | None]:
    """``(group to open, array to keep or None, the multiscales it is a level of or None)``.

    An href may name an array (its group is opened and the array kept) or a GeoZarr
    multiscales group (one of its levels is opened, see :mod:`._zarrlevels`). Anything else is
    opened as it is, and a missing node is left for xarray to report.
    """
    import zarr

    try:
        root = zarr.open_group(store, mode="r")
        node = root.get(path) if path else root
    except (KeyError, ValueError, OSError, zarr.errors.BaseZarrError):
        node = None
    if isinstance(node, zarr.Array):
        group, _, array = path.rpartition("/")
        return group, array, None
    found = multiscales(node)
    if found is None:
        if overview_level is not None:
            raise errors.FormatError(
                f"{target.label}: overview_level={overview_level} asks for a multiscales level, "
                f"but group {path or '/'!r} has no GeoZarr multiscales layout. Open a group "
                "that has one, or leave overview_level out."
            )
        return path, None, None
    layout = found.levels
    index = 0 if overview_level is None else overview_level + 1
    if not 0 <= index < len(layout):
        raise errors.FormatError(
            f"{target.label}: overview_level={overview_level} is out of range; "
            f"group {path or '/'!r} has {len(layout) - 1} overview level(s) below "
            f"{layout[0]!r} ({', '.join(layout[1:])}): use 0 to {len(layout) - 2}."
        )
    return "/".join(p for p in (path, layout[index]) if p), None, found


def _guard(target: Target, store: Any, opener: Any, given: dict[str, Any]) -> Any:
    """Run ``opener``; turn a missing or unreadable store into a typed error.

    Time units xarray cannot decode (seen in real EOPF products) do not make the whole product
    unreadable unless ``given`` (the open keywords) asked for decoded times
    (:func:`~xstac_access.readers._decode.open_decoding`).
    """
    try:
        return open_decoding(opener, target.label, given)
    except errors.XStacError:
        raise
    except (FileNotFoundError, KeyError) as exc:
        href, host = _where(target, store)
        raise errors.HrefNotFoundError(
            f"{target.label} at {href}: no Zarr group or array there "
            f"({exc.__class__.__name__}: {exc}). Check the href and group=.",
            href=href,
            host=host,
            status=404,
        ) from None
    except (ValueError, *_DAMAGE) as exc:
        raise _format_error(target, store, exc) from None


#: What zarr and xarray raise on metadata they cannot make sense of (wrong types, missing
#: fields, impossible shapes): the store is damaged, and the user gets a FormatError.
_DAMAGE = (TypeError, OSError, AttributeError, IndexError, ArithmeticError, NotImplementedError)


def _format_error(target: Target, store: Any, exc: Exception) -> errors.FormatError:
    href, host = _where(target, store)
    return errors.FormatError(
        f"{target.label} at {href} (host {host}) could not be opened as Zarr: "
        f"{exc.__class__.__name__}: {exc}."
    )


def _where(target: Target, store: Any) -> tuple[str, str]:
    """The href and host messages name: an Azure store's blob URL (an ``abfs://`` href names
    a container, not a host), else the target's."""
    root = getattr(store, "href", "")
    href = blob_url(root) if scheme_of(root) in BLOB_SCHEMES else target.href
    return safe_href(href), host_of(href)
