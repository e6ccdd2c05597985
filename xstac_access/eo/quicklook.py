"""A sensible picture of what the readers return, cheaply: ``ds.eo.quicklook()``.

**Kinds** (``kind="auto"`` chooses in this order):

* ``"rgb"``: layers named (or ``common_name``-d) red, green and blue, or a picture of three or
  four uint8 bands (a TCI, a PNG quick-look; a fourth band is alpha). One percentile stretch
  over the three bands together (``per_band=True``: one per band), clipped to [0, 1].
* ``"sar"``: layers named after a polarisation (HH, HV, VH, VV; compact RH, RV, LH, LV), or
  complex ones. One grey panel per polarisation, side by side, each with its own percentile
  limits and colour bar, in dB. ``db=None`` chooses the formula: complex values become amplitude
  ``|z|``; amplitude is shown as ``20·log10``, intensity (power, backscatter coefficients) as
  ``10·log10``. Which one is read from the words ``amplitude``/``amp``/``abs``/``magnitude`` or
  ``intensity``/``power``/``backscatter``/``nrcs``/``sigma0``/``beta0``/``gamma0`` in the layer's
  ``units``, ``long_name``, ``standard_name``, ``description`` or name, then in the asset key and
  file name (``..._i_abs.tiff`` is amplitude); units ``dB`` are shown as they are, ``phase`` as
  it is (with a cyclic colour map). Without any such word, integer counts (GRD digital numbers)
  are amplitude and floats intensity. ``db=False`` shows linear values, ``db="amplitude"`` or
  ``"intensity"`` forces a formula, and ``db=True`` converts layers of any kind.
* ``"single"``: anything else, one viridis panel per layer with percentile limits.

**Layers** are the data variables on a 2-D grid (the dims of 2-D latitude/longitude, else
``y``/``x``, else the two longest dims), each split along at most one other dim (``band``...).
``bands=`` picks layers by name (the variable's, or the label of a band it was split into) or
``common_name``, and sets their order.
More than :data:`MAX_PANELS` panels is refused: choose with ``bands=``.

**Reading** moves a picture's worth of data, not the image. A band opened by the GeoTIFF reader
(``encoding["raster_source"]``, ``["raster_band"]``, ``["overviews"]``) and still whole is reread
at the coarsest overview whose long side is at least ``max_size`` (the full image when none is),
then strided like the rest if still too large. Anything else, dask or lazily indexed, is
strided on both grid dims so that the picture's long side is under 2·max_size (and not under
max_size unless the data are). Only the strided picture is computed; it is also the sample the
percentiles come from.

**Drawing** is headless: the figure is a plain :class:`matplotlib.figure.Figure`, never
registered with pyplot (nothing to close, nothing leaks), saved as PNG with ``path=``. No data is
transparent (masked values, alpha 0 in RGB). A swath (2-D latitude/longitude) is drawn with
``pcolormesh`` on its strided coordinates, a regular grid with ``imshow`` in its CRS units, and
anything else (GCP-only SAR geometry) in pixels. ``ax=`` draws into your Axes (one per panel).

**DataTree**: the picture is of one group: among the groups holding a layer, those named
``measurements`` first, then the one with the largest grid, then the first in tree order
(Sentinel-1 OCN: ``/owi/.../measurements``; Sentinel-3 OLCI: ``/measurements``). A tree without
any 2-D variable is a ValueError naming its groups.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import xarray as xr

from .footprint import continuous_lon, lonlat_coords

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Kind = Literal["auto", "rgb", "sar", "single"]
Db = bool | Literal["amplitude", "intensity"] | None

#: More panels than this is not a quick look (pass ``bands=``).
MAX_PANELS = 8
_POLARISATIONS = frozenset({"hh", "hv", "vh", "vv", "rh", "rv", "lh", "lv"})
_DB_WORDS = frozenset({"db", "decibel", "decibels"})
_PHASE_WORDS = frozenset({"phase"})
_AMPLITUDE_WORDS = frozenset({"amplitude", "amp", "abs", "magnitude"})
_INTENSITY_WORDS = frozenset(
    {"intensity", "power", "backscatter", "nrcs", "sigma0", "beta0", "gamma0"}
)
_HINT_ATTRS = ("units", "long_name", "standard_name", "description")
_PANEL_INCHES = 4.0
_COLORBAR_INCHES = 1.0
_DPI = 100


@dataclass(frozen=True)
class _Layer:
    """One 2-D picture layer: its name, its lazy array and what it is called in the catalogue."""

    name: str
    array: xr.DataArray

    @property
    def keys(self) -> set[str]:
        common = self.array.attrs.get("common_name")
        return {self.name.lower(), *([common.lower()] if isinstance(common, str) else [])}

    @property
    def polarisation(self) -> str | None:
        words = set(re.split(r"[^a-z0-9]+", self.name.lower()))
        found = sorted(words & _POLARISATIONS)
        return found[0].upper() if found else None


@dataclass
class Picture:
    """What a quicklook shows, before it is drawn: display values and where the pixels lie.

    ``panels`` hold one (rows, cols) array per panel in display units (dB for SAR), NaN where
    there is no data, or for ``kind="rgb"`` a single (rows, cols, 4) RGBA array in [0, 1];
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
        if self.kind != "rgb":
            lo, hi = self.ranges[index]
            cmap = mpl.colormaps[self.cmaps[index]].with_extremes(bad=(0, 0, 0, 0))
            values = cmap(mpl.colors.Normalize(lo, hi)(np.ma.masked_invalid(values)))
        return np.round(values * 255).astype(np.uint8)


