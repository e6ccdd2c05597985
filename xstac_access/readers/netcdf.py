"""netCDF4 / HDF5 assets (and netCDF3 classic) as lazy Datasets, or their groups (a tree).

netCDF4 and HDF5 go through h5netcdf. Remote files are read through the broker's fsspec
filesystem (:func:`~xstac_access.credentials.filesystems.filesystem_for`): a seekable file that
reads by HTTP Range (or S3 ranged GETs) with the asset's credential, cached in modest blocks, so
opening reads the superblock and object headers, and a slice of a variable reads its chunks,
never the whole file; a server that ignores Range sends the whole file to the first read, and a
small one (:func:`~xstac_access.http.ranged.no_range_limit`) is then read from memory for that open
(a larger one is a :class:`~xstac_access.errors.RangeNotSupportedError`). That file reaches
h5py wrapped in :class:`~._h5file.GcPausedFile`, without which h5py and fsspec's IO thread can
deadlock. Local paths are opened directly. Decoding (CF scale/offset, fill values,
times) is xarray's own. A first 8-byte read tells the flavour and turns a refused or missing
file, or a login page, into a typed error before h5py sees it.

netCDF3 (``CDF\\x01``/``CDF\\x02``) goes through scipy, which reads variables when the file is
opened: that suits the small files that format is used for. h5netcdf, h5py and scipy come with
the ``[netcdf]`` extra; without it, such a file raises
:class:`~xstac_access.errors.MissingExtraError`.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

import xarray as xr

from .. import errors
from .._extras import needs
from .._hrefs import host_of, local_path, safe_href, scheme_of
from .._resolve import Target
from ..credentials.broker import Broker
from ..http import fetch
from ..http.ranged import get_range
from ._decode import decoders, open_decoding
from ._groups import rooted
from ._h5file import GcPausedFile
from ._lazy import guard

#: fsspec block size and cache for remote files: HDF5 metadata is scattered in small pieces,
#: so many small blocks kept in an LRU beat one large read-ahead buffer.
BLOCK_SIZE = 256 * 1024
CACHE_BLOCKS = 64
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
NETCDF3_MAGICS = (b"CDF\x01", b"CDF\x02")


def open_dataset(
    target: Target,
    *,
    broker: Broker,
    group: str | None = None,
    mask_and_scale: bool = True,
    drop_variables: Iterable[str] | None = None,
    **options: Any,
) -> xr.Dataset:
    """Open ``target`` (or one ``group`` of it) lazily, CF-decoded as ``xr.open_dataset`` does."""
    engine, handle = _open(target, broker)
    kwargs = _kwargs(engine, group, mask_and_scale, drop_variables, options, target)
    try:
        ds = _decoding(lambda **extra: xr.open_dataset(handle, engine=engine, **kwargs, **extra),
                       target, handle, kwargs)  # fmt: skip
    except (OSError, KeyError, ValueError) as exc:
        raise _explain(target, handle, engine, group, exc) from None
    return _finish(ds, target)


def open_groups(
    target: Target,
    *,
    broker: Broker,
    group: str | None = None,
    mask_and_scale: bool = True,
    drop_variables: Iterable[str] | None = None,
    **options: Any,
) -> dict[str, xr.Dataset]:
    """Every group of ``target`` (or under its ``group``), lazily, keyed "/", "/a"... as
    :func:`xarray.open_groups` does (netCDF3 has only "/")."""
    engine, handle = _open(target, broker)
    kwargs = _kwargs(engine, group, mask_and_scale, drop_variables, options, target)

    def opener(**extra: Any) -> dict[str, xr.Dataset]:
        if engine == "scipy":  # netCDF3: the root is the only group
            return {"/": xr.open_dataset(handle, engine=engine, **kwargs, **extra)}
        return xr.open_groups(handle, engine=engine, **kwargs, **extra)

    try:
        groups = _decoding(opener, target, handle, kwargs)
    except (OSError, KeyError, ValueError) as exc:
        raise _explain(target, handle, engine, group, exc) from None
    return {path: _finish(ds, target) for path, ds in rooted(groups).items()}


def _kwargs(
    engine: str,
    group: str | None,
    mask_and_scale: bool,
    drop_variables: Iterable[str] | None,
    options: dict[str, Any],
    target: Target,
) -> dict[str, Any]:
    """xarray's keywords for ``engine``: the caller's decoders, ``group`` and phony dims."""
    kwargs: dict[str, Any] = {"mask_and_scale": mask_and_scale}
    if drop_variables is not None:
        kwargs["drop_variables"] = list(drop_variables)
    kwargs.update(decoders(options))
    if group is not None:
        if engine == "scipy":
            raise errors.AssetKeyError(
                f"{target.label} is a netCDF3 file, which has no groups (group={group!r})"
            )
        kwargs["group"] = group
    if engine == "h5netcdf":
        kwargs["phony_dims"] = options.get("phony_dims") or "access"  # plain HDF5 files too
    return kwargs


def _decoding(opener: Any, target: Target, handle: Any, kwargs: dict[str, Any]) -> Any:
    """``opener()``, again without decoding times when xarray cannot decode them."""
    rewind = handle.seek if hasattr(handle, "seek") else None
    return open_decoding(opener, _where(target), kwargs, rewind and (lambda: rewind(0)))


def _open(target: Target, broker: Broker) -> tuple[str, Any]:
    """The xarray engine for the file, and what to hand it: a local path or a ranged file."""
    whole = None
    if scheme_of(target.href) in ("http", "https"):  # a server ignoring Range: kept whole
        span = get_range(target.href, 0, 7, access=broker.access(target.href), broker=broker,
                         what=target.label, keep_whole=True)  # fmt: skip
        head, whole = span.data, span.whole
    else:
        head = fetch(target.href, byte_range=(0, 8), broker=broker, what=target.label)
    if head.startswith(HDF5_MAGIC):
        engine = "h5netcdf"
        with needs("netcdf", f"{_where(target)} is netCDF4/HDF5: reading it"):
            import h5netcdf  # noqa: F401
            import h5py  # noqa: F401
    elif head.startswith(NETCDF3_MAGICS):
        engine = "scipy"
        with needs("netcdf", f"{_where(target)} is netCDF3 classic: reading it"):
            import scipy.io  # noqa: F401
    elif head.startswith(b"CDF\x05"):
        raise errors.UnsupportedFormatError(
            f"{_where(target)} is a netCDF3 64-bit-data (CDF-5) file, which neither h5netcdf "
            "nor scipy reads; open a local copy with engine='netcdf4'"
        )
    else:
        raise errors.FormatError(
            f"{_where(target)} is not netCDF/HDF5: it starts with {head[:8]!r}. The "
            "catalogue's media type may be wrong; choose another asset or pass reader=."
        )
    if scheme_of(target.href) == "file":
        return engine, local_path(target.href)
    if whole is not None:
        return engine, io.BytesIO(whole)
    from ..credentials.filesystems import filesystem_for

    fs = filesystem_for(target.href, broker)
    handle = fs.open(
        target.href, "rb", block_size=BLOCK_SIZE, cache_type="blockcache",
        cache_options={"maxblocks": CACHE_BLOCKS},
    )  # fmt: skip
    return engine, GcPausedFile(handle)


def _finish(ds: xr.Dataset, target: Target) -> xr.Dataset:
    """Stamp the safe href as every variable's source; reads failing later are typed errors."""
    source = safe_href(target.href)
    ds.encoding["source"] = source
    for variable in ds.variables.values():
        variable.encoding["source"] = source
    return guard(ds, target)


