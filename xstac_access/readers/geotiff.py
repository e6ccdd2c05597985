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
from xarray.core import indexing

from .._hrefs import safe_href
from .._resolve import Target
from ..credentials.broker import Broker
from ._gdal import RasterSource, raster_source

_NUMPY_DTYPES = {"complex_int16": "complex64"}


class RasterBandArray(BackendArray):
    """One band of a raster, read by window on demand (picklable: it holds only the source)."""

    def __init__(
        self, source: RasterSource, band: int, shape: tuple[int, int], dtype: np.dtype
    ) -> None:
        self.source = source
        self.band = band
        self.shape = shape
        self.dtype = dtype

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.BASIC, self._read
        )

    async def async_getitem(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        """The same read, in a worker thread: ``Dataset.load_async()`` then reads the bands of a
        window concurrently, in about one round trip, where ``load()`` reads them one after
        another (xarray loads variables in turn, and every band is a variable here)."""
        import asyncio

        return await asyncio.to_thread(self.__getitem__, key)

    def _read(self, key: tuple[int | slice, ...]) -> np.ndarray:
        from rasterio.windows import Window

        bounds, post = [], []
        for k, size in zip(key, self.shape, strict=True):
            if isinstance(k, slice):
                start, stop, step = k.indices(size)
                if step < 0 or stop <= start:
                    return np.empty((0,) * len(self.shape), dtype=self.dtype)[
                        tuple(slice(None) if isinstance(kk, slice) else 0 for kk in key)
                    ]
                bounds.append((start, stop))
                post.append(slice(None, None, step))
            else:
                bounds.append((k, k + 1))
                post.append(0)
        window = Window.from_slices(*bounds)
        data = self.source.run(lambda ds: ds.read(self.band, window=window))
        return data[tuple(post)]


def open_dataset(
    target: Target,
    *,
    broker: Broker,
    overview_level: int | None = None,
    mask_and_scale: bool = True,
    drop_variables: Iterable[str] | None = None,
    source: RasterSource | None = None,
    **unused: Any,
) -> xr.Dataset:
    """Open ``target`` lazily; see the module docstring for names, chunks and georeferencing.

    ``source`` replaces the target's own when the raster lives elsewhere (a zip member).
    """
    source = source or raster_source(target, broker, overview_level=overview_level)
    meta = source.run(_read_header)
    names = band_names(target, meta["count"], meta["descriptions"])
    stac_bands = _stac_bands(target.asset)
    drop = set(drop_variables or ())
    variables = {}
    for index, name in enumerate(names):
        if name in drop:
            continue
        stac_band = stac_bands[index] if index < len(stac_bands) else {}
        variables[name] = _band_variable(source, meta, index, stac_band, mask_and_scale)
    ds = xr.Dataset(variables, coords=_xy_coords(meta))
    ds = _write_georeferencing(ds, meta)
    if mask_and_scale:
        ds = xr.decode_cf(ds, mask_and_scale=True, decode_times=False, decode_coords=False)
    bands = {name: index + 1 for index, name in enumerate(names)}
    for name in ds.data_vars:
        ds[name].encoding.update(
            _encoding(meta, target), raster_source=source, raster_band=bands[name]
        )
    return ds


def _read_header(ds: Any) -> dict[str, Any]:
    gcps, gcp_crs = ds.gcps
    return {
        "count": ds.count,
        "shape": (ds.height, ds.width),
        "dtypes": [np.dtype(_NUMPY_DTYPES.get(d, d)) for d in ds.dtypes],
        "rasterio_dtypes": list(ds.dtypes),
        "block": ds.block_shapes[0],
        "nodata": ds.nodatavals,
        "scales": ds.scales,
        "offsets": ds.offsets,
        "descriptions": ds.descriptions,
        "units": ds.units,
        "crs": ds.crs,
        "transform": ds.transform,
        "gcps": list(gcps),
        "gcp_crs": gcp_crs,
        "overviews": ds.overviews(1),
    }


def band_names(target: Target, count: int, descriptions: Iterable[str | None]) -> list[str]:
    """Variable names for ``count`` bands (see the module docstring for the order of sources)."""
    stac_names = [b.get("name") for b in _stac_bands(target.asset)]
    if len(stac_names) == count and all(isinstance(n, str) and n for n in stac_names):
        return _unique(stac_names)
    described = list(descriptions)
    if len(described) == count and all(described) and count > 1:
        return _unique(described)
    pols = (target.item or {}).get("properties", {}).get("sar:polarizations")
    if isinstance(pols, list) and len(pols) == count and count > 1:
        return _unique([str(p) for p in pols])
    if count == 1:
        return [target.key or (described[0] if described and described[0] else "band_data")]
    return [f"band_{i + 1}" for i in range(count)]


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out


def _stac_bands(asset: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per-band STAC metadata merged from ``bands`` (STAC 1.1), ``eo:bands``, ``raster:bands``."""
    lists = [asset.get(k) for k in ("bands", "eo:bands", "raster:bands")]
    lists = [band_list for band_list in lists if isinstance(band_list, list)]
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
) -> xr.Variable:
    dtype = meta["dtypes"][index]
    array = RasterBandArray(source, index + 1, meta["shape"], dtype)
    data = indexing.LazilyIndexedArray(array)
    attrs: dict[str, Any] = {}
    nodata = stac_band.get("nodata", meta["nodata"][index])
    scale = stac_band.get("scale", meta["scales"][index])
    offset = stac_band.get("offset", meta["offsets"][index])
    if nodata is not None and not (isinstance(nodata, float) and np.isnan(nodata)):
        if dtype.kind == "c":
            attrs["nodata"] = nodata
        else:
            attrs["_FillValue"] = dtype.type(nodata) if dtype.kind in "iu" else nodata
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


def _xy_coords(meta: dict[str, Any]) -> dict[str, Any]:
    """1-D x/y pixel-centre coordinates for north-up rasters; none for GCP or rotated ones."""
    t = meta["transform"]
    if meta["gcps"] or t.is_identity or t.b != 0 or t.d != 0:
        return {}
    height, width = meta["shape"]
    return {
        "x": ("x", t.c + t.a * (np.arange(width) + 0.5), {"axis": "X"}),
        "y": ("y", t.f + t.e * (np.arange(height) + 0.5), {"axis": "Y"}),
    }


def _write_georeferencing(ds: xr.Dataset, meta: dict[str, Any]) -> xr.Dataset:
    import rioxarray  # noqa: F401  (registers the .rio accessor)

    if meta["gcps"]:
        ds = ds.rio.write_gcps(meta["gcps"], meta["gcp_crs"])
    elif meta["crs"] is not None:
        ds = ds.rio.write_crs(meta["crs"]).rio.write_transform(meta["transform"])
    return ds


def _encoding(meta: dict[str, Any], target: Target) -> dict[str, Any]:
    block_y, block_x = meta["block"]
    return {
        "preferred_chunks": {"y": block_y, "x": block_x},
        "source": safe_href(target.href),
        "rasterio_dtype": meta["rasterio_dtypes"][0],
        "overviews": list(meta["overviews"]),
    }
