"""The groups of a Zarr tree opened with three trips to zarr's event loop instead of ~170.

xarray's zarr engine opens a tree group by group: for each group it lists the subgroups, gets the
group and lists its members (three trips to zarr's event loop), then reads each index coordinate
and the first and last values of each CF-time array one at a time (one trip each): about 170
trips for the 36-group EOPF S2 L2A product (benchmark B2), each a hand-over between threads that
costs more than the work itself on a busy machine. Here one trip opens the group, one lists
every node under it (from consolidated metadata: no request), and one reads every index
coordinate and every one-chunk CF-time array together (their chunks were prefetched: no request
either); xarray then builds each group's Dataset, decoded and indexed as its zarr engine does,
from a :class:`~xarray.backends.zarr.ZarrStore` told its members and those values. Each Dataset
is built once with its indexes, not indexed afterwards by a merge (see :func:`_dataset`).

Keywords beyond xarray's decoders and ``consolidated``/``zarr_format`` (other options of the
zarr engine a catalogue may hint) are left to xarray's own :func:`xarray.open_groups`.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import numpy as np
import xarray as xr
import zarr
from xarray.backends.api import _protect_dataset_variables_inplace
from xarray.backends.store import StoreBackendEntrypoint
from xarray.backends.zarr import ZarrStore
from zarr.core.sync import sync

#: The keywords :func:`open_tree` takes: xarray's decoders, and how to open the store.
DECODERS = frozenset(
    {
        "mask_and_scale", "decode_times", "decode_timedelta", "use_cftime", "concat_characters",
        "decode_coords", "drop_variables", "decode_cf",
    }
)  # fmt: skip
OPENING = frozenset({"consolidated", "zarr_format"})
#: Arrays read at open are this small at most (index coordinates and time stamps are).
MAX_READ = 1_000_000
_STORE = StoreBackendEntrypoint()


def takes(kwargs: dict[str, Any]) -> bool:
    """Whether :func:`open_tree` takes every one of ``kwargs``."""
    return set(kwargs) <= DECODERS | OPENING


def open_tree(store: Any, path: str, **kwargs: Any) -> dict[str, xr.Dataset]:
    """Every group under ``path`` of the zarr ``store`` as xarray's ``open_groups`` gives them
    (keys "/", "/a", "/a/b" relative to ``path``), decoded with the ``kwargs`` decoders."""
    opening = {"consolidated": None, **{k: kwargs.pop(k) for k in OPENING if k in kwargs}}
    top = ZarrStore.open_group(
        store, mode="r", group=f"/{path}", cache_members=False, **opening
    ).zarr_group
    nodes = dict(top.members(max_depth=None))
    groups: dict[str, Any] = {"": top}
    groups.update((key, node) for key, node in nodes.items() if isinstance(node, zarr.Group))
    arrays: dict[str, dict[str, zarr.Array]] = {key: {} for key in groups}
    for key, node in nodes.items():
        if isinstance(node, zarr.Array):
            parent, _, name = key.rpartition("/")
            arrays[parent][name] = node
    values = _read_at_open(arrays)
    fill_mask = top.metadata.zarr_format == 2  # as xarray's zarr engine decides
    decoders = _decoders(kwargs)
    return {
        f"/{key}" if key else "/": _dataset(
            _KnownStore(groups[key], arrays[key], values.get(key, {}), fill_mask), decoders
        )
        for key in sorted(groups)
    }


def _decoders(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The keywords of xarray's store backend, resolved as :func:`xarray.open_dataset` resolves
    them: ``decode_cf=False`` turns every decoder off, and a decoder given as None keeps the
    backend's default."""
    decoders = {k: v for k, v in kwargs.items() if k != "decode_cf" and v is not None}
    if kwargs.get("decode_cf") is False:
        decoders.update(dict.fromkeys(DECODERS - {"decode_cf", "drop_variables"}, False))
    return decoders


def _dataset(store: _KnownStore, decoders: dict[str, Any]) -> xr.Dataset:
    """What ``xr.open_dataset(store, engine="store", **decoders)`` gives: the store backend's
    Dataset, its variables protected as xarray protects them (copy on write, cached), each
    dimension coordinate indexed; the indexes go straight into the Dataset.

    :func:`xarray.open_dataset` adds them with ``assign_coords``, a merge aligning the new
    indexes with the Dataset's (~0.5 ms a group, a fifth of building the S2 L2A tree's 36):
    nothing to align in a Dataset that has none yet.
    """
    ds = _STORE.open_dataset(store, **decoders)
    _protect_dataset_variables_inplace(ds, cache=True)
    variables = ds.variables
    index = xr.Coordinates({n: variables[n] for n in ds.coords if variables[n].dims == (n,)})
    return ds._replace(
        variables={**variables, **index.variables}, indexes=dict(index.xindexes), inplace=True
    )


class _KnownStore(ZarrStore):
    """xarray's ZarrStore of one group, given its arrays (instead of listing them) and the
    values read for some of them (held in memory instead of read one by one)."""

    def __init__(
        self, group: Any, arrays: dict[str, Any], values: dict[str, np.ndarray], fill_mask: bool
    ) -> None:
        self._known, self._values = arrays, values
        super().__init__(group, mode="r", use_zarr_fill_value_as_mask=fill_mask)

    def _fetch_members(self) -> dict[str, Any]:
        return dict(self._known)

    def open_store_variable(self, name: str) -> xr.Variable:
        variable = super().open_store_variable(name)
        if name not in self._values:
            return variable
        return xr.Variable(variable.dims, self._values[name], variable.attrs, variable.encoding)


def _read_at_open(arrays: dict[str, dict[str, Any]]) -> dict[str, dict[str, np.ndarray]]:
    """The values xarray reads at open (index coordinates, one-chunk CF-time arrays), by group
    and name, read together; one that fails is left out (xarray reads it and reports it)."""
    chosen = [
        (group, name, array)
        for group, named in arrays.items()
        for name, array in named.items()
        if _read_at_open_one(name, array)
    ]

    async def read_all() -> list[Any]:
        reads = (array.async_array.getitem(...) for _, _, array in chosen)
        return await asyncio.gather(*reads, return_exceptions=True)

    out: dict[str, dict[str, np.ndarray]] = {}
    for (group, name, _), value in zip(chosen, sync(read_all()), strict=True):
        if not isinstance(value, BaseException):
            out.setdefault(group, {})[name] = np.asarray(value)
    return out


def _read_at_open_one(name: str, array: Any) -> bool:
    """Whether xarray reads ``array`` (named ``name``) at open, and it is small and plain: an
    index coordinate (1-D, named like its dimension), or a CF-time array in one chunk."""
    if array.dtype.kind in "OTV" or math.prod(array.shape) > MAX_READ:
        return False
    attrs = array.attrs
    dims = getattr(array.metadata, "dimension_names", None) or attrs.get("_ARRAY_DIMENSIONS")
    if array.ndim == 1 and list(dims or ()) == [name]:
        return True
    return " since " in str(attrs.get("units", "")) and array.nchunks == 1
