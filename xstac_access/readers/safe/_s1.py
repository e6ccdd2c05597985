"""A Sentinel-1 Level-1 SAFE product (GRD or SLC; IW, EW or SM) as a DataTree.

Layout, after the EOPF Sentinel-1 product's per-polarisation groups (EOPF names them
``S01SIWGRD_<start>_<...>_VV``; here the group is the polarisation, ``VV``, or for an SLC the
swath and polarisation, ``IW1_VV``, the product name being the root's ``product`` attribute):

* ``<group>/measurements``: ``grd`` (uint16 digital numbers) or ``slc`` (complex), lazily read
  by window from ``measurement/<stem>.tiff``, on dims ``(y, x)`` = (line, pixel), with the
  GCPs in ``spatial_ref`` as the GeoTIFF reader puts them (so ``ds.rio.get_gcps()`` and
  ``.eo.geocode()`` work). With ``calibration="sigma0"|"beta0"|"gamma0"`` a float32 variable of
  that name beside it (:mod:`._s1calibration`; ``noise=True`` removes the thermal noise,
  ``db=True`` gives dB), computed per window read.
* ``<group>/conditions/gcp``: the annotation's geolocation grid on ``(line, pixel)`` (EOPF's
  ``conditions/gcp``): ``latitude``, ``longitude``, ``height``, ``incidence_angle``,
  ``elevation_angle``, ``slant_range_time``, ``azimuth_time``.
* ``<group>/quality/calibration`` and ``quality/noise_range``: the look-up tables as given, on
  ``(line, pixel)`` when every vector has the same pixels (they do in ESA's products).
* SLC: ``<group>/bursts/<n>`` per burst of ``swathTiming/burstList``: its lines of the image
  (``y`` sliced, a ``line`` coordinate), with ``first_valid_sample``/``last_valid_sample`` per
  line and, with ``mask_and_scale``, NaN outside them (:mod:`._s1bursts`).
* ``conditions/footprint``: the ``gx:LatLonQuad`` of ``preview/map-overlay.kml`` (the KML
  reader's Dataset, so ``.eo.footprint()`` works on it).

Opening reads ``manifest.safe``, the three annotation files per image and the KML; no image.
With ``mask_and_scale`` (the default) GRD's DN 0 (no data) is masked.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

import numpy as np
import xarray as xr
from xarray.core import indexing

from ... import errors
from .._xmlmeta import local_name, parse_xml
from ..geotiff import RasterBandArray
from . import _s1annotation as ann
from ._archive import SafeFiles
from ._s1bursts import burst_group
from ._s1calibration import TABLES, CalibratedArray, Image

_ANNOTATION = re.compile(r"/annotation/([^/]+)\.xml$", re.I)
_GRID_NAMES = {"incidenceAngle": "incidence_angle", "elevationAngle": "elevation_angle",
               "slantRangeTime": "slant_range_time"}  # fmt: skip


def open_tree(
    files: SafeFiles,
    product: str,
    mask_and_scale: bool = True,
    calibration: str | None = None,
    noise: bool = False,
    db: bool = False,
) -> xr.DataTree:
    """The tree of the Sentinel-1 product whose folder (``<NAME>.SAFE``) is ``product``."""
    if calibration is not None and calibration not in TABLES:
        raise errors.ResolveError(
            f"calibration={calibration!r} for {product} in {files.where}: choose one of "
            f"{', '.join(map(repr, TABLES))}, or None for the digital numbers"
        )
    if (noise or db) and calibration is None:
        raise errors.ResolveError(
            f"noise= and db= apply to calibrated values: pass calibration='sigma0' (or 'beta0', "
            f"'gamma0') too when opening {product} in {files.where}"
        )
    names = set(files.names())
    nodes: dict[str, xr.Dataset] = {"/": xr.Dataset(attrs=_root_attrs(files, product, names))}
    stems = sorted(m.group(1) for n in names
                   if n.startswith(product + "/") and (m := _ANNOTATION.search(n)))  # fmt: skip
    if not stems:
        raise errors.FormatError(f"{product} in {files.where} has no annotation/*.xml")
    options = {"calibration": calibration, "noise": noise, "db": db}
    for stem in stems:
        nodes.update(_image_nodes(files, product, stem, names, mask_and_scale, options))
    kml = f"{product}/preview/map-overlay.kml"
    if kml in names:
        nodes["conditions/footprint"] = _footprint(files, kml)
    pols = sorted({n.rsplit("/", 2)[0].rsplit("_", 1)[-1] for n in nodes if "/measurements" in n})
    nodes["/"].attrs["polarisations"] = " ".join(pols)
    return xr.DataTree.from_dict(nodes)


def _xml(files: SafeFiles, name: str) -> Any:
    return parse_xml(files.read(name), f"{name} of {files.where}")


def _root_attrs(files: SafeFiles, product: str, names: set[str]) -> dict[str, Any]:
    """The product name's fields, and the IPF version and platform of ``manifest.safe``."""
    folder = posixpath.basename(product)
    # ``S1A_IW_SLC__1SDV_...``: the type is padded with ``_`` to four letters, an empty field
    parts = [part for part in folder.removesuffix(".SAFE").split("_") if part]
    attrs: dict[str, Any] = {"product": folder}
    if len(parts) >= 9:
        attrs.update(mission=parts[0], mode=parts[1], product_type=parts[2],
                     polarisation_code=parts[3], start_time=parts[4], stop_time=parts[5],
                     absolute_orbit=int(parts[6]), datatake_id=parts[7])  # fmt: skip
    manifest = f"{product}/manifest.safe"
    if manifest in names:
        root = _xml(files, manifest)
        software = next((e for e in root.iter() if local_name(e.tag) == "software"), None)
        if software is not None and software.get("version"):
            attrs["ipf_version"] = software.get("version")
    return attrs


