"""The reader contract: what every reader module provides, and the dispatch relies on.

A reader is a module of this package named by its format (``geotiff``, ``zarr``, ``kml``...:
what users pass as ``reader=``), listed in :data:`~xstac_access.readers.READERS`. The dispatch
(:func:`~xstac_access.readers.reader_for`) decides which format a target is, from the
catalogue's media type, the extension, the roles and the first bytes; the module then satisfies
:class:`Reader`, and :class:`TreeReader` when its format has groups (netCDF/HDF5, Zarr).
``tests/test_reader_contract.py`` checks every registered reader against both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import xarray as xr

    from .._resolve import Target
    from ..credentials.broker import Broker


@runtime_checkable
class Reader(Protocol):
    """What a reader module provides: ``open_dataset(target, *, broker, **options)``.

    ``target`` is the resolved asset; ``broker`` gives the credential of every href read.
    Options a reader does not know it must ignore, not reject (the engine passes the caller's
    keywords and the catalogue's open hints alike). It opens lazily (metadata only) and either
    returns the dataset or raises an :class:`~xstac_access.errors.XStacError`; never ``None``.
    """

    def open_dataset(self, target: Target, *, broker: Broker, **options: Any) -> xr.Dataset: ...


@runtime_checkable
class TreeReader(Reader, Protocol):
    """A reader whose format has groups also opens the whole hierarchy as a ``DataTree``.

    Optional: for a reader without it, ``xr.open_datatree(..., engine="stacasset")`` wraps
    :meth:`Reader.open_dataset` in a one-node tree.
    """

    def open_datatree(self, target: Target, *, broker: Broker, **options: Any) -> xr.DataTree: ...
