"""Typed errors for lazy reads that fail inside a dependency, after the open.

Opening reads metadata only; values move later, when xarray or dask index the variables. A read
failing then fails inside zarr, fsspec/aiohttp or h5py, whose exceptions name neither the asset
nor what to do (and may print a signed URL). :func:`guard` wraps each lazily read variable of a
Dataset so that such a failure becomes an :class:`~xstac_access.errors.AccessError` naming the
asset, the variable, the masked href and the host, with the HTTP status when there was one; the
dependency's exception stays chained as its cause. Errors of the library itself (a refused
credential) pass unchanged.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import xarray as xr
from xarray.backends import BackendArray
from xarray.core import indexing

from .. import errors
from .._hrefs import host_of, safe_href
from .._resolve import Target

_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)


class GuardedArray(BackendArray):
    """A lazily read array whose read failures are typed errors (see the module docstring)."""

    def __init__(self, array: Any, name: str, label: str, href: str) -> None:
        self.array = array
        self.shape = array.shape
        self.dtype = array.dtype
        self.name, self.label, self.href = name, label, href

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        try:
            return self.array[key]
        except errors.XStacError:
            raise
        except Exception as exc:
            raise read_error(exc, self.name, self.label, self.href) from exc

    def __getattr__(self, name: str) -> Any:  # what xarray asks of the array it wraps
        if name == "array":
            raise AttributeError(name)
        return getattr(self.array, name)


def guard(ds: xr.Dataset, target: Target) -> xr.Dataset:
    """``ds`` with the backend array under each lazily read variable (zarr's, h5netcdf's)
    wrapped, in place, in a GuardedArray; xarray's own lazy wrappers around it stay as they
    are."""
    for name, variable in ds.variables.items():
        parent: Any = variable._data  # the lazy array xarray keeps, not computed
        while isinstance(getattr(parent, "array", None), indexing.ExplicitlyIndexed) and not (
            isinstance(parent.array, BackendArray)
        ):
            parent = parent.array
        backend = getattr(parent, "array", None)
        if isinstance(backend, BackendArray) and not isinstance(backend, GuardedArray):
            parent.array = GuardedArray(backend, str(name), target.label, target.href)
    return ds


def read_error(exc: BaseException, name: str, label: str, href: str) -> errors.AccessError:
    """The typed error for reading variable ``name`` of ``label`` at ``href`` failing with
    ``exc`` (its text with every URL masked, its HTTP status if it has one)."""
    status = getattr(exc, "status", None)
    status = status if isinstance(status, int) else None
    detail = _URL.sub(lambda m: safe_href(m.group(0)), str(exc))[:300]
    shown, host = safe_href(href), host_of(href)
    where = "" if shown in label else f" from {shown}"
    return errors.AccessError(
        f"{label}: reading variable {name!r}{where} (host {host}) failed after the open "
        f"({type(exc).__name__}: {detail}). The data is read lazily, so the file or server "
        "failed now; retry the computation, or check the host.",
        href=safe_href(href),
        host=host,
        status=status,
    )
