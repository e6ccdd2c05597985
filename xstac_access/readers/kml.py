"""KML footprints (``gx:LatLonQuad``, ``LatLonBox``, ``Polygon``) as a small Dataset.

The Dataset has one dimension, ``corner``, and two float64 variables, ``longitude`` and
``latitude``, holding the vertices exactly as the file lists them (closing vertex dropped). Their
``vertex_order`` attribute says whether that order runs clockwise or counter-clockwise on the
ground. The attributes ``footprint_wkt`` and ``footprint_geojson`` give the same shape as a closed
ring, always counter-clockwise (the GeoJSON right-hand rule), whatever the file's order.

What is read, in order of preference:

1. the first ``GroundOverlay`` with a ``gx:LatLonQuad`` (or, failing that, a ``LatLonBox``):
   four corners, labelled on the ``corner`` coordinate with the picture corner each one pins,
   in the KML spec's order (lower-left, lower-right, upper-right, upper-left of the image), plus
   ``image_y``/``image_x`` (where the corner sits on the picture, as a fraction of its height and
   width from the top-left). ``overlay_href`` is the overlay's ``Icon`` href made absolute
   against the KML's own href.
2. otherwise every ``Polygon`` of every ``Placemark`` (``MultiGeometry`` included): the outer
   boundaries only (holes are ignored), all in one ``corner`` dimension, with a ``polygon``
   coordinate numbering the polygon each vertex belongs to. Several polygons become one
   MULTIPOLYGON rather than the first one alone, because a footprint split in two (at the
   antimeridian, or by a gap in the data) is still one footprint.

Sentinel-1 ``preview/map-overlay.kml`` quads run **clockwise**, against the counter-clockwise
picture that the spec's order suggests. They are not mislabelled: the quick-look is in acquisition
geometry (rows are azimuth times from the top, columns range from near to far, right-looking),
which is a mirror image of the map, so the spec's lower-left → lower-right → upper-right →
upper-left walk turns clockwise on the ground. Checked on the real files: the first corner is the
last line at near range for the ascending S1C scene (north-west) and for the descending S1A ones
(south-east), and on the EW quick-look the glaciers of Severnaya Zemlya sit at the upper-left
corner the spec order predicts, with Schmidt and Ushakov islands along the top and right edges
where the quad puts them. So the spec's mapping is kept and the order is reported, not changed.

A footprint crossing the antimeridian keeps continuous longitudes in its WKT/GeoJSON (values may
pass ±180) instead of being split. Parsing goes through defusedxml: entity declarations (entity
bombs, external entities) are refused, and any unreadable input is a
:class:`~xstac_access.errors.FormatError` naming the asset and host. KMZ (zipped KML) is not read.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import Element

import numpy as np
import xarray as xr

from .. import errors
from .._geo import unwrap, wrap
from .._hrefs import host_of, resolve_relative, safe_href
from .._resolve import Target
from ..http import fetch
from ._xmlmeta import parse_xml

if TYPE_CHECKING:
    from ..credentials.broker import Broker

Ring = tuple[tuple[float, float], ...]

#: The picture corner each of the four quad/box corners pins, in the KML spec's order.
IMAGE_CORNERS = ("lower_left", "lower_right", "upper_right", "upper_left")
#: Where those corners sit on the picture: (down from the top, across from the left), 0 to 1.
IMAGE_FRACTIONS = ((1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0))
_KMZ_MEDIA_TYPE = "application/vnd.google-earth.kmz"


@dataclass(frozen=True)
class Footprint:
    """What a KML document says about where something lies.

    ``rings`` holds one open ring of (lon, lat) per polygon, in the file's order; for a quad or
    a box it is one ring of four corners in :data:`IMAGE_CORNERS` order. ``overlay_href`` is the
    absolute (unmasked) href of the picture a ``GroundOverlay`` drapes, if any.
    """

    kind: str  # "gx:LatLonQuad", "LatLonBox" or "Polygon"
    rings: tuple[Ring, ...]
    overlay_href: str | None = None
    name: str | None = None
    description: str | None = None

    @property
    def pins_image(self) -> bool:
        """True when the four corners map to the corners of a picture (quad or box)."""
        return self.kind != "Polygon"


def open_dataset(target: Target, *, broker: Broker, **unused: Any) -> xr.Dataset:
    """Read the KML of ``target`` (one request) and describe its footprint; see the module doc."""
    return footprint_dataset(read_footprint(target, broker=broker))


def read_footprint(target: Target, *, broker: Broker) -> Footprint:
    """Fetch and parse the KML of ``target``; refuses KMZ with an UnsupportedFormatError."""
    media_type = (target.media_type or "").split(";")[0].strip().lower()
    if media_type == _KMZ_MEDIA_TYPE or target.extension == ".kmz":
        raise _kmz_error(target)
    body = fetch(target.href, broker=broker, what=target.label)
    if body.startswith(b"PK\x03\x04"):
        raise _kmz_error(target)
    return parse_kml(body, target)


def parse_kml(body: bytes, target: Target) -> Footprint:
    """The :class:`Footprint` in ``body``, the KML document of ``target`` (used in messages)."""
    root = parse_xml(body, _where(target))
    if _local(root.tag) != "kml":
        raise _bad(target, f"the root element is <{_local(root.tag)}>, not <kml>")
    for overlay in _all(root, "GroundOverlay"):
        quad = _child(overlay, "LatLonQuad")
        box = _child(overlay, "LatLonBox")
        if quad is None and box is None:
            continue
        if quad is not None:
            kind = "gx:LatLonQuad"
            ring = _coordinates(_child(quad, "coordinates"), target, kind, exact=4)
        else:
            kind, ring = "LatLonBox", _box_corners(box, target)
        icon = _child(overlay, "Icon")
        href = _text(icon, "href") if icon is not None else None
        return Footprint(
            kind=kind,
            rings=(ring,),
            overlay_href=resolve_relative(href, target.href) if href else None,
            name=_text(overlay, "name") or _first_name(root),
            description=_text(overlay, "description"),
        )
    rings, named = [], None
    for placemark in _all(root, "Placemark"):
        for polygon in _all(placemark, "Polygon"):
            outer = _child(polygon, "outerBoundaryIs")
            linear = _child(outer, "LinearRing") if outer is not None else None
            coords = _child(linear, "coordinates") if linear is not None else None
            rings.append(_coordinates(coords, target, "Polygon outer boundary", exact=None))
            named = named if named is not None else placemark
    if not rings:
        raise _bad(target, "it has no GroundOverlay with gx:LatLonQuad or LatLonBox, no Polygon")
    return Footprint(
        kind="Polygon",
        rings=tuple(rings),
        name=_text(named, "name") or _first_name(root),
        description=_text(named, "description"),
    )


def footprint_dataset(footprint: Footprint) -> xr.Dataset:
    """The Dataset described in the module docstring for ``footprint``."""
    lon = [x for ring in footprint.rings for x, _ in ring]
    lat = [y for ring in footprint.rings for _, y in ring]
    orders = {vertex_order(ring) for ring in footprint.rings}
    order = orders.pop() if len(orders) == 1 else "mixed"
    coords: dict[str, Any] = {}
    if footprint.pins_image:
        coords["corner"] = ("corner", list(IMAGE_CORNERS), {"long_name": "picture corner pinned"})
        coords["image_y"] = (
            "corner",
            [f[0] for f in IMAGE_FRACTIONS],
            {"long_name": "corner position down the picture (0 top edge, 1 bottom edge)"},
        )
        coords["image_x"] = (
            "corner",
            [f[1] for f in IMAGE_FRACTIONS],
            {"long_name": "corner position across the picture (0 left edge, 1 right edge)"},
        )
    else:
        numbers = [i for i, ring in enumerate(footprint.rings) for _ in ring]
        coords["polygon"] = ("corner", numbers, {"long_name": "polygon the vertex belongs to"})
    common = {"vertex_order": order, "footprint_kind": footprint.kind}
    variables = {
        "longitude": (
            "corner",
            np.array(lon, dtype="float64"),
            {"units": "degrees_east", "standard_name": "longitude", **common},
        ),
        "latitude": (
            "corner",
            np.array(lat, dtype="float64"),
            {"units": "degrees_north", "standard_name": "latitude", **common},
        ),
    }
    attrs: dict[str, Any] = dict(common)
    attrs["footprint_wkt"], attrs["footprint_geojson"] = _geometries(footprint.rings)
    if footprint.pins_image:
        attrs["corner_mapping"] = (
            "KML spec order: the corners pin the picture's lower-left, lower-right, upper-right "
            f"and upper-left corners; this file lists them {order} on the ground"
            + (" (a picture in acquisition geometry, mirrored)" if order == "clockwise" else "")
        )
    for key, value in (
        ("overlay_href", footprint.overlay_href and safe_href(footprint.overlay_href)),
        ("name", footprint.name),
        ("description", footprint.description),
    ):
        if value:
            attrs[key] = value
    return xr.Dataset(variables, coords=coords, attrs=attrs)


def vertex_order(ring: Ring) -> str:
    """``"clockwise"`` or ``"counter-clockwise"`` on the ground (signed area in lon/lat)."""
    return "counter-clockwise" if _signed_area(ring) > 0 else "clockwise"


def _signed_area(ring: Ring) -> float:
    xs, ys = unwrap([x for x, _ in ring]).tolist(), [y for _, y in ring]
    n = len(xs)
    return 0.5 * sum(xs[i] * ys[(i + 1) % n] - xs[(i + 1) % n] * ys[i] for i in range(n))


def _geometries(rings: tuple[Ring, ...]) -> tuple[str, str]:
    """WKT and GeoJSON of the rings: closed, counter-clockwise, longitudes continuous."""
    closed = []
    for ring in rings:
        points = list(zip(unwrap([x for x, _ in ring]).tolist(), [y for _, y in ring], strict=True))
        if _signed_area(ring) < 0:
            points.reverse()
        closed.append([*points, points[0]])
    texts = ["((" + ", ".join(f"{x!r} {y!r}" for x, y in ring) + "))" for ring in closed]
    if len(closed) == 1:
        wkt = "POLYGON " + texts[0]
        geojson = {"type": "Polygon", "coordinates": [[list(p) for p in closed[0]]]}
    else:
        wkt = "MULTIPOLYGON (" + ", ".join(texts) + ")"
        geojson = {
            "type": "MultiPolygon",
            "coordinates": [[[list(p) for p in ring]] for ring in closed],
        }
    return wkt, json.dumps(geojson)


def _box_corners(box: Element, target: Target) -> Ring:
    """The four corners of a LatLonBox (rotated about its centre if asked), in spec order."""
    values = {}
    for edge in ("north", "south", "east", "west", "rotation"):
        text = _text(box, edge)
        if text is None:
            if edge == "rotation":
                values[edge] = 0.0
                continue
            raise _bad(target, f"its LatLonBox has no <{edge}>")
        values[edge] = _number(text, target, f"LatLonBox <{edge}>")
    north, south, east, west = (values[k] for k in ("north", "south", "east", "west"))
    if not -90 <= south < north <= 90 or max(abs(east), abs(west)) > 180 or east == west:
        raise _bad(target, f"its LatLonBox edges N{north} S{south} E{east} W{west} enclose nothing")
    if east < west:  # the box crosses the antimeridian
        east += 360.0
    cx, cy = (east + west) / 2, (north + south) / 2
    angle = math.radians(values["rotation"])  # counter-clockwise, as the spec says
    cos, sin = math.cos(angle), math.sin(angle)
    corners = []
    for x, y in ((west, south), (east, south), (east, north), (west, north)):
        dx, dy = x - cx, y - cy
        lon = float(wrap(np.float64(cx + dx * cos - dy * sin)))
        corners.append((lon, cy + dx * sin + dy * cos))
    return tuple(corners)


def _coordinates(element: Element | None, target: Target, where: str, exact: int | None) -> Ring:
    """Parse a ``<coordinates>`` list of ``lon,lat[,alt]``; the ring comes back open."""
    text = (element.text or "") if element is not None else ""
    if not text.strip():
        raise _bad(target, f"its {where} has no coordinates")
    points = []
    for token in re.sub(r"\s*,\s*", ",", text.strip()).split():
        parts = token.split(",")
        if len(parts) not in (2, 3):
            raise _bad(target, f"its {where} has a coordinate {token[:40]!r}, not lon,lat[,alt]")
        lon, lat = (_number(p, target, where) for p in parts[:2])
        if abs(lon) > 180 or abs(lat) > 90:
            raise _bad(target, f"its {where} has a coordinate out of range: {lon}, {lat}")
        points.append((lon, lat))
    if exact is None and len(points) > 1 and points[0] == points[-1]:
        points.pop()  # a LinearRing repeats its first vertex at the end
    if exact is not None and len(points) != exact:
        raise _bad(target, f"its {where} has {len(points)} corners; it must have {exact}")
    if len(points) < 3:
        raise _bad(target, f"its {where} has {len(points)} distinct vertices; a ring needs 3")
    if _signed_area(tuple(points)) == 0:
        raise _bad(target, f"its {where} encloses no area")
    return tuple(points)


def _number(text: str, target: Target, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _bad(target, f"its {where} has {text.strip()[:40]!r}, not a number") from None
    if not math.isfinite(value):
        raise _bad(target, f"its {where} has a non-finite number {text.strip()!r}")
    return value


def _local(tag: Any) -> str:
    """An element's name without namespace: KML with or without its default namespace alike."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(element: Element, name: str) -> Element | None:
    return next((c for c in element if _local(c.tag) == name), None)


def _all(element: Element, name: str) -> list[Element]:
    return [e for e in element.iter() if _local(e.tag) == name]


def _text(element: Element | None, name: str) -> str | None:
    child = _child(element, name) if element is not None else None
    text = (child.text or "").strip() if child is not None else ""
    return text or None


def _first_name(root: Element) -> str | None:
    """The first ``<name>`` in the document (the Document's own, usually)."""
    names = (e.text.strip() for e in _all(root, "name") if e.text and e.text.strip())
    return next(names, None)


def _where(target: Target) -> str:
    return (
        f"{target.label} at {safe_href(target.href)} (host {host_of(target.href)}) is not a "
        "usable KML document"
    )


def _bad(target: Target, reason: str) -> errors.FormatError:
    return errors.FormatError(f"{_where(target)}: {reason}")


def _kmz_error(target: Target) -> errors.UnsupportedFormatError:
    return errors.UnsupportedFormatError(
        f"{target.label} at {safe_href(target.href)} (host {host_of(target.href)}) is KMZ "
        "(zipped KML), which xstac-access does not read; open the KML inside it instead "
        "(usually doc.kml), or choose another asset with asset=<key>."
    )
