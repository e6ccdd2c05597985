"""What a quicklook shows, before it is drawn: the layers read at picture size (from a COG
overview when there is one), scaled (dB for SAR) and stretched, with where the pixels lie.

See *Reading* and the ``db`` rules in :mod:`xstac_access.eo.quicklook`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import xarray as xr

from .._geo import lonlat_coords
from ._layers import COLOURED, Kind, Layer, choose, dataset_of, layers_of, mask_of

Db = bool | Literal["amplitude", "intensity"] | None

_DB_WORDS = frozenset({"db", "decibel", "decibels"})
_PHASE_WORDS = frozenset({"phase"})
_AMPLITUDE_WORDS = frozenset({"amplitude", "amp", "abs", "magnitude"})
_INTENSITY_WORDS = frozenset(
    {"intensity", "power", "backscatter", "nrcs", "sigma0", "beta0", "gamma0"}
)
_HINT_ATTRS = ("units", "long_name", "standard_name", "description")


@dataclass
class Picture:
    """What a quicklook shows, before it is drawn: display values and where the pixels lie.

    ``panels`` hold one (rows, cols) array per panel in display units (dB for SAR), NaN where
    there is no data, or for ``kind="rgb"``/``"palette"`` a single (rows, cols, 4) RGBA array
    in [0, 1];
    ``ranges`` the (low, high) each panel's colour map spans. ``limits`` is what the user is
    told: per layer (for RGB per band, the stretch's input range).
    ``x``/``y`` are pixel-centre coordinates in ``crs`` for a regular grid; ``lon``/``lat`` the
    2-D pixel-centre longitudes/latitudes of a swath; all None for pixel geometry.
    """

    kind: str
    titles: list[str]
    panels: list[np.ndarray]
    ranges: list[tuple[float, float]]
    limits: dict[str, tuple[float, float]]
    units: list[str | None]
    cmaps: list[str]
    overview_level: int | None
    x: np.ndarray | None = None
    y: np.ndarray | None = None
    crs: Any = None
    lon: np.ndarray | None = None
    lat: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.panels[0].shape[:2]

    def rgba(self, index: int = 0) -> np.ndarray:
        """Panel ``index`` as (rows, cols, 4) uint8 colours; no data has alpha 0."""
        import matplotlib as mpl

        values = self.panels[index]
        if self.kind not in COLOURED:
            lo, hi = self.ranges[index]
            cmap = mpl.colormaps[self.cmaps[index]].with_extremes(bad=(0, 0, 0, 0))
            values = cmap(mpl.colors.Normalize(lo, hi)(np.ma.masked_invalid(values)))
        return np.round(values * 255).astype(np.uint8)


def picture(
    obj: xr.Dataset | xr.DataArray | xr.DataTree,
    *,
    kind: Kind = "auto",
    bands: str | Sequence[str] | None = None,
    max_size: int = 1024,
    stretch: tuple[float, float] = (2, 98),
    per_band: bool = False,
    db: Db = None,
    cmap: str | None = None,
) -> Picture:
    """The values a quicklook of ``obj`` shows, read and scaled, without drawing them."""
    if max_size < 1:
        raise ValueError(f"max_size must be a positive number of pixels, not {max_size}")
    ds = dataset_of(obj)
    chosen, layers = choose(kind, layers_of(ds), [bands] if isinstance(bands, str) else bands)
    mask = mask_of(ds, layers[0])
    arrays, level, geo = _read(layers + ([mask] if mask is not None else []), max_size)
    valid = np.asarray(arrays.pop(), dtype=bool) if mask is not None else None
    if chosen in COLOURED:
        if chosen == "rgb":
            titles = [", ".join(layer.name for layer in layers[:3])]
            rgba, limits = _stretched(arrays, layers, stretch, per_band)
        else:
            titles = [layers[0].name]
            rgba, limits = _paletted(arrays[0], layers[0])
        if valid is not None:
            rgba[~valid] = 0.0  # the mask's no data: transparent
        return Picture(chosen, titles, [rgba], [(0.0, 1.0)], limits, [None], [""], level, **geo)
    panels, units, cmaps = [], [], []
    for layer, values in zip(layers, arrays, strict=True):
        if valid is not None:
            values = np.where(valid, values, np.nan)
        shown, unit, formula = _scaled(chosen, layer, values, db, ds.attrs)
        panels.append(shown)
        units.append(unit)
        default = "twilight" if formula == "phase" else "gray" if chosen == "sar" else "viridis"
        cmaps.append(cmap or default)
    ranges = [_percentiles(panel, stretch) for panel in panels]
    limits = {layer.name: r for layer, r in zip(layers, ranges, strict=True)}
    titles = [_title(chosen, layer) for layer in layers]
    return Picture(chosen, titles, panels, ranges, limits, units, cmaps, level, **geo)


def _title(kind: str, layer: Layer) -> str:
    """A SAR layer named by its polarisation alone is titled with it in capitals ("hh": HH)."""
    pol = layer.polarisation
    return pol if kind == "sar" and pol and pol.lower() == layer.name.lower() else layer.name


def _read(
    layers: list[Layer], max_size: int
) -> tuple[list[np.ndarray], int | None, dict[str, Any]]:
    """The layers' values at picture size, the overview level read, and the geolocation."""
    import dask

    first = layers[0].array
    rows, cols = first.dims
    level = _overview_level(layers, max_size)
    if level is not None:
        arrays = _read_overview(layers, level)
        step = max(1, max(arrays[0].shape) // max_size)
        geo = _overview_geo(first, arrays[0].shape, step)
        return [a[::step, ::step] for a in arrays], level, geo
    step = max(1, max(first.shape) // max_size)
    strided = [
        layer.array.isel({rows: slice(None, None, step), cols: slice(None, None, step)})
        for layer in layers
    ]
    arrays = [np.asarray(a) for a in dask.compute(*(s.data for s in strided))]
    return arrays, None, _geo(strided[0])


def _overview_level(layers: list[Layer], max_size: int) -> int | None:
    """The overview to reread every layer at (see *Reading*), or None to read them as they are."""
    shapes = {}
    overviews = layers[0].array.encoding.get("overviews")
    for layer in layers:
        encoding = layer.array.encoding
        source = encoding.get("raster_source")
        if source is None or "raster_band" not in encoding or source.overview_level is not None:
            return None
        if encoding.get("overviews") != overviews:
            return None  # files with other overviews: no common level
        if source not in shapes:
            shapes[source] = source.run(lambda ds: ds.shape)
        if layer.array.shape != shapes[source]:
            return None  # a window of the band, not the band
    height, width = layers[0].array.shape
    level = None
    for index, factor in enumerate(overviews or ()):
        if max(height // factor, width // factor) >= max_size:
            level = index
    return level


def _read_overview(layers: list[Layer], level: int) -> list[np.ndarray]:
    """Each layer's band read whole at overview ``level``, decoded as the reader decoded it."""
    wanted: dict[Any, list[int]] = {}
    sources: dict[Any, Sequence[Any] | None] = {}
    for layer in layers:
        if "gdal_mask" in layer.array.attrs:
            continue
        source = layer.array.encoding["raster_source"]
        sources[source] = layer.array.encoding.get("overview_sources")
        bands = wanted.setdefault(source, [])
        if layer.array.encoding["raster_band"] not in bands:
            bands.append(layer.array.encoding["raster_band"])
    read = {}
    for source, bands in wanted.items():
        overview = _overview_source(source, sources.get(source), level)
        data = overview.run(lambda ds, b=bands: ds.read(b))
        read.update({(source, band): data[i] for i, band in enumerate(bands)})
    out = []
    for layer in layers:
        encoding = layer.array.encoding
        if "gdal_mask" in layer.array.attrs:  # the validity mask, read at the same overview
            overview = _overview_source(encoding["raster_source"], None, level)
            band = encoding["raster_band"]
            out.append(overview.run(lambda ds, b=band: ds.read_masks(b)) != 0)
            continue
        raw = read[(encoding["raster_source"], encoding["raster_band"])]
        cf = ("_FillValue", "missing_value", "scale_factor", "add_offset")
        attrs = {key: encoding[key] for key in cf if key in encoding}
        variable = xr.Variable(("y", "x"), raw, attrs)
        decoded = xr.decode_cf(xr.Dataset({"v": variable}), decode_times=False)
        out.append(decoded["v"].values)
    return out


def _overview_source(source: Any, own_files: Sequence[Any] | None, level: int) -> Any:
    """Where overview ``level`` of a band is read: its own file when the reader gave one per
    level (``encoding["overview_sources"]``: a SAFE's bands resampled to 20 and 60 m), else the
    band's file opened at GDAL's overview ``level`` (a COG's internal overviews)."""
    if own_files:
        return own_files[level]
    return replace(source, overview_level=level)


def _geo(da: xr.DataArray) -> dict[str, Any]:
    """Where the pixels of a (strided) layer lie: 2-D lon/lat, or x/y centres and CRS."""
    found = lonlat_coords(da)
    if found is not None:
        lon, lat = (c.transpose(*da.dims).values for c in found)
        return {"lon": lon, "lat": lat}
    rows, cols = da.dims
    if not (rows in da.coords and cols in da.coords and da[rows].ndim == da[cols].ndim == 1):
        return {}
    x, y = da[cols].values, da[rows].values
    if x.dtype.kind not in "fiu" or y.dtype.kind not in "fiu":
        return {}
    import rioxarray  # noqa: F401  (registers .rio)

    return {"x": x, "y": y, "crs": da.rio.crs}


def _overview_geo(da: xr.DataArray, shape: tuple[int, int], step: int) -> dict[str, Any]:
    """Pixel centres of an overview of ``shape`` (the full image's extent cut into as many
    pixels), then strided by ``step``."""
    geo = _geo(da)
    if "x" not in geo:
        return geo

    def centres(full: np.ndarray, count: int) -> np.ndarray:
        spacing = full[1] - full[0]
        start, width = full[0] - spacing / 2, spacing * full.size
        return (start + (np.arange(count) + 0.5) * width / count)[::step]

    return {**geo, "x": centres(geo["x"], shape[1]), "y": centres(geo["y"], shape[0])}


def _percentiles(values: np.ndarray, stretch: tuple[float, float]) -> tuple[float, float]:
    if values.dtype.kind in "iu" and values.dtype.itemsize <= 2:
        return _counted_percentiles(values, stretch)
    finite = values[np.isfinite(values)]
    if not finite.size:
        return math.nan, math.nan
    lo, hi = np.percentile(finite, stretch)
    return float(lo), float(hi)


def _counted_percentiles(values: np.ndarray, stretch: tuple[float, float]) -> tuple[float, float]:
    """``np.percentile`` (its linear method, value for value, as on the values as float64) of
    8- or 16-bit integers, from a count per value instead of a sort: an RGB picture's 5 M values
    take a few ms, not 80."""
    if not values.size:
        return math.nan, math.nan
    low = int(values.min())
    cumulative = np.cumsum(np.bincount(values.ravel().astype(np.intp) - low))
    last = int(cumulative[-1]) - 1

    def at(k: int) -> float:  # the k-th smallest value
        return float(np.searchsorted(cumulative, k, side="right") + low)

    out = []
    for p in stretch:
        rank = p / 100.0 * last
        k = math.floor(rank)
        a, b, t = at(k), at(min(k + 1, last)), rank - k
        out.append(b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t)  # numpy's lerp
    return out[0], out[1]


def _stretched(
    arrays: list[np.ndarray],
    layers: list[Layer],
    stretch: tuple[float, float],
    per_band: bool,
) -> tuple[np.ndarray, dict[str, tuple[float, float]]]:
    """RGBA in [0, 1] from red, green, blue (and alpha): percentile stretch, no data alpha 0."""
    rgb = np.stack([np.asarray(a, dtype="float64") for a in arrays[:3]], axis=-1)
    valid = np.isfinite(rgb).all(axis=-1)
    opacity = np.ones(rgb.shape[:2])
    if len(arrays) > 3:  # alpha: transparency, from 0 to the stored type's maximum
        alpha = np.nan_to_num(np.asarray(arrays[3], dtype="float64"))
        stored = np.dtype(layers[3].array.encoding.get("dtype", layers[3].array.dtype))
        top = float(np.iinfo(stored).max) if stored.kind in "iu" else max(alpha.max(), 1.0)
        valid &= alpha > 0
        opacity = np.clip(alpha / top, 0.0, 1.0)
    names = [layer.name for layer in layers[:3]]
    dtypes = {np.asarray(a).dtype for a in arrays[:3]}
    counted = dtypes.pop() if len(dtypes) == 1 else None  # integers: count, do not sort
    source = np.stack(arrays[:3], axis=-1) if counted and counted.kind in "iu" else rgb
    if per_band:
        limits = {n: _percentiles(source[..., i][valid], stretch) for i, n in enumerate(names)}
    else:
        joint = _percentiles(source[valid], stretch)
        limits = dict.fromkeys(names, joint)
    rgba = np.zeros((*rgb.shape[:2], 4))
    with np.errstate(invalid="ignore"):
        for i, (lo, hi) in enumerate(limits.values()):
            rgba[..., i] = np.clip((rgb[..., i] - lo) / ((hi - lo) or 1.0), 0.0, 1.0)
    rgba[..., 3] = np.where(valid, opacity, 0.0)
    rgba[~valid, :3] = 0.0
    return rgba, limits


def _paletted(
    values: np.ndarray, layer: Layer
) -> tuple[np.ndarray, dict[str, tuple[float, float]]]:
    """RGBA in [0, 1] of a band's values through its colour table (GDAL's, the ``colormap``
    attribute); no data (NaN) and indices the table lacks are transparent."""
    table = {int(k): v for k, v in json.loads(layer.array.attrs["colormap"]).items()}
    lookup = np.zeros((max(table) + 2, 4))
    for index, colour in table.items():
        lookup[index, : len(colour)] = np.asarray(colour, float) / 255.0
    values = np.asarray(values, dtype="float64")
    inside = np.isfinite(values) & (values >= 0) & (values <= max(table))
    indices = np.where(inside, values, len(lookup) - 1).astype(int)
    rgba = lookup[indices]
    finite = values[inside]
    limits = (float(finite.min()), float(finite.max())) if finite.size else (math.nan, math.nan)
    return rgba, {layer.name: limits}


def _scaled(
    kind: str, layer: Layer, values: np.ndarray, db: Db, attrs: dict[Hashable, Any]
) -> tuple[np.ndarray, str | None, str]:
    """Values as displayed, their units and the formula used (see ``db`` in the docstring)."""
    was_complex = np.iscomplexobj(values)
    values = np.abs(values) if was_complex else values
    values = np.asarray(values, dtype="float64")
    units = layer.array.attrs.get("units")
    convert = (kind == "sar") if db is None else db is not False
    if not convert:
        return values, units, "linear"
    formula: str
    if db in ("amplitude", "intensity"):
        formula = db
    else:
        formula = "amplitude" if was_complex else _formula(layer, attrs)
    if formula in ("db", "phase"):
        return values, units, formula
    with np.errstate(divide="ignore", invalid="ignore"):
        shown = (20.0 if formula == "amplitude" else 10.0) * np.log10(values)
    shown[~np.isfinite(shown)] = np.nan  # zero or negative power: no data
    return shown, "dB", formula


def _formula(layer: Layer, attrs: dict[Hashable, Any]) -> str:
    """``"db"``, ``"phase"``, ``"amplitude"`` or ``"intensity"``, from the words that describe
    the layer (see the module docstring), else from its stored dtype."""
    texts = [layer.array.attrs.get(key) for key in _HINT_ATTRS]
    texts += [layer.name, layer.array.name, attrs.get("stac_asset")]
    href = attrs.get("stac_href")
    texts.append(href.rsplit("/", 1)[-1] if isinstance(href, str) else None)
    for text in texts:
        if not isinstance(text, str):
            continue
        words = set(re.split(r"[^a-z0-9]+", text.lower()))
        for formula, vocabulary in (
            ("db", _DB_WORDS),
            ("phase", _PHASE_WORDS),
            ("amplitude", _AMPLITUDE_WORDS),
            ("intensity", _INTENSITY_WORDS),
        ):
            if words & vocabulary:
                return formula
    stored = np.dtype(layer.array.encoding.get("dtype", layer.array.dtype))
    return "amplitude" if stored.kind in "iu" else "intensity"