@dataclass
class Quicklook:
    """A drawn quicklook: the figure, its image axes (one per panel), where it was saved, and
    the :class:`Picture` drawn (its values, limits and geolocation)."""

    figure: Figure
    axes: list[Axes]
    path: Path | None
    picture: Picture = field(repr=False)

    @property
    def limits(self) -> dict[str, tuple[float, float]]:
        """(low, high) per band or polarisation, in the displayed units (dB for SAR, the data's
        units otherwise; for RGB the stretch's input range)."""
        return self.picture.limits

    @property
    def shape(self) -> tuple[int, int]:
        """The picture's (rows, cols): what was read, not the figure's size."""
        return self.picture.shape

    @property
    def kind(self) -> str:
        return self.picture.kind

    @property
    def overview_level(self) -> int | None:
        """The COG overview level read (None: the data were read, strided, as opened)."""
        return self.picture.overview_level

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png")
        return buffer.getvalue()


def quicklook(
    obj: xr.Dataset | xr.DataArray | xr.DataTree,
    kind: Kind = "auto",
    bands: str | Sequence[str] | None = None,
    max_size: int = 1024,
    stretch: tuple[float, float] = (2, 98),
    per_band: bool = False,
    db: Db = None,
    cmap: str | None = None,
    ax: Axes | Sequence[Axes] | None = None,
    path: str | Path | None = None,
) -> Quicklook:
    """Draw a quicklook of ``obj`` (see the module docstring); save it as PNG at ``path``.

    ``max_size`` bounds the pixels read (long side, see *Reading*); ``stretch`` the percentiles
    that set the limits; ``cmap`` replaces the grey/viridis colour map of single-band panels.
    """
    pic = picture(
        obj,
        kind=kind,
        bands=bands,
        max_size=max_size,
        stretch=stretch,
        per_band=per_band,
        db=db,
        cmap=cmap,
    )
    if ax is None:
        figure, axes = _figure(pic)
    else:
        axes = [ax] if hasattr(ax, "imshow") else list(ax)
        if len(axes) != len(pic.panels):
            raise ValueError(f"ax= gives {len(axes)} Axes for {len(pic.panels)} panels")
        figure = axes[0].figure
    for index, axis in enumerate(axes):
        _draw(pic, index, axis)
    saved = None
    if path is not None:
        saved = Path(path)
        figure.savefig(saved, format="png", dpi=figure.dpi)
    return Quicklook(figure, axes, saved, pic)


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
    chosen, layers = _choose(kind, _layers(ds), [bands] if isinstance(bands, str) else bands)
    arrays, level, geo = _read(layers, max_size)
    if chosen == "rgb":
        titles = [", ".join(layer.name for layer in layers[:3])]
        rgba, limits = _stretched(arrays, layers, stretch, per_band)
        return Picture(chosen, titles, [rgba], [(0.0, 1.0)], limits, [None], [""], level, **geo)
    panels, units, cmaps = [], [], []
    for layer, values in zip(layers, arrays, strict=True):
        shown, unit, formula = _scaled(chosen, layer, values, db, ds.attrs)
        panels.append(shown)
        units.append(unit)
        default = "twilight" if formula == "phase" else "gray" if chosen == "sar" else "viridis"
        cmaps.append(cmap or default)
    ranges = [_percentiles(panel, stretch) for panel in panels]
    limits = {layer.name: r for layer, r in zip(layers, ranges, strict=True)}
    titles = [_title(chosen, layer) for layer in layers]
    return Picture(chosen, titles, panels, ranges, limits, units, cmaps, level, **geo)


