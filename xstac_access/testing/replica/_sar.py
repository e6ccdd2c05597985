"""SAR GeoTIFFs georeferenced only by ground control points, shared by the Biomass and the
Sentinel-1 GRD generators.

``write_gcp_tiff`` writes a GeoTIFF with no geotransform and no CRS of its own: its GCPs (in
EPSG:4326, GDAL's convention: pixel ``(0, 0)`` is the image's upper-left corner) are all that
place it on the ground. Options cover what the two products differ in: tiles or strips,
compression, band descriptions and tags, internal overviews, and where the image file
directories (IFDs) lie. ESA's Sentinel-1 measurement TIFFs are streamed out by the processor,
so their IFD follows the image data and the header's first-IFD offset points near the end of
the file (a reader needs a second request before it knows where any strip is);
``trailing_ifd=True`` moves every IFD, with the tag values stored outside it, behind the data.
"""

from __future__ import annotations

import struct
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.control import GroundControlPoint
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning

#: TIFF field type -> bytes per value (TIFF 6.0 and BigTIFF types).
_TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8,
              13: 4, 16: 8, 17: 8, 18: 8}  # fmt: skip


def grid_gcps(
    lines: Sequence[float] | np.ndarray,
    samples: Sequence[float] | np.ndarray,
    lonlat: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    height: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> list[GroundControlPoint]:
    """GCPs on the grid ``lines x samples`` (row-major, ids from 1), placed by ``lonlat``."""
    line, sample = np.meshgrid(np.asarray(lines, float), np.asarray(samples, float), indexing="ij")
    lon, lat = lonlat(line.ravel(), sample.ravel())
    z = height(lon, lat) if height is not None else np.zeros(lon.shape)
    return [
        GroundControlPoint(
            row=float(r), col=float(c), x=float(x), y=float(y), z=float(h), id=str(k + 1)
        )
        for k, (r, c, x, y, h) in enumerate(
            zip(line.ravel(), sample.ravel(), lon, lat, z, strict=True)
        )
    ]


def border_ring(gcps: list[GroundControlPoint]) -> list[tuple[float, float]]:
    """Longitude/latitude of the GCPs on the grid's border, walked once around (no repeat)."""
    rows = sorted({g.row for g in gcps})
    cols = sorted({g.col for g in gcps})
    at = {(g.row, g.col): (g.x, g.y) for g in gcps}
    first, last = rows[0], rows[-1]
    ring = [at[first, c] for c in cols]
    ring += [at[r, cols[-1]] for r in rows[1:]]
    ring += [at[last, c] for c in reversed(cols[:-1])]
    ring += [at[r, cols[0]] for r in reversed(rows[1:-1])]
    return ring


def write_gcp_tiff(
    path: Path,
    bands: np.ndarray,
    gcps: list[GroundControlPoint],
    *,
    tile: int | None,
    compress: str | None,
    descriptions: Sequence[str] | None = None,
    tags: dict[str, str] | None = None,
    overviews: Sequence[int] = (),
    trailing_ifd: bool = False,
    dtype: str | None = None,
) -> None:
    """A GeoTIFF of ``bands`` (``(count, rows, cols)``) georeferenced only by ``gcps``.

    ``tile``: square tile edge, or None for one-row strips. ``overviews``: internal overview
    factors (averaged). ``trailing_ifd``: put the IFDs after the image data (see the module).
    ``dtype``: the file's sample type when not the array's (``"complex_int16"``: GDAL's CInt16,
    which numpy has no type for, written from complex64).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    count, rows, cols = bands.shape
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": cols,
        "height": rows,
        "count": count,
        "dtype": dtype or bands.dtype.name,
        "interleave": "band",
        "BIGTIFF": "IF_SAFER",
    }
    if tile:
        profile.update(tiled=True, blockxsize=tile, blockysize=tile)
    else:
        profile.update(tiled=False, blockysize=1)
    if compress:
        profile["compress"] = compress
    with warnings.catch_warnings():  # no geotransform is the point: silence rasterio's warning
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        _write(path, profile, bands, gcps, descriptions, tags, overviews)
    if trailing_ifd:
        move_ifds_to_end(path)


def _write(
    path: Path,
    profile: dict[str, Any],
    bands: np.ndarray,
    gcps: list[GroundControlPoint],
    descriptions: Sequence[str] | None,
    tags: dict[str, str] | None,
    overviews: Sequence[int],
) -> None:
    with rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.open(path, "w", **profile) as dst:
        dst.gcps = (gcps, "EPSG:4326")
        for b in range(bands.shape[0]):
            if descriptions:
                dst.set_band_description(b + 1, descriptions[b])
            dst.write(bands[b], b + 1)
        if tags:
            dst.update_tags(**tags)
        if overviews:
            dst.build_overviews(list(overviews), Resampling.average)


def move_ifds_to_end(path: Path) -> None:
    """Rewrite a (Big)TIFF so that every IFD and the tag values it stores out of line follow
    all image data; the old copies are zeroed and the header points at the new first IFD."""
    with path.open("r+b") as f:
        head = f.read(16)
        order = {b"II": "<", b"MM": ">"}[head[:2]]
        big = struct.unpack(order + "H", head[2:4])[0] == 43
        count_fmt, off_fmt, entry_size, inline = ("Q", "Q", 20, 8) if big else ("H", "I", 12, 4)
        off_size = struct.calcsize(off_fmt)
        first = struct.unpack(order + off_fmt, head[8:16] if big else head[4:8])[0]

        ifds: list[list[tuple[int, int, int, bytes, bytes | None]]] = []
        old: list[tuple[int, int]] = []  # (offset, length) of every structure moved
        offset = first
        while offset:
            f.seek(offset)
            (n,) = struct.unpack(order + count_fmt, f.read(struct.calcsize(count_fmt)))
            raw = f.read(n * entry_size + off_size)
            old.append((offset, struct.calcsize(count_fmt) + len(raw)))
            entries = []
            for i in range(n):
                e = raw[i * entry_size : (i + 1) * entry_size]
                tag, typ = struct.unpack(order + "HH", e[:4])
                (num,) = struct.unpack(order + ("Q" if big else "I"), e[4 : 4 + off_size])
                field = e[4 + off_size :]
                size = _TYPE_SIZE[typ] * num
                values = None
                if size > inline:
                    (where,) = struct.unpack(order + off_fmt, field)
                    f.seek(where)
                    values = f.read(size)
                    old.append((where, size))
                entries.append((tag, typ, num, field, values))
            ifds.append(entries)
            (offset,) = struct.unpack(order + off_fmt, raw[-off_size:])

        f.seek(0, 2)
        end = f.tell()
        end += end % 2  # IFDs and values start on a word boundary
        blobs, starts, cursor = [], [], end
        for entries in ifds:  # lay out: values of an IFD, then the IFD itself
            value_at = {}
            for k, (_, _, _, _, values) in enumerate(entries):
                if values is not None:
                    value_at[k] = cursor
                    cursor += len(values) + len(values) % 2
            starts.append(cursor)
            cursor += struct.calcsize(count_fmt) + len(entries) * entry_size + off_size
            cursor += cursor % 2
            blobs.append(value_at)
        out = bytearray()
        for i, entries in enumerate(ifds):
            value_at = blobs[i]
            for _, _, _, _, values in entries:
                if values is not None:
                    out += values + b"\0" * (len(values) % 2)
            out += struct.pack(order + count_fmt, len(entries))
            for k, (tag, typ, num, field, _values) in enumerate(entries):
                out += struct.pack(order + "HH", tag, typ)
                out += struct.pack(order + ("Q" if big else "I"), num)
                out += struct.pack(order + off_fmt, value_at[k]) if k in value_at else field
            following = starts[i + 1] if i + 1 < len(ifds) else 0
            out += struct.pack(order + off_fmt, following)
            out += b"\0" * (len(out) % 2)
        for where, length in old:
            f.seek(where)
            f.write(b"\0" * length)
        f.seek(end)
        f.write(bytes(out))
        f.seek(8 if big else 4)
        f.write(struct.pack(order + off_fmt, starts[0]))
