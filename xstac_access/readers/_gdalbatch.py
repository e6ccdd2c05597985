"""The bands of one window read at once when a Dataset loads them together.

Every band of a raster is a variable here, and ``Dataset.load()`` loads its variables one after
another: four bands of a window were four reads in a row, four round trips, where rioxarray's
one (band, y, x) read has GDAL fetch every tile at once (benchmark B1: 1.2-1.6 x rioxarray at
20-80 ms). For a band-interleaved file one GDAL call for several bands would not help: with one
GDAL thread (which the credentials need, :mod:`._gdal`) GDAL reads its bands one after another
too. So its bands are read side by side, each in a thread, as ``Dataset.load_async()`` does. A
pixel-interleaved raster (an RGB COG, a JPEG 2000 TCI) holds every band in the same blocks:
there the bands are read in one GDAL call, each block fetched and decoded once, where a read per
band in its own thread fetched and decoded every block once per band (benchmark B7's TCI: three
JPEG 2000 decodes instead of one).

Nothing in xarray tells a backend array which others the same load will read. So the first
band read inside a running ``Dataset.load`` (the nearest such frame on this thread's stack, and
the Dataset it loads) looks at that Dataset's variables: the bands of the same source and dtype
it still holds lazily at the same window are read at once with it, and kept for their own
reads, which follow in the same load and take them (each once). Bands the Dataset no longer
holds (dropped, not selected) are not read, and a band read on its own (``ds["HH"].load()``,
``.values``, a dask chunk) reads only itself, as before.

What is kept belongs to one thread and one loading Dataset (held weakly): the next batch on the
thread, or a read under another Dataset's load, replaces it.
"""

from __future__ import annotations

import functools
import sys
import threading
import weakref
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import xarray as xr
from xarray.backends import BackendArray
from xarray.core import indexing

#: The code of ``Dataset.load`` (``compute`` and ``DataArray.load`` go through it).
_LOAD_CODE = xr.Dataset.load.__code__
_local = threading.local()


class Band(Protocol):
    """What a batch needs of a one-band array (:class:`~.geotiff.RasterBandArray`)."""

    source: Any
    band: int | tuple[int, ...]
    dtype: np.dtype
    mask: bool
    pixel_interleaved: bool


#: Bands read at once, at most (each holds a connection while it reads).
CONCURRENCY = 4


@dataclass
class _Kept:
    """Bands read ahead for the load of ``owner``, by (source id, band, window)."""

    owner: weakref.ref[xr.Dataset]
    arrays: dict[tuple[int, int, Hashable], np.ndarray] = field(default_factory=dict)


def read(
    array: Band,
    key: indexing.BasicIndexer,
    read_band: Callable[[int], np.ndarray],
    read_bands: Callable[[list[int]], np.ndarray],
) -> np.ndarray:
    """``array[key]`` for a one-band array: taken from what an earlier read of the same
    ``Dataset.load`` kept, or read at once with the sibling bands that load will ask for next
    (``read_band(band)`` reads ``key`` of one band of ``array``'s source, ``read_bands(bands)``
    of several in one call, stacked)."""
    assert isinstance(array.band, int)
    loading = _loading()
    if loading is None:
        return read_band(array.band)
    window = _hashable(key.tuple)
    kept: _Kept | None = getattr(_local, "kept", None)
    if kept is not None and kept.owner() is loading:
        taken = kept.arrays.pop((id(array.source), array.band, window), None)
        if taken is not None:
            return taken
    others = [b for b in dict.fromkeys(_lazy_bands(loading, array, window)) if b != array.band]
    if not others:
        return read_band(array.band)
    if array.pixel_interleaved:
        stack = read_bands([array.band, *others])
        _local.kept = _Kept(weakref.ref(loading), {
            (id(array.source), band, window): stack[i + 1] for i, band in enumerate(others)
        })  # fmt: skip
        return stack[0]
    pending = {band: _pool().submit(read_band, band) for band in others}
    first = read_band(array.band)  # meanwhile, here: where the open left its dataset
    wait(pending.values())
    _local.kept = _Kept(weakref.ref(loading), {
        (id(array.source), band, window): future.result()
        for band, future in pending.items()
        if future.exception() is None  # a band that failed fails again, on its own, when read
    })  # fmt: skip
    return first


@functools.cache
def _pool() -> ThreadPoolExecutor:
    """The threads sibling bands are read in (made once; each keeps its open datasets)."""
    return ThreadPoolExecutor(CONCURRENCY, thread_name_prefix="xstac-bands")


def _loading() -> xr.Dataset | None:
    """The Dataset whose ``load()`` is running in this thread (the nearest), if any."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code is _LOAD_CODE:
            ds = frame.f_locals.get("self")
            return ds if isinstance(ds, xr.Dataset) else None
        frame = frame.f_back  # type: ignore[assignment]
    return None


def _lazy_bands(ds: xr.Dataset, array: Band, window: Hashable) -> Iterator[int]:
    """Bands of ``array``'s source and dtype that ``ds`` holds lazily at ``window``."""
    for variable in ds.variables.values():
        found = _backend(variable._data)
        if found is None:
            continue
        other, key = found
        if (
            other is not array
            and getattr(other, "source", None) is array.source
            and isinstance(getattr(other, "band", None), int)
            and not getattr(other, "mask", True)
            and other.dtype == array.dtype
            and isinstance(key, indexing.BasicIndexer)
            and _hashable(key.tuple) == window
        ):
            yield other.band


def _backend(data: Any) -> tuple[Any, indexing.ExplicitIndexer] | None:
    """The backend array under xarray's lazy wrappers (decoding, caching, copy-on-write) and
    the key it will be read with, or None for data already in memory."""
    while isinstance(data, indexing.ExplicitlyIndexed):
        inner = getattr(data, "array", None)
        if isinstance(data, indexing.LazilyIndexedArray) and isinstance(inner, BackendArray):
            return inner, data.key
        data = inner
    return None


def _hashable(key: tuple[Any, ...]) -> Hashable:
    """A key of ints and slices as a dict key (slices are not hashable before Python 3.12)."""
    return tuple((k.start, k.stop, k.step) if isinstance(k, slice) else k for k in key)
