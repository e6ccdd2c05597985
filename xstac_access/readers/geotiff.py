"""GeoTIFF / COG (and anything else GDAL rasters read, such as JPEG2000) as a lazy Dataset.

One data variable per band, named from the catalogue (``eo:bands`` / ``bands`` /
``raster:bands`` names), then the file's band descriptions, then the item's
``sar:polarizations``, then the asset key. Nothing but the header is read at open: values come
by windowed reads when asked, and ``encoding["preferred_chunks"]`` carries the file's tile size
so ``chunks={}`` gives tile-aligned dask chunks. Georeferencing lands where rioxarray looks for
it (the ``spatial_ref`` coordinate), GCPs included, so ``ds.rio`` works and GCP-only SAR images
can be geocoded later.

Each band variable's ``encoding`` says where it came from: ``source`` (the href, no query
string), ``overviews`` (the file's overview decimation factors, finest first, so level ``i`` is
about ``shape / overviews[i]``), ``raster_source`` (the picklable, secret-free
:class:`~xstac_access.readers._gdal.RasterSource`) and ``raster_band`` (its 1-based band
index). With the last two, ``.eo.quicklook`` rereads a band at a coarse overview level through
the same credential instead of reading the full-resolution image.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import xarray as xr
from xarray.backends import BackendArray
from xarray.conventions import decode_cf_variable
from xarray.core import indexing

from .._hrefs import safe_href
from .._resolve import Target
from ..credentials.broker import Broker
from . import _gdalbatch
from ._gdal import RasterSource, raster_source
from ._gdalmeta import (
    NodataWarning,
    colormap_attr,
    fill_value,
    georeferenced,
    has_dataset_mask,
    read_header,
)
from ._gdalstride import read_strided

__all__ = ["NodataWarning", "RasterBandArray", "band_names", "open_dataset"]


class RasterBandArray(BackendArray):
    """One band of a raster, read by window on demand (picklable: it holds only the source).

    ``mask=True`` reads GDAL's mask of the band instead (True where valid), for the ``mask``
    variable of a raster with a per-dataset mask. ``band`` a tuple of band numbers makes a
    (band, y, x) array of those bands (a true-colour picture as one variable), read together.
    """

    def __init__(
        self,
        source: RasterSource,
        band: int | tuple[int, ...],
        shape: tuple[int, int],
        dtype: np.dtype,
        mask: bool = False,
        pixel_interleaved: bool = False,
    ) -> None:
        self.source = source
        self.band = band
        self.shape = (len(band), *shape) if isinstance(band, tuple) else shape
        self.dtype = np.dtype(bool) if mask else dtype
        self.mask = mask
        self.pixel_interleaved = pixel_interleaved

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        """``key`` of the band; a band a running ``Dataset.load()`` reads with its siblings at
        the same window comes from one read of them all (:mod:`._gdalbatch`)."""
        if isinstance(self.band, int) and not self.mask and isinstance(key, indexing.BasicIndexer):
            return _gdalbatch.read(
                self,
                key,
                lambda band: self._sibling(band)._get(key),
                lambda bands: self._sibling(tuple(bands))._get(
                    indexing.BasicIndexer((slice(None), *key.tuple))
                ),
            )
        return self._get(key)

    def _get(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.BASIC, self._read
        )

    def _sibling(self, band: int | tuple[int, ...]) -> RasterBandArray:
        """Band ``band`` (or bands) of the same source, read as this one is."""
        height, width = self.shape[-2:]
        return RasterBandArray(
            self.source, band, (height, width), self.dtype, pixel_interleaved=self.pixel_interleaved
        )

    async def async_getitem(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        """The same read, in a worker thread: ``Dataset.load_async()`` then reads the bands of a
        window concurrently, in about one round trip, where ``load()`` reads them one after
        another (xarray loads variables in turn, and every band is a variable here)."""
        import asyncio

        return await asyncio.to_thread(self.__getitem__, key)

    def _read(self, key: tuple[int | slice, ...]) -> np.ndarray:
        """The window of ``key``; a strided one reads only the rows and columns it keeps
        (:mod:`._gdalstride`), and a (band, y, x) array the bands asked for in one call."""
        whole: tuple[int | slice, ...] = key
        bands: int | list[int] = self.band if isinstance(self.band, int) else []
        post: list[slice | int] = []  # what indexes the read: band axis, dropped axes
        if isinstance(self.band, tuple):  # the band axis: which bands, and whether it stays
            first, key = key[0], key[1:]
            bands = list(self.band[first]) if isinstance(first, slice) else self.band[first]
            post = [slice(None)] if isinstance(first, slice) else []
        ranges: list[tuple[int, int, int]] = []  # (start, stop, step) per grid axis
        for k, size in zip(key, self.shape[-2:], strict=True):
            if isinstance(k, slice):
                start, stop, step = k.indices(size)
                if step < 0 or stop <= start or bands == []:
                    return np.broadcast_to(np.zeros((), self.dtype), self.shape)[whole].copy()
                ranges.append((start, stop, step))
                post.append(slice(None))
            else:
                ranges.append((k, k + 1, 1))
                post.append(0)
        rows, cols = ranges
        data = self.source.run(lambda ds: read_strided(ds, bands, rows, cols, self.mask))
        return data[tuple(post)]


def open_dataset(
    target: Target,
    *,
    broker: Broker,
    overview_level: int | None = None,
    mask_and_scale: bool = True,
    drop_variables: Iterable[str] | None = None,
    sidecars: bool | None = None,
    source: RasterSource | None = None,
    **unused: Any,
) -> xr.Dataset:
    """Open ``target`` lazily; see the module docstring for names, chunks and georeferencing.

    ``sidecars``: read a remote raster's ``.ovr``/``.msk``/``.aux.xml``/RPC sidecars (``True``),
    only those the item lists as assets (``None``), or none (``False``); local ones are always
    read (:mod:`._gdalsidecars`). ``source`` replaces the target's own when the raster lives
    elsewhere (a zip member).
    """
    source = source or raster_source(
        target, broker, overview_level=overview_level, sidecars=sidecars
    )
    meta = source.run(read_header)
    names = band_names(target, meta["count"], meta["descriptions"], meta["colorinterp"])
    stac_bands = _stac_bands(target.asset)
    drop = set(drop_variables or ())
    variables = {}
    for index, name in enumerate(names):
        if name in drop:
            continue
        stac_band = stac_bands[index] if index < len(stac_bands) else {}
        variables[name] = _band_variable(
            source, meta, index, stac_band, mask_and_scale, target.label
        )
    bands = {name: index + 1 for index, name in enumerate(names)}
    if has_dataset_mask(meta) and "mask" not in names and "mask" not in drop:
        array = RasterBandArray(source, 1, meta["shape"], np.dtype(bool), mask=True)
        variables["mask"] = xr.Variable(("y", "x"), indexing.LazilyIndexedArray(array), MASK_ATTRS)
        bands["mask"] = 1
    if mask_and_scale:  # each band alone, as xr.decode_cf would, without a second Dataset
        variables = {
            name: decode_cf_variable(name, variable, mask_and_scale=True, decode_times=False)
            for name, variable in variables.items()
        }
    ds = georeferenced(variables, meta)
    if mask_and_scale:  # what decode_cf's pass leaves on coordinates: their dtype
        for coord in ds.coords.values():
            ds.variables[coord.name].encoding.setdefault("dtype", coord.dtype)
    encoding = _encoding(meta, target)
    for name in variables:
        ds.variables[name].encoding.update(encoding, raster_source=source, raster_band=bands[name])
    if "mask" in variables:
        del ds.variables["mask"].encoding["rasterio_dtype"]
    return ds


#: Attributes of the ``mask`` variable: GDAL's per-dataset mask, True where the data are valid.
MASK_ATTRS = {
    "long_name": "validity mask",
    "description": "GDAL's per-dataset mask (internal, or the .msk sidecar): True where the "
    "bands hold data; apply it with ds.where(ds['mask'])",
    "gdal_mask": "per_dataset",
}


def band_names(
    target: Target,
    count: int,
    descriptions: Iterable[str | None],
    colorinterp: Iterable[str] = (),
) -> list[str]:
    """Variable names for ``count`` bands (see the module docstring for the order of sources);
    in the last resort, ``band_<n>``, a band GDAL calls alpha is named ``alpha``."""
    stac_names = [b.get("name") for b in _stac_bands(target.asset)]
    named = [n for n in stac_names if isinstance(n, str) and n]
    if len(stac_names) == count and len(named) == count:
        return _unique(named)
    described = list(descriptions)
    if len(described) == count and all(described) and count > 1:
        return _unique([d for d in described if d])
    pols = (target.item or {}).get("properties", {}).get("sar:polarizations")
    if isinstance(pols, list) and len(pols) == count and count > 1:
        return _unique([str(p) for p in pols])
    if count == 1:
        return [target.key or (described[0] if described and described[0] else "band_data")]
    roles = list(colorinterp)
    roles += ["undefined"] * (count - len(roles))
    return _unique(["alpha" if roles[i] == "alpha" else f"band_{i + 1}" for i in range(count)])


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out


def _stac_bands(asset: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per-band STAC metadata merged from ``bands`` (STAC 1.1), ``eo:bands``, ``raster:bands``."""
    given = [asset.get(k) for k in ("bands", "eo:bands", "raster:bands")]
    lists = [band_list for band_list in given if isinstance(band_list, list)]
    if not lists:
        return []
    merged: list[dict[str, Any]] = [{} for _ in range(max(len(band_list) for band_list in lists))]
    for band_list in lists:
        for i, band in enumerate(band_list):
            if isinstance(band, Mapping):
                for key, value in band.items():
                    merged[i].setdefault(key.removeprefix("raster:").removeprefix("eo:"), value)
    return merged