def _image_nodes(
    files: SafeFiles, product: str, stem: str, names: set[str], decode: bool,
    options: dict[str, Any],
) -> dict[str, xr.Dataset]:  # fmt: skip
    """The groups of one image (one swath and polarisation)."""
    where = f"{product}/annotation/{stem}.xml"
    image = ann.image(_xml(files, where), f"{where} of {files.where}")
    slc = image.product_type.upper() == "SLC"
    group = f"{image.swath}_{image.polarisation}" if slc else image.polarisation
    measurement = f"{product}/measurement/{stem}.tiff"
    if measurement not in names:
        raise errors.FormatError(
            f"{files.where} lists {where} but not its image {measurement}: the product is "
            "incomplete; open its members with reader='zip', member=..."
        )
    tables = f"{product}/annotation/calibration"
    gains = ann.calibration(*_parsed(files, f"{tables}/calibration-{stem}.xml"))
    ranges, blocks = ann.noise(*_parsed(files, f"{tables}/noise-{stem}.xml"))
    source = files.source(measurement)
    dtype = np.dtype("complex64" if slc else "uint16")
    raw = RasterBandArray(source, 1, image.shape, dtype)
    kind = "slc" if slc else "grd"
    attrs: dict[str, Any] = {
        "long_name": f"{'complex' if slc else 'amplitude'} digital number, {image.polarisation}",
        "polarisation": image.polarisation, "swath": image.swath,
    }  # fmt: skip
    if not slc:
        attrs["_FillValue" if decode else "nodata"] = np.uint16(0)
    variables = {kind: xr.Variable(("y", "x"), indexing.LazilyIndexedArray(raw), attrs)}
    arrays: dict[str, Image] = {kind: raw}  # what each variable reads, for the bursts
    if options["calibration"]:
        name = options["calibration"]
        noise = (ranges, blocks) if options["noise"] else None
        array = arrays[name] = CalibratedArray(raw, gains, TABLES[name], noise, options["db"])
        variables[name] = xr.Variable(("y", "x"), indexing.LazilyIndexedArray(array), {
            "long_name": f"{name} backscatter coefficient, {image.polarisation}"
                         + (", thermal noise removed" if options["noise"] else ""),
            "units": "dB" if options["db"] else "1", "polarisation": image.polarisation,
        })  # fmt: skip
    measurements = _with_gcps(xr.Dataset(variables), image)
    if decode and not slc:
        measurements = xr.decode_cf(measurements, decode_times=False, decode_coords=False)
    measurements[kind].encoding.update(raster_source=source, raster_band=1, source=measurement)
    nodes = {
        f"{group}/measurements": measurements,
        f"{group}/conditions/gcp": _gcp_group(image),
        f"{group}/quality/calibration": _table(gains, ("sigmaNought", "betaNought", "gamma", "dn")),
        f"{group}/quality/noise_range": _table(ranges, ("noiseRangeLut",)),
    }
    for k, burst in enumerate(image.bursts):
        nodes[f"{group}/bursts/{k}"] = burst_group(
            measurements, arrays, image.lines_per_burst, k, burst, decode
        )
    return nodes


