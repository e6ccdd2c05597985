"""GCPs to full-resolution 2-D ``latitude``/``longitude`` coordinates, lazily (``.eo.geocode``).

SAR images (Sentinel-1 GRD/SLC GeoTIFFs, ESA Biomass L1a, EOPF Sentinel-1 products) and
quick-looks are located by a sparse set of ground control points (GCPs), not by an affine
transform, while gridding (``.eo.grid``) and maps need a latitude and longitude for every pixel.
So a smooth surface is fitted through the GCPs in image (line, pixel) space once, and evaluated
per dask chunk: nothing image-sized is computed until asked, and the data variables are never
touched (the GCP and CRS attributes stay where they are). The GCPs themselves (a few hundred
values, an EOPF ``conditions/gcp`` group included) are read and fitted when ``geocode`` is
called, so a set that cannot be used fails there, with a message, rather than inside a compute.

An image with RPCs and no GCPs (an optical scene whose GeoTIFF or ``.RPB`` sidecar carries
them: the reader puts them in the ``rpcs`` attribute of ``spatial_ref``) is geocoded by GDAL's
RPC transformer instead, lazily in the same way (:mod:`xstac_access.eo._rpcs`); ``method`` does
not apply, and the ``geocoding`` attribute says so.

Where the GCPs come from (``gcps=``):

- ``None``: the object's own: a coordinate with a ``gcps`` attribute (rioxarray's GeoJSON, which
  the GeoTIFF reader writes on ``spatial_ref``; GDAL rescales it for ``overview_level`` reads), or
  the ``quad_longitude``/``quad_latitude`` attributes of a picture georeferenced from a KML quad.
- an EOPF Sentinel-1 ``conditions/gcp`` group (Dataset, DataTree node, or the polarisation node
  holding it): ``latitude``/``longitude`` placed by its ``line``/``pixel`` arrays, flat or on
  (azimuth_time, ground_range), broadcast together. From a product tree::

      pol = tree["S01SIWGRD_..._VV"]
      pol["measurements"].to_dataset().eo.geocode(gcps=pol["conditions/gcp"])

- a KML footprint Dataset of the KML reader (``gx:LatLonQuad`` or ``LatLonBox``), or four
  (lon, lat) corners in the KML spec order: lower-left, lower-right, upper-right, upper-left.
- a sequence of ``rasterio.control.GroundControlPoint``, or rioxarray's GeoJSON (str or mapping).

Image positions follow GDAL: a GCP's (line, pixel) is measured from the top-left *corner* of the
top-left pixel, so the centre of element ``[i, j]`` is at ``(i + 0.5, j + 0.5)`` and the image
spans ``[0, height] x [0, width]``. Other sources are converted on reading: EOPF ``line``/``pixel``
are zero-based sample indices (the Sentinel-1 annotation's), so ``[line, pixel]`` is the element
itself; KML quad corners pin the picture's outer corners (upper-left at (0, 0), lower-right at
(height, width)), pixel centres falling bilinearly between them as the picture reader has it.
Sentinel-1 GeoTIFFs carry the annotation's indices unchanged, so read GDAL's way they sit half a
pixel up-left of what the annotation meant; gdalwarp and rasterio read them so, and so does this
module, to agree with them.

Interpolation (``method="spline"``): GCPs on a (line, pixel) lattice (every row x column present,
any spacing, positions equal within 1e-3 px) get an interpolating bicubic spline per coordinate
(``scipy.interpolate.RectBivariateSpline``, ``s=0``), continued polynomially to the image edges.
Fewer than 4 GCP rows or columns lower the order (quadratic, linear) with a
:class:`GeocodeWarning`; a KML quad is a 2 x 2 lattice, bilinear by design. Scattered GCPs (or
``method="tps"``) get a thin-plate spline (``scipy.interpolate.RBFInterpolator``, no smoothing)
in line and pixel each normalised to [0, 1] over the GCPs' extent, fitted jointly with a cubic
polynomial trend when there are at least 20 GCPs (an affine one below): exact at the GCPs and
smooth between. The cubic trend takes up the swath's curvature, which the thin-plate part alone
(GDAL's TPS is affine + thin-plate) bends badly between GCPs: on a curved test swath with 150
scattered GCPs the maximum error drops from about 0.8 to 0.04 pixel. Each pixel still costs one
kernel term per GCP, so this is far slower than the lattice spline. Repeated positions keep
their first GCP.

Longitudes are made continuous before fitting (:func:`xstac_access._geo.unwrap`: a scene may
cross the antimeridian, not span 180 degrees) and brought back into [-180, 180] after; a scene
containing a pole is not handled.
GCPs in another CRS (UTM, polar stereographic, ...) are transformed to EPSG:4326 with pyproj
first. Heights are not used.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping
from typing import Any, Literal, TypeVar

import numpy as np
import xarray as xr

from .._geo import unwrap, wrap
from ..errors import GeocodeError, NoGcpsError, TooFewGcpsError
from ._gcps import Gcps, read_gcps
from ._rpcs import RpcGeolocation, own_rpcs

__all__ = [
    "GeocodeError",
    "GeocodeWarning",
    "Geolocation",
    "NoGcpsError",
    "TooFewGcpsError",
    "geocode",
    "geolocation",
]

Obj = TypeVar("Obj", xr.Dataset, xr.DataArray)
Method = Literal["spline", "tps"]

#: Scattered GCPs from this many on get a cubic trend under the thin-plate spline, fewer an affine.
TPS_CUBIC_TREND_MIN = 20
#: Lattice detection: GCP lines (pixels) closer than this, in pixels, are one GCP row (column).
LATTICE_TOLERANCE = 1e-3
_ORDER_NAMES = {1: "bilinear", 2: "biquadratic", 3: "bicubic"}


class GeocodeWarning(UserWarning):
    """The fit is weaker than the method promises (a lower spline order, an affine fit)."""


def geocode(
    obj: Obj,
    gcps: Any = None,
    method: Method = "spline",
    *,
    gcp_crs: Any = None,
    dims: tuple[str, str] | None = None,
    chunks: Any = None,
) -> Obj:
    """``obj`` with lazy 2-D ``latitude``/``longitude`` coordinates on its image dimensions.

    ``gcps`` and ``method``: see the module docstring. ``gcp_crs`` is the CRS of GeoTIFF/GeoJSON
    or rasterio GCPs when they do not say (default: what the ``spatial_ref`` coordinate says,
    else EPSG:4326). ``dims`` are the (row, column) dimensions (default ``("y", "x")``, else the
    last two of the first 2-D variable). ``chunks`` (dask chunks, or ``{dim: size}``) defaults to
    the data's own chunks, then its ``preferred_chunks``, then dask's ``"auto"`` for float64.
    """
    import dask.array as da

    ydim, xdim = _image_dims(obj, dims)
    geo = geolocation(obj, gcps, method, gcp_crs=gcp_crs, dims=(ydim, xdim))
    ychunks, xchunks = _chunks(obj, (ydim, xdim), chunks)
    rows = da.from_array(np.arange(obj.sizes[ydim]) + 0.5, chunks=(ychunks,))
    cols = da.from_array(np.arange(obj.sizes[xdim]) + 0.5, chunks=(xchunks,))
    both = da.blockwise(
        _evaluate, "kij", rows, "i", cols, "j", new_axes={"k": 2}, align_arrays=False,
        geolocation=geo, dtype=np.float64, meta=np.empty((0, 0, 0)),
    )  # fmt: skip
    common = {"geocoding": geo.description}
    return obj.assign_coords(
        latitude=(
            (ydim, xdim),
            both[0],
            {"standard_name": "latitude", "units": "degrees_north", **common},
        ),
        longitude=(
            (ydim, xdim),
            both[1],
            {"standard_name": "longitude", "units": "degrees_east", **common},
        ),
    )


def geolocation(
    obj: xr.Dataset | xr.DataArray,
    gcps: Any = None,
    method: Method = "spline",
    *,
    gcp_crs: Any = None,
    dims: tuple[Hashable, Hashable] | None = None,
) -> Geolocation | RpcGeolocation:
    """The fitted :class:`Geolocation` that :func:`geocode` evaluates (same arguments), or, for
    an object with RPCs and no GCPs (``gcps=None``), GDAL's RPC transformer
    (:class:`~xstac_access.eo._rpcs.RpcGeolocation`)."""
    ydim, xdim = _image_dims(obj, dims)
    shape = (obj.sizes[ydim], obj.sizes[xdim])
    try:
        found = read_gcps(obj, gcps, shape, gcp_crs=gcp_crs)
    except NoGcpsError:
        rpcs = own_rpcs(obj) if gcps is None else None
        if rpcs is None:
            raise
        return RpcGeolocation(*rpcs)
    return Geolocation(found, method, shape)


def _image_dims(
    obj: xr.Dataset | xr.DataArray, dims: tuple[Hashable, Hashable] | None = None
) -> tuple[Hashable, Hashable]:
    """The (row, column) dimensions of the image in ``obj``; see :func:`geocode`."""
    if dims is not None:
        missing = [d for d in dims if d not in obj.dims]
        if len(dims) != 2 or missing:
            raise GeocodeError(f"dims={dims!r} must name two of the dimensions {list(obj.dims)}")
        return dims[0], dims[1]
    if "y" in obj.dims and "x" in obj.dims:
        return "y", "x"
    for var in _variables(obj):
        if var.ndim >= 2:
            return var.dims[-2], var.dims[-1]
    raise GeocodeError(
        f"no 2-D image in this object (dimensions {list(obj.dims)}); pass dims=(row_dim, col_dim)"
    )


class Geolocation:
    """Latitude and longitude as smooth functions of image (line, pixel), fitted to GCPs.

    Picklable, so dask workers evaluate it chunk by chunk. ``gcps`` are the GCPs it was fitted to
    (duplicates included), ``description`` says how. Positions are in GDAL's convention (the
    centre of element ``[i, j]`` is ``(i + 0.5, j + 0.5)``). ``shape`` (the image's) extends the
    lattice spline's domain to the image edges; beyond that domain values are clamped.
    """

    def __init__(
        self, gcps: Gcps, method: Method = "spline", shape: tuple[int, int] | None = None
    ) -> None:
        if method not in ("spline", "tps"):
            raise GeocodeError(f"method={method!r}: use 'spline' (lattice or scattered) or 'tps'")
        self.gcps = gcps
        rows, row_of = _levels(gcps.line)
        cols, col_of = _levels(gcps.pixel)
        _, first = np.unique(row_of * cols.size + col_of, return_index=True)
        if first.size < 3:
            raise TooFewGcpsError(
                f"{first.size} distinct GCP position(s) in {gcps.source}; at least 3 are needed "
                "(4 on a 2 x 2 lattice for a bilinear fit, 16 on a 4 x 4 one for bicubic)"
            )
        lon = unwrap(gcps.lon)
        self._splines: tuple[Any, Any] | None = None
        if method == "spline" and first.size == rows.size * cols.size:
            self._fit_lattice(rows, cols, row_of[first], col_of[first], first, lon, shape)
        else:
            self._fit_tps(first, lon)

    def _fit_lattice(
        self,
        rows: np.ndarray,
        cols: np.ndarray,
        row_of: np.ndarray,
        col_of: np.ndarray,
        keep: np.ndarray,
        lon: np.ndarray,
        shape: tuple[int, int] | None,
    ) -> None:
        """Bicubic (or lower-order) interpolating splines on the rows x cols lattice."""
        from scipy.interpolate import RectBivariateSpline

        if min(rows.size, cols.size) < 2:
            raise TooFewGcpsError(
                f"the GCPs in {self.gcps.source} lie on one {'line' if rows.size < 2 else 'column'}"
                " of the image: they do not span an area to interpolate over"
            )
        height, width = shape or (rows[-1], cols[-1])
        bbox = [min(rows[0], 0), max(rows[-1], height), min(cols[0], 0), max(cols[-1], width)]
        kx, ky = min(3, rows.size - 1), min(3, cols.size - 1)
        grids = []
        for values in (self.gcps.lat, lon):
            grid = np.empty((rows.size, cols.size))
            grid[row_of, col_of] = values[keep]
            grids.append(RectBivariateSpline(rows, cols, grid, bbox=bbox, kx=kx, ky=ky, s=0))
        self._splines = (grids[0], grids[1])
        order = _ORDER_NAMES[kx] if kx == ky else f"order {kx} x {ky}"
        self.description = (
            f"{order} spline (scipy RectBivariateSpline, s=0) on a {rows.size} x {cols.size} "
            f"GCP lattice from {self.gcps.source}; element [i, j] at (line i+0.5, pixel j+0.5)"
        )
        if min(kx, ky) < 3 and not self.gcps.quad:
            warnings.warn(
                f"only {rows.size} x {cols.size} GCP rows x columns in {self.gcps.source}: the "
                f"surface is a {order} spline, not bicubic", GeocodeWarning, stacklevel=2,
            )  # fmt: skip

    def _fit_tps(self, keep: np.ndarray, lon: np.ndarray) -> None:
        """A thin-plate spline through the scattered GCPs (see the module docstring)."""
        from scipy.interpolate import RBFInterpolator

        line, pixel = self.gcps.line[keep], self.gcps.pixel[keep]
        origin = np.array([line.min(), pixel.min()])
        span = np.array([np.ptp(line), np.ptp(pixel)])
        self._scale = (origin, np.where(span > 0, span, 1.0))
        degree = 3 if keep.size >= TPS_CUBIC_TREND_MIN else 1
        try:
            self._rbf = RBFInterpolator(
                self._normalised(line, pixel),
                np.column_stack([self.gcps.lat[keep], lon[keep]]),
                kernel="thin_plate_spline",
                degree=degree,
            )
        except (np.linalg.LinAlgError, ValueError) as exc:
            raise TooFewGcpsError(
                f"the {keep.size} GCPs in {self.gcps.source} cannot carry a thin-plate spline "
                f"({exc}); they must not all lie on one straight line of the image"
            ) from None
        self.description = (
            f"thin-plate spline over a {'cubic' if degree == 3 else 'affine'} trend (scipy "
            f"RBFInterpolator) through {keep.size} GCPs from {self.gcps.source}, line and pixel "
            "normalised to [0, 1] over the GCPs; element [i, j] at (line i+0.5, pixel j+0.5)"
        )
        if keep.size == 3:
            warnings.warn(
                f"only 3 GCPs in {self.gcps.source}: the surface is affine", GeocodeWarning,
                stacklevel=2,
            )  # fmt: skip

    def _normalised(self, line: np.ndarray, pixel: np.ndarray) -> np.ndarray:
        origin, span = self._scale
        return (np.column_stack([line.ravel(), pixel.ravel()]) - origin) / span

    def __call__(
        self, line: Any, pixel: Any, *, grid: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """(latitude, longitude) at the positions; ``grid=True``: on the outer product of two
        increasing 1-D arrays, shaped ``(len(line), len(pixel))``. Longitudes in [-180, 180]."""
        line, pixel = np.asarray(line, float), np.asarray(pixel, float)
        if grid:
            shape = (line.size, pixel.size)
        else:
            line, pixel = np.broadcast_arrays(line, pixel)
            shape = line.shape
        if self._splines is not None:
            lat, lon = (s(line, pixel, grid=grid) for s in self._splines)
        else:
            if grid:
                line, pixel = np.meshgrid(line, pixel, indexing="ij")
            lat, lon = self._rbf(self._normalised(line, pixel)).T
        return np.reshape(lat, shape), wrap(np.reshape(lon, shape))


def _evaluate(rows: np.ndarray, cols: np.ndarray, geolocation: Geolocation) -> np.ndarray:
    """One dask block: latitude and longitude stacked, for rows x cols pixel centres."""
    return np.stack(geolocation(rows, cols, grid=True))


def _levels(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct levels of ``values`` (within the lattice tolerance) and each value's level."""
    order = np.argsort(values, kind="stable")
    level = np.concatenate([[0], np.cumsum(np.diff(values[order]) > LATTICE_TOLERANCE)])
    of = np.empty_like(level)
    of[order] = level
    return np.bincount(level, values[order]) / np.bincount(level), of


def _variables(obj: xr.Dataset | xr.DataArray) -> list[xr.DataArray]:
    return list(obj.data_vars.values()) if isinstance(obj, xr.Dataset) else [obj]


def _chunks(obj: xr.Dataset | xr.DataArray, dims: tuple[Hashable, Hashable], chunks: Any) -> tuple:
    """Row and column chunks for the coordinates; see :func:`geocode`."""
    from dask.array.core import normalize_chunks

    shape = (obj.sizes[dims[0]], obj.sizes[dims[1]])
    if chunks is not None and not isinstance(chunks, Mapping):
        return normalize_chunks(chunks, shape, dtype=np.float64)
    image = [v for v in _variables(obj) if set(dims) <= set(v.dims)]
    own = [v.chunksizes for v in image if v.chunks is not None]
    preferred = [v.encoding["preferred_chunks"] for v in image if "preferred_chunks" in v.encoding]
    wanted = {**(own or preferred or [{}])[0], **(chunks or {})}
    return normalize_chunks(tuple(wanted.get(d, "auto") for d in dims), shape, dtype=np.float64)
