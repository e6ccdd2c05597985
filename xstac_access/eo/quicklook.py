"""A sensible picture of what the readers return, cheaply: ``ds.eo.quicklook()``.

**Kinds** (``kind="auto"`` chooses in this order):

* ``"rgb"``: layers named (or ``common_name``-d) red, green and blue, or a picture of three or
  four uint8 bands (a TCI, a PNG quick-look; a fourth band is alpha). One percentile stretch
  over the three bands together (``per_band=True``: one per band), clipped to [0, 1]. GDAL's
  colour interpretation of a band (``color_interpretation``: red, green, blue, alpha) names it
  too. An alpha band is transparency (0 to the type's maximum), never stretched or a panel.
* ``"palette"``: one band with a colour table (GDAL's, in its ``colormap`` attribute), drawn
  in the table's colours; no data and values the table lacks are transparent.
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
More than :data:`~xstac_access.eo._layers.MAX_PANELS` (8) panels is refused: choose with ``bands=``.

**Reading** moves a picture's worth of data, not the image. A band opened by the GeoTIFF reader
(``encoding["raster_source"]``, ``["raster_band"]``, ``["overviews"]``) and still whole is reread
at the coarsest overview whose long side is at least ``max_size`` (the full image when none is),
then strided like the rest if still too large. A reader that has each overview in a file of its
own gives them as ``["overview_sources"]`` (the SAFE reader: a band's copies resampled to 20 and
60 m), which are read instead of the band's file at GDAL's overview level. Anything else, dask
or lazily indexed, is strided on both grid dims so that the picture's long side is under
2·max_size (and not under max_size unless the data are). Only the strided picture is computed;
it is also the sample the percentiles come from. A band the readers read with GDAL (GeoTIFF,
SAFE measurements, and what is computed from them, such as Sentinel-1's ``sigma0``) reads a
stride as GDAL's decimated read: only the strips or tiles holding the rows and columns kept, so
an image without overviews (ESA's Sentinel-1 TIFFs: one-row strips) costs about the picture's
rows, not the image.

**Drawing** is headless: the figure is a plain :class:`matplotlib.figure.Figure`, never
registered with pyplot (nothing to close, nothing leaks), saved as PNG with ``path=``. No data is
transparent (masked values, alpha 0 in RGB, and where a ``mask`` variable, GDAL's per-dataset
mask as the GeoTIFF reader gives it, is False). A swath (2-D latitude/longitude) is drawn with
``pcolormesh`` on its strided coordinates, a regular grid with ``imshow`` in its CRS units, and
anything else (GCP-only SAR geometry) in pixels. ``ax=`` draws into your Axes (one per panel).

**DataTree**: the picture is of one group: among the groups holding a layer, those named
``measurements`` first, then the one with the largest grid, then the first in tree order
(Sentinel-1 OCN: ``/owi/.../measurements``; Sentinel-3 OLCI: ``/measurements``). A tree without
any 2-D variable is a ValueError naming its groups. When that group is the ``measurements`` of
one polarisation (its variables' ``polarisation`` attribute) under a group named after it, the
other polarisations' ``measurements`` of the same grid join it, so that a dual-polarisation
Sentinel-1 SAFE shows VV and VH (``IW1_VV`` and ``IW1_VH`` of an SLC: the largest sub-swath)
side by side as ``kind="sar"`` panels, co-polarised first, each variable named
``<name>_<POL>`` (``grd_VV``, ``sigma0_VH``; ``bands=`` picks among them). Panels, not an RGB
of VV, VH and their ratio: each polarisation keeps its own dB scale and colour bar, which a
ratio composite's stretch hides, and a single-polarisation product looks the same way.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from .._geo import unwrap
from ._layers import COLOURED, Kind
from ._picture import Db, Picture, picture

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.collections import QuadMesh
    from matplotlib.figure import Figure
    from matplotlib.image import AxesImage

__all__ = ["Db", "Kind", "Quicklook", "quicklook"]

_PANEL_INCHES = 4.0
_COLORBAR_INCHES = 1.0
_DPI = 100


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
        from matplotlib.axes import Axes

        axes = [ax] if isinstance(ax, Axes) else list(ax)
        if len(axes) != len(pic.panels):
            raise ValueError(f"ax= gives {len(axes)} Axes for {len(pic.panels)} panels")
        figure = axes[0].figure.figure  # the root: a SubFigure (of an Axes in one) cannot save
    for index, axis in enumerate(axes):
        _draw(pic, index, axis)
    saved = None
    if path is not None:
        saved = Path(path)
        figure.savefig(saved, format="png", dpi=figure.dpi)
    return Quicklook(figure, axes, saved, pic)


def _figure(pic: Picture) -> tuple[Figure, list[Axes]]:
    """A pyplot-free figure with one panel per layer, sized to the picture's aspect."""
    from matplotlib.figure import Figure

    aspect = _aspect(pic)
    if aspect >= 1:
        width, height = max(_PANEL_INCHES / aspect, 1.5), _PANEL_INCHES
    else:
        width, height = _PANEL_INCHES, max(_PANEL_INCHES * aspect, 1.5)
    bar = 0.0 if pic.kind in COLOURED else _COLORBAR_INCHES
    count = len(pic.panels)
    figure = Figure(
        figsize=(count * (width + bar) + 0.4, height + 0.8), dpi=_DPI, layout="constrained"
    )
    return figure, list(figure.subplots(1, count, squeeze=False)[0])


def _aspect(pic: Picture) -> float:
    """Height over width of the picture as drawn (on the ground for a swath)."""
    if pic.lon is not None and pic.lat is not None:
        lon = unwrap(pic.lon)
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
    if pic.kind not in COLOURED:
        lo, hi = pic.ranges[index]
        values = np.ma.masked_invalid(values)
        style["cmap"] = mpl.colormaps[pic.cmaps[index]].with_extremes(bad=(0, 0, 0, 0))
        if math.isfinite(lo) and math.isfinite(hi):
            style.update(vmin=lo, vmax=hi)
    artist: QuadMesh | AxesImage
    lon, lat = pic.lon, pic.lat
    if lon is not None and lat is not None and np.isfinite(lon).all() and np.isfinite(lat).all():
        artist = ax.pcolormesh(unwrap(lon), lat, values, shading="nearest", **style)
        ax.set_aspect(1 / math.cos(math.radians(float(np.mean(lat)))))
        ax.set_xlabel("longitude")
        ax.set_ylabel("latitude")
    elif pic.x is not None and pic.y is not None:
        artist = ax.imshow(values, extent=_extent(pic.x, pic.y), interpolation="nearest", **style)
        if pic.crs is not None and pic.crs.is_geographic:
            ax.set_xlabel("longitude")
            ax.set_ylabel("latitude")
    else:
        artist = ax.imshow(values, interpolation="nearest", **style)
        ax.set_xticks([])
        ax.set_yticks([])
    ax.set_title(pic.titles[index])
    if pic.kind not in COLOURED:
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