def _title(kind: str, layer: _Layer) -> str:
    """A SAR layer named by its polarisation alone is titled with it in capitals ("hh": HH)."""
    pol = layer.polarisation
    return pol if kind == "sar" and pol and pol.lower() == layer.name.lower() else layer.name


def tree_node(tree: xr.DataTree) -> xr.DataTree:
    """The group of ``tree`` a quicklook shows (see *DataTree* in the module docstring)."""
    best, best_key = None, None
    for order, node in enumerate(tree.subtree):
        size = max((_grid_size(da) for da in node.to_dataset().data_vars.values()), default=0)
        key = (node.name == "measurements", size, -order)
        if size and (best_key is None or key > best_key):
            best, best_key = node, key
    if best is None:
        groups = ", ".join(node.path for node in tree.subtree)
        raise ValueError(
            f"no group of this DataTree holds a 2-D variable to picture (groups: {groups}); "
            "pick one, e.g. tree['/group'].to_dataset().eo.quicklook()"
        )
    return best


def dataset_of(obj: xr.Dataset | xr.DataArray | xr.DataTree) -> xr.Dataset:
    """The Dataset a quicklook of ``obj`` shows: a DataTree's chosen group, a DataArray alone."""
    if isinstance(obj, xr.DataTree):
        return tree_node(obj).to_dataset()
    if isinstance(obj, xr.DataArray):
        return obj.to_dataset(name=obj.name if obj.name is not None else "data")
    if isinstance(obj, xr.Dataset):
        return obj
    raise TypeError(f"quicklook needs an xarray Dataset, DataArray or DataTree, not {type(obj)}")


def _grid_dims(da: xr.DataArray) -> tuple[Hashable, Hashable] | None:
    """The picture's (rows, cols) dims of ``da`` (see *Layers*), or None if it has no grid."""
    found = lonlat_coords(da)
    if found is not None and set(found[0].dims) <= set(da.dims):
        dims = found[0].dims
    elif "y" in da.dims and "x" in da.dims:
        dims = ("y", "x")
    else:
        longest = sorted(da.dims, key=lambda d: -da.sizes[d])[:2]
        dims = tuple(d for d in da.dims if d in longest)
    if len(dims) != 2 or min(da.sizes[d] for d in dims) < 2:
        return None
    return dims[0], dims[1]


def _grid_size(da: xr.DataArray) -> int:
    dims = _grid_dims(da)
    if dims is None or da.ndim > 3:
        return 0
    return da.sizes[dims[0]] * da.sizes[dims[1]]


def _layers(ds: xr.Dataset) -> list[_Layer]:
    """Every 2-D layer of ``ds`` (see *Layers*), in variable order."""
    layers = []
    for name, da in ds.data_vars.items():
        dims = _grid_dims(da)
        if dims is None:
            continue
        extra = [d for d in da.dims if d not in dims]
        if not extra:
            layers.append(_Layer(str(name), da.transpose(*dims)))
        elif len(extra) == 1:
            dim = extra[0]
            labels = ds[dim].values if dim in ds.coords else [None] * da.sizes[dim]
            for i, label in enumerate(labels):
                title = str(label) if isinstance(label, str) else f"{name}[{i}]"
                layers.append(_Layer(title, da.isel({dim: i}).transpose(*dims)))
    return layers


