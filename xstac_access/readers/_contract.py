"""The reader contract: what every reader module provides, and the dispatch relies on.

A reader is a module of this package named by its format (``geotiff``, ``zarr``, ``kml``...:
what users pass as ``reader=``), listed in :data:`~xstac_access.readers.READERS`. The dispatch
(:func:`~xstac_access.readers.reader_for`) decides which format a target is, from the
catalogue's media type, the extension, the roles and the first bytes; the module then satisfies
:class:`Reader`, and :class:`TreeReader` when its format has groups (netCDF/HDF5, Zarr). The
keywords each reader takes are listed in :data:`~xstac_access.readers.OPTIONS`.
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
    """A reader whose format has groups also opens all of them (under ``group=``, if given).

    It returns them as :func:`xarray.open_groups` does: a dict from each group's path ("/",
    "/a", "/a/b") to its Dataset. ``xr.open_datatree(..., engine="stacasset")`` builds the tree
    from that dict (:mod:`._groups`). Optional: for a reader without it, the groups are
    :meth:`Reader.open_dataset`'s Dataset alone, at "/".
    """

    def open_groups(
        self, target: Target, *, broker: Broker, **options: Any
    ) -> dict[str, xr.Dataset]: ...
