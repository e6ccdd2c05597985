"""Pictures (PNG, JPEG, anything Pillow decodes) as one ``(band, y, x)`` variable.

Thumbnails and quick-looks are small, so the file is read whole, once, at open. The variable is
named after the asset key (``image`` for a bare href). Numbers are kept as stored: 8-bit pictures
stay uint8, 16-bit greyscale stays uint16; palette pictures become RGB (RGBA when the palette
has transparency), and alpha stays a band. The ``band`` coordinate says what each band is:
``grey``, ``red``/``green``/``blue``, ``alpha``. Animated pictures give their first frame.

Georeferencing comes from a KML ``gx:LatLonQuad`` (or ``LatLonBox``): the one passed as
``kml=<href>``, or else a KML asset of the same item (media type or extension KML; ``overview``
and ``metadata`` roles first, and the one whose overlay is this very picture preferred). The
quad's corners pin the picture's corners in the KML spec's order (see
:mod:`xstac_access.readers.kml`); longitude and latitude of every pixel centre are then bilinear
in (row, column) between those corners, and land as 2-D ``longitude``/``latitude`` coordinates
on ``(y, x)``. ``georeference=False`` skips this; ``georeference=True`` (or ``kml=``) makes a
missing or unusable KML an error, while by default it only warns and opens the picture plain.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from .. import errors
from .._geo import unwrap, wrap
from .._hrefs import extension_of, host_of, safe_href
from .._resolve import Target, resolve
from ..http import fetch
from .kml import IMAGE_CORNERS, Footprint, read_footprint

if TYPE_CHECKING:
    from PIL import Image as PILImage

    from ..credentials.broker import Broker

_LABELS = {
    "L": ("grey",),
    "LA": ("grey", "alpha"),
    "RGB": ("red", "green", "blue"),
    "RGBA": ("red", "green", "blue", "alpha"),
}
#: Modes kept with their own numbers (one grey band): 16/32-bit integers and floats.
_GREY_DEEP = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
#: Modes converted before reading, to the mode named.
_CONVERT = {"1": "L", "La": "LA", "PA": "RGBA", "RGBa": "RGBA", "RGBX": "RGB"}
_KML_ROLES = ("overview", "metadata")


def open_dataset(
    target: Target,
    *,
    broker: Broker,
    georeference: bool | None = None,
    kml: str | None = None,
    **unused: Any,
) -> xr.Dataset:
    """Read the picture of ``target`` (one request) and georeference it; see the module doc."""
    body = fetch(target.href, broker=broker, what=target.label)
    data, labels, fmt, mode = decode(body, target)
    name = target.key or "image"
    attrs = {"image_format": fmt, "image_mode": mode}
    ds = xr.Dataset({name: (("band", "y", "x"), data)}, coords={"band": list(labels)}, attrs=attrs)
    ds[name].encoding["source"] = safe_href(target.href)
    if georeference is False:
        return ds
    required = georeference is True or kml is not None
    try:
        found = _find_quad(target, broker, kml)
    except errors.XStacError as exc:
        if required:
            raise
        warnings.warn(
            f"{target.label} opened without longitude/latitude: {exc}", UserWarning, stacklevel=2
        )
        return ds
    if found is None:
        if required:
            raise errors.ResolveError(
                f"georeference=True for {target.label}, but its item has no KML asset to take a "
                "gx:LatLonQuad from; pass kml=<href of the KML> or georeference=False"
            )
        return ds
    return _georeferenced(ds, *found)


def decode(body: bytes, target: Target) -> tuple[np.ndarray, tuple[str, ...], str, str]:
    """``(data as (band, y, x), band labels, format, original mode)`` of a picture's bytes."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(body)) as img:
            fmt, mode = img.format or "unknown", img.mode
            picture = _normalised(img)
            data = np.asarray(picture)
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        OSError,
        SyntaxError,
        ValueError,
    ) as exc:
        raise errors.FormatError(
            f"{target.label} at {safe_href(target.href)} (host {host_of(target.href)}) is not a "
            f"picture Pillow can decode: {exc.__class__.__name__}: {exc}"
        ) from None
    labels = _LABELS.get(picture.mode, ("grey",))
    data = data[np.newaxis] if data.ndim == 2 else np.moveaxis(data, -1, 0)
    return np.ascontiguousarray(data, dtype=data.dtype.newbyteorder("=")), labels, fmt, mode