def _choose(
    kind: Kind, layers: list[_Layer], bands: Sequence[str] | None
) -> tuple[str, list[_Layer]]:
    """The kind of picture and the layers it shows (RGB: red, green, blue and maybe alpha)."""
    if kind not in ("auto", "rgb", "sar", "single"):
        raise ValueError(f"kind must be 'auto', 'rgb', 'sar' or 'single', not {kind!r}")
    if not layers:
        raise ValueError("nothing to picture: no variable has two dimensions of 2 or more")
    picked = None if bands is None else [_find(layers, band) for band in bands]
    candidates = picked or layers
    if kind == "auto":
        if _rgb(candidates) is not None:
            kind = "rgb"
        elif any(_is_sar(layer) for layer in candidates):
            kind = "sar"
        else:
            kind = "single"
    if picked is not None:
        chosen = picked  # in the order asked
    elif kind == "rgb":
        chosen = _rgb(layers) or layers[:3]
    elif kind == "sar":
        chosen = [layer for layer in layers if _is_sar(layer)] or layers
    else:
        chosen = layers
    if kind == "rgb" and len(chosen) not in (3, 4):
        raise ValueError(f"an RGB picture needs 3 layers (4 with alpha), not {_names(chosen)}")
    first = chosen[0].array
    same = [layer for layer in chosen if layer.array.sizes == first.sizes]
    if picked is not None and len(same) != len(chosen):
        raise ValueError(f"the layers {_names(chosen)} do not share one grid")
    if kind != "rgb" and len(same) > MAX_PANELS:
        raise ValueError(
            f"{len(same)} layers ({_names(same)}) is more than {MAX_PANELS} panels; "
            "choose some with bands=[...]"
        )
    return kind, same


def _find(layers: list[_Layer], band: str) -> _Layer:
    found = [layer for layer in layers if band.lower() in layer.keys]
    if not found:
        raise KeyError(f"no layer {band!r} to picture; the layers are {_names(layers)}")
    return found[0]


def _names(layers: list[_Layer]) -> list[str]:
    return [layer.name for layer in layers]


def _rgb(layers: list[_Layer]) -> list[_Layer] | None:
    """Red, green, blue (and alpha, if any) among ``layers``, or three/four uint8 bands."""
    by_key = {key: layer for layer in layers for key in layer.keys}
    if all(c in by_key for c in ("red", "green", "blue")):
        return [by_key[c] for c in ("red", "green", "blue", "alpha") if c in by_key]
    stored = [layer.array.encoding.get("dtype", layer.array.dtype) for layer in layers]
    if len(layers) in (3, 4) and all(np.dtype(d) == np.uint8 for d in stored):
        return layers
    return None


def _is_sar(layer: _Layer) -> bool:
    return layer.polarisation is not None or layer.array.dtype.kind == "c"