def _parsed(files: SafeFiles, name: str) -> tuple[Any, str]:
    return _xml(files, name), f"{name} of {files.where}"


def _with_gcps(ds: xr.Dataset, image: ann.Image) -> xr.Dataset:
    """``ds`` with the geolocation grid as GCPs in ``spatial_ref`` (what the measurement
    TIFF holds: row = line, col = pixel, x = longitude, y = latitude, z = height)."""
    import rioxarray  # noqa: F401  (registers the .rio accessor)
    from rasterio.control import GroundControlPoint

    g = image.grid
    gcps = [
        GroundControlPoint(row=float(r), col=float(c), x=float(x), y=float(y), z=float(z),
                           id=str(k + 1))
        for k, (r, c, x, y, z) in enumerate(zip(g["line"], g["pixel"], g["longitude"],
                                                g["latitude"], g["height"], strict=True))
    ]  # fmt: skip
    return ds.rio.write_gcps(gcps, "EPSG:4326")


def _lattice(lines: np.ndarray, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The grid's distinct lines and pixels when its points are every line x pixel, row-major."""
    rows, cols = np.unique(lines), np.unique(pixels)
    if rows.size * cols.size != lines.size:
        return None
    row_major = (np.repeat(rows, cols.size) == lines) & (np.tile(cols, rows.size) == pixels)
    return (rows, cols) if row_major.all() else None


def _gcp_group(image: ann.Image) -> xr.Dataset:
    g = image.grid
    fields = [k for k in (*ann.GRID_FIELDS, "azimuthTime") if k not in ("line", "pixel")]
    names = {k: _GRID_NAMES.get(k, "azimuth_time" if k == "azimuthTime" else k) for k in fields}
    lattice = _lattice(g["line"], g["pixel"])
    data: dict[str, tuple[Any, np.ndarray]]
    if lattice is None:  # scattered points: flat, line and pixel as variables
        data = {names[k]: ("point", g[k]) for k in fields}
        return xr.Dataset({**data, "line": ("point", g["line"]), "pixel": ("point", g["pixel"])})
    rows, cols = lattice
    shape = (rows.size, cols.size)
    data = {names[k]: (("line", "pixel"), g[k].reshape(shape)) for k in fields}
    return xr.Dataset(data, coords={"line": rows, "pixel": cols})


def _table(vectors: ann.Vectors, tables: tuple[str, ...]) -> xr.Dataset:
    """Look-up tables on (line, pixel) when all vectors share their pixels, else empty."""
    first = vectors.pixels[0]
    if any(p.shape != first.shape or (p != first).any() for p in vectors.pixels):
        return xr.Dataset()
    snake = {t: re.sub(r"(?<!^)(?=[A-Z])", "_", t).lower() for t in tables}
    data = {snake[t]: (("line", "pixel"), np.stack(vectors.values[t])) for t in tables}
    return xr.Dataset(data, coords={"line": vectors.lines, "pixel": first.astype(int)})


def _footprint(files: SafeFiles, name: str) -> xr.Dataset:
    """The KML reader's footprint Dataset of ``preview/map-overlay.kml``."""
    from dataclasses import replace

    from ..kml import footprint_dataset, parse_kml

    target = replace(files.target, key=None, href=f"{files.target.href}#{name}")
    return footprint_dataset(parse_kml(files.read(name), target))