def _normalised(img: PILImage.Image) -> PILImage.Image:
    """The picture in a mode with a plain band meaning (see the module docstring)."""
    mode = img.mode
    if mode in _LABELS or mode in _GREY_DEEP:
        return img
    if mode == "P":
        return img.convert("RGBA" if "transparency" in img.info else "RGB")
    return img.convert(_CONVERT.get(mode, "RGB"))  # CMYK, YCbCr, LAB, HSV: RGB


def _find_quad(
    target: Target, broker: Broker, kml: str | None
) -> tuple[Footprint, Target, str] | None:
    """The quad to pin the picture with, the KML it came from and how it was chosen."""
    if kml is not None:
        source = Target(href=kml)
        return _usable(read_footprint(source, broker=broker), source), source, "kml= argument"
    candidates = _kml_assets(target)
    first = None
    for key in candidates:
        source = resolve(dict(target.item or {}), key)
        footprint = read_footprint(source, broker=broker)
        if not footprint.pins_image:
            continue
        if footprint.overlay_href == target.href:
            return footprint, source, f"asset {key!r} of the same item, overlaying this picture"
        first = first or (footprint, source, key)
    if first is None:
        return None
    footprint, source, key = first
    shown = safe_href(footprint.overlay_href) if footprint.overlay_href else "not named"
    how = f"asset {key!r} of the same item (its overlay, {shown}, assumed to be this scene)"
    return footprint, source, how


def _kml_assets(target: Target) -> list[str]:
    """Keys of the item's KML assets, those with overview/metadata roles first."""
    assets = (target.item or {}).get("assets") or {}
    keys = []
    for key, asset in assets.items():
        if key == target.key or not isinstance(asset, Mapping):
            continue
        media_type = str(asset.get("type") or "").split(";")[0].strip().lower()
        if media_type.endswith("kml+xml") or extension_of(str(asset.get("href", ""))) == ".kml":
            keys.append(key)
    return sorted(keys, key=lambda k: not set(assets[k].get("roles") or ()) & set(_KML_ROLES))


def _usable(footprint: Footprint, source: Target) -> Footprint:
    if not footprint.pins_image:
        raise errors.FormatError(
            f"{source.label} (host {host_of(source.href)}) has a Polygon footprint but no "
            "gx:LatLonQuad or LatLonBox, so it does not say where the picture's corners lie"
        )
    return footprint


def pixel_lonlat(
    corners: tuple[tuple[float, float], ...], shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude of each pixel centre of a ``shape`` picture pinned at ``corners``.

    ``corners`` are (lon, lat) in :data:`~xstac_access.readers.kml.IMAGE_CORNERS` order. The
    mapping is bilinear in (row, column), longitudes unwrapped across the antimeridian first.
    """
    rows, cols = shape
    v = ((np.arange(rows) + 0.5) / rows)[:, np.newaxis]  # 0 top edge, 1 bottom edge
    u = ((np.arange(cols) + 0.5) / cols)[np.newaxis, :]  # 0 left edge, 1 right edge

    def bilinear(values: Sequence[float] | np.ndarray) -> np.ndarray:
        lower_left, lower_right, upper_right, upper_left = values
        top = (1 - u) * upper_left + u * upper_right
        return (1 - v) * top + v * ((1 - u) * lower_left + u * lower_right)

    lon = bilinear(unwrap([lon for lon, _ in corners]))
    return wrap(lon), bilinear([lat for _, lat in corners])


def _georeferenced(ds: xr.Dataset, footprint: Footprint, source: Target, how: str) -> xr.Dataset:
    corners = footprint.rings[0]
    lon, lat = pixel_lonlat(corners, (ds.sizes["y"], ds.sizes["x"]))
    ds = ds.assign_coords(
        longitude=(("y", "x"), lon, {"units": "degrees_east", "standard_name": "longitude"}),
        latitude=(("y", "x"), lat, {"units": "degrees_north", "standard_name": "latitude"}),
    )
    ds.attrs.update(
        georeference_kml=safe_href(source.href),
        georeference_match=how,
        georeference_method=(
            f"{footprint.kind} corners pin the picture's {', '.join(IMAGE_CORNERS)} corners "
            "(KML spec order); pixel centres bilinear in (row, column)"
        ),
        quad_corners=list(IMAGE_CORNERS),
        quad_longitude=[lon for lon, _ in corners],
        quad_latitude=[lat for _, lat in corners],
    )
    return ds