def _band_variable(
    source: RasterSource,
    meta: dict[str, Any],
    index: int,
    stac_band: Mapping[str, Any],
    mask_and_scale: bool,
    label: str,
) -> xr.Variable:
    dtype = meta["dtypes"][index]
    array = RasterBandArray(
        source, index + 1, meta["shape"], dtype, pixel_interleaved=meta["pixel_interleaved"]
    )
    data = indexing.LazilyIndexedArray(array)
    attrs: dict[str, Any] = {"color_interpretation": meta["colorinterp"][index]}
    if index in meta["colormaps"]:
        attrs["colormap"] = colormap_attr(meta["colormaps"][index])
    origin = "the item's raster:bands" if "nodata" in stac_band else "the file's"
    nodata = fill_value(stac_band.get("nodata", meta["nodata"][index]), dtype, label, origin)
    scale = stac_band.get("scale", meta["scales"][index])
    offset = stac_band.get("offset", meta["offsets"][index])
    if nodata is not None:
        attrs["nodata" if dtype.kind == "c" else "_FillValue"] = nodata
    # float32 results for 8/16-bit counts (as xarray gives for float32 factors), float64 above
    real = np.float32 if dtype.kind in "iu" and dtype.itemsize <= 2 else np.float64
    if scale not in (None, 1, 1.0) and dtype.kind != "c":
        attrs["scale_factor"] = real(scale)
    if offset not in (None, 0, 0.0) and dtype.kind != "c":
        attrs["add_offset"] = real(offset)
    for key in ("common_name", "description", "center_wavelength", "full_width_half_max", "unit"):
        if isinstance(stac_band.get(key), str | int | float):
            attrs["units" if key == "unit" else key] = stac_band[key]
    if "units" not in attrs and meta["units"][index]:
        attrs["units"] = meta["units"][index]
    if not mask_and_scale:
        attrs = {("nodata" if k == "_FillValue" else k): v for k, v in attrs.items()}
    return xr.Variable(("y", "x"), data, attrs)


def _encoding(meta: dict[str, Any], target: Target) -> dict[str, Any]:
    block_y, block_x = meta["block"]
    return {
        "preferred_chunks": {"y": block_y, "x": block_x},
        "source": safe_href(target.href),
        "rasterio_dtype": meta["rasterio_dtypes"][0],
        "overviews": list(meta["overviews"]),
    }