def _explain(
    target: Target, handle: Any, engine: str, group: str | None, exc: Exception
) -> errors.XStacError:
    """A typed error for a failed open: a missing group (with the groups there are), or damage."""
    where = _where(target)
    if group is not None:
        groups = _groups(handle)
        if groups is not None and group.strip("/") not in groups:
            return errors.AssetKeyError(
                f"{where} has no group {group!r}; its groups are: "
                + (", ".join(sorted(groups)) or "none (only the root)")
            )
    return errors.FormatError(f"{where} cannot be read as {engine} netCDF/HDF5: {exc}")


def _where(target: Target) -> str:
    """How messages name the file: its label, href (once) and host."""
    shown = safe_href(target.href)
    label = target.label if shown in target.label else f"{target.label} at {shown}"
    return f"{label} (host {host_of(target.href)})"


def _groups(handle: Any) -> list[str] | None:
    """Paths of every group in an HDF5 file, or ``None`` when it cannot be opened at all."""
    import h5py

    try:
        if hasattr(handle, "seek"):
            handle.seek(0)
        with h5py.File(handle, "r") as f:
            found: list[str] = []
            f.visititems(
                lambda name, obj: found.append(name) if isinstance(obj, h5py.Group) else None
            )
            return found
    except (OSError, ValueError):
        return None