def _read(
    layers: list[_Layer], max_size: int
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


def _overview_level(layers: list[_Layer], max_size: int) -> int | None:
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


def _read_overview(layers: list[_Layer], level: int) -> list[np.ndarray]:
    """Each layer's band read whole at overview ``level``, decoded as the reader decoded it."""
    wanted: dict[Any, list[int]] = {}
    for layer in layers:
        bands = wanted.setdefault(layer.array.encoding["raster_source"], [])
        if layer.array.encoding["raster_band"] not in bands:
            bands.append(layer.array.encoding["raster_band"])
    read = {}
    for source, bands in wanted.items():
        data = replace(source, overview_level=level).run(lambda ds, b=bands: ds.read(b))
        read.update({(source, band): data[i] for i, band in enumerate(bands)})
    out = []
    for layer in layers:
        encoding = layer.array.encoding
        raw = read[(encoding["raster_source"], encoding["raster_band"])]
        cf = ("_FillValue", "missing_value", "scale_factor", "add_offset")
        attrs = {key: encoding[key] for key in cf if key in encoding}
        variable = xr.Variable(("y", "x"), raw, attrs)
        decoded = xr.decode_cf(xr.Dataset({"v": variable}), decode_times=False)
        out.append(decoded["v"].values)
    return out


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
    finite = values[np.isfinite(values)]
    if not finite.size:
        return math.nan, math.nan
    lo, hi = np.percentile(finite, stretch)
    return float(lo), float(hi)


def _stretched(
    arrays: list[np.ndarray],
    layers: list[_Layer],
    stretch: tuple[float, float],
    per_band: bool,
) -> tuple[np.ndarray, dict[str, tuple[float, float]]]:
    """RGBA in [0, 1] from red, green, blue (and alpha): percentile stretch, no data alpha 0."""
    rgb = np.stack([np.asarray(a, dtype="float64") for a in arrays[:3]], axis=-1)
    valid = np.isfinite(rgb).all(axis=-1)
    if len(arrays) > 3:
        valid &= np.nan_to_num(np.asarray(arrays[3], dtype="float64")) > 0
    names = [layer.name for layer in layers[:3]]
    if per_band:
        limits = {n: _percentiles(rgb[..., i][valid], stretch) for i, n in enumerate(names)}
    else:
        joint = _percentiles(rgb[valid], stretch)
        limits = dict.fromkeys(names, joint)
    rgba = np.zeros((*rgb.shape[:2], 4))
    with np.errstate(invalid="ignore"):
        for i, (lo, hi) in enumerate(limits.values()):
            rgba[..., i] = np.clip((rgb[..., i] - lo) / ((hi - lo) or 1.0), 0.0, 1.0)
    rgba[..., 3] = valid
    rgba[~valid, :3] = 0.0
    return rgba, limits


def _scaled(
    kind: str, layer: _Layer, values: np.ndarray, db: Db, attrs: dict[Hashable, Any]
) -> tuple[np.ndarray, str | None, str]:
    """Values as displayed, their units and the formula used (see ``db`` in the docstring)."""
    was_complex = np.iscomplexobj(values)
    values = np.abs(values) if was_complex else values
    values = np.asarray(values, dtype="float64")
    units = layer.array.attrs.get("units")
    convert = (kind == "sar") if db is None else db is not False
    if not convert:
        return values, units, "linear"
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


def _formula(layer: _Layer, attrs: dict[Hashable, Any]) -> str:
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


def _figure(pic: Picture) -> tuple[Figure, list[Axes]]:
    """A pyplot-free figure with one panel per layer, sized to the picture's aspect."""
    from matplotlib.figure import Figure

    aspect = _aspect(pic)
    if aspect >= 1:
        width, height = max(_PANEL_INCHES / aspect, 1.5), _PANEL_INCHES
    else:
        width, height = _PANEL_INCHES, max(_PANEL_INCHES * aspect, 1.5)
    bar = 0.0 if pic.kind == "rgb" else _COLORBAR_INCHES
    count = len(pic.panels)
    figure = Figure(
        figsize=(count * (width + bar) + 0.4, height + 0.8), dpi=_DPI, layout="constrained"
    )
    return figure, list(figure.subplots(1, count, squeeze=False)[0])


def _aspect(pic: Picture) -> float:
    """Height over width of the picture as drawn (on the ground for a swath)."""
    if pic.lon is not None and pic.lat is not None:
        lon = continuous_lon(pic.lon)
        span_lat = float(np.nanmax(pic.lat) - np.nanmin(pic.lat))
        mid = math.radians(float(np.nanmean(pic.lat)))
        span_lon = float(np.nanmax(lon) - np.nanmin(lon)) * math.cos(mid)
        return span_lat / span_lon if span_lon > 0 else 1.0
    rows, cols = pic.shape
    return rows / cols


def _draw(pic: Picture, index: int, ax: Axes) -> None:
    """Panel ``index`` of ``pic`` on ``ax``, with its title and (not RGB) its colour bar."""
    import matplotlib as mpl

    values = pic.panels[index]
    style: dict[str, Any] = {}
    if pic.kind != "rgb":
        lo, hi = pic.ranges[index]
        values = np.ma.masked_invalid(values)
        style["cmap"] = mpl.colormaps[pic.cmaps[index]].with_extremes(bad=(0, 0, 0, 0))
        if math.isfinite(lo) and math.isfinite(hi):
            style.update(vmin=lo, vmax=hi)
    lonlat = (pic.lon, pic.lat) if pic.lon is not None else None
    if lonlat is not None and np.isfinite(lonlat[0]).all() and np.isfinite(lonlat[1]).all():
        lon = continuous_lon(lonlat[0])
        artist = ax.pcolormesh(lon, lonlat[1], values, shading="nearest", **style)
        ax.set_aspect(1 / math.cos(math.radians(float(np.mean(lonlat[1])))))
        ax.set_xlabel("longitude")
        ax.set_ylabel("latitude")
    elif pic.x is not None and pic.y is not None:
        artist = ax.imshow(values, extent=_extent(pic.x, pic.y), interpolation="nearest", **style)
    else:
        artist = ax.imshow(values, interpolation="nearest", **style)
        ax.set_xticks([])
        ax.set_yticks([])
    ax.set_title(pic.titles[index])
    if pic.kind != "rgb":
        ax.figure.colorbar(artist, ax=ax, label=pic.units[index] or "", shrink=0.85)


def _extent(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """imshow's (left, right, bottom, top) for pixel centres ``x``, ``y`` (row 0 on top)."""
    dx = x[1] - x[0] if x.size > 1 else 1.0
    dy = y[1] - y[0] if y.size > 1 else 1.0
    return (
        float(x[0] - dx / 2),
        float(x[-1] + dx / 2),
        float(y[-1] + dy / 2),
        float(y[0] - dy / 2),
    )
