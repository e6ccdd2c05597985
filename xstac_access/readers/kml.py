"""KML and KMZ footprints: every KML geometry, and ``GroundOverlay`` corners, as a small Dataset.

The Dataset has one dimension, ``corner``, and two float64 variables, ``longitude`` and
``latitude``, holding the vertices exactly as the file lists them (closing vertices dropped).
The attributes ``footprint_wkt`` and ``footprint_geojson`` give the whole shape (what
``shapely.geometry.shape`` takes): polygon rings closed, exteriors counter-clockwise and holes
clockwise (the GeoJSON right-hand rule), whatever the file's order. ``vertex_order`` says how
the file ran its polygons' outer rings on the ground.

What is read:

1. a document whose only shapes are ground overlays (a Sentinel-1 ``map-overlay.kml``):
   the first one's ``gx:LatLonQuad`` (or, failing that, ``LatLonBox``, rotated about its centre
   as the spec says): four corners, labelled on the ``corner`` coordinate with the picture
   corner each one pins, in the KML spec's order (lower-left, lower-right, upper-right,
   upper-left of the image), plus ``image_y``/``image_x`` (where the corner sits on the picture,
   as a fraction of its height and width from the top-left). ``overlay_href`` is the overlay's
   ``Icon`` href made absolute against the KML's own href.
2. otherwise every geometry of every ``Placemark`` (:mod:`._kmlparse`: Point, LineString,
   LinearRing, Polygon with holes, MultiGeometry, ``gx:Track``, ``gx:MultiTrack``), with each
   overlay's quad or box as a polygon: points and lines stay points and lines. One geometry is
   itself; several of one type a Multi*; several types a GeometryCollection, because a
   footprint split in two (at the antimeridian, or by a gap in the data) is still one
   footprint. The ``part`` coordinate numbers the geometry each vertex belongs to and ``ring``
   its ring (0 the outer one, 1... the holes). ``footprint_kind`` is ``Polygon`` when every
   part is a polygon, else the GeoJSON type of the whole.
3. a document with neither (links to others: a KMZ's ``doc.kml`` and its network links):
   the boxes of its regions (``Region``/``LatLonAltBox``), which say where the linked content lies.

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
pass ±180) instead of being split. KMZ (zipped KML: media type, ``.kmz`` or a zip's first bytes)
is read as the KML inside it (``doc.kml``, else its first ``.kml``) through the zip reader's
ranged reads: the archive's tail and that one member. Parsing goes through defusedxml: entity
declarations (entity bombs, external entities) are refused, and any unreadable input is a
:class:`~xstac_access.errors.FormatError` naming the asset and host.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import Element

import numpy as np
import xarray as xr

from .. import errors
from .._geo import wrap
from .._hrefs import host_of, resolve_relative, safe_href
from .._resolve import Target
from ..http import fetch
from ._kmlparse import (
    Ring,
    child,
    combine,
    descendants,
    geometries,
    local,
    number,
    ring,
    signed_area,
    text,
    to_wkt,
)
from ._xmlmeta import parse_xml

if TYPE_CHECKING:
    from ..credentials.broker import Broker

#: The picture corner each of the four quad/box corners pins, in the KML spec's order.
IMAGE_CORNERS = ("lower_left", "lower_right", "upper_right", "upper_left")
#: Where those corners sit on the picture: (down from the top, across from the left), 0 to 1.
IMAGE_FRACTIONS = ((1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0))
_KMZ_MEDIA_TYPE = "application/vnd.google-earth.kmz"
#: The footprint kinds whose four corners pin a picture's corners.
PINNING = ("gx:LatLonQuad", "LatLonBox")


@dataclass(frozen=True)
class Footprint:
    """What a KML document says about where something lies.

    ``rings`` holds, for a quad or a box, one open ring of four (lon, lat) corners in
    :data:`IMAGE_CORNERS` order; otherwise the outer ring of each polygon, in the file's order.
    ``parts`` are the geometries as the file lists them (:func:`._kmlparse.geometries`; empty
    for a quad or box), ``geometry`` their whole shape as GeoJSON. ``overlay_href`` is the
    absolute (unmasked) href of the picture a ``GroundOverlay`` drapes, if any.
    """

    kind: str  # "gx:LatLonQuad", "LatLonBox", "Polygon" or a GeoJSON geometry type
    rings: tuple[Ring, ...]
    overlay_href: str | None = None
    name: str | None = None
    description: str | None = None
    parts: tuple[dict[str, Any], ...] = ()

    @property
    def geometry(self) -> dict[str, Any] | None:
        """The whole shape as GeoJSON (``None`` for a quad or a box: its ``rings`` say it)."""
        return combine(list(self.parts)) if self.parts else None

    @property
    def pins_image(self) -> bool:
        """True when the four corners map to the corners of a picture (quad or box)."""
        return self.kind in PINNING


def open_dataset(target: Target, *, broker: Broker, **unused: Any) -> xr.Dataset:
    """Read the KML of ``target`` (one request; KMZ: a few ranged ones) and describe its
    footprint; see the module docstring."""
    return footprint_dataset(read_footprint(target, broker=broker))


def read_footprint(target: Target, *, broker: Broker) -> Footprint:
    """Fetch and parse the KML of ``target``, or the KML inside a KMZ."""
    media_type = (target.media_type or "").split(";")[0].strip().lower()
    if media_type == _KMZ_MEDIA_TYPE or target.extension == ".kmz":
        return parse_kml(_kmz_document(target, broker), target)
    body = fetch(target.href, broker=broker, what=target.label)
    if body.startswith(b"PK\x03\x04"):
        body = _kmz_document(target, broker)
    return parse_kml(body, target)


def _kmz_document(target: Target, broker: Broker) -> bytes:
    """The KML inside the KMZ of ``target``: ``doc.kml`` at its root, else its first ``.kml``
    (ranged reads of the archive's tail and that member, as the zip reader does)."""
    from ._zipfile import locate, read_member

    archive, members = locate(target, broker)
    documents = [m for m in members if m.name.lower().endswith(".kml")]
    if not documents:
        names = ", ".join(m.name for m in members[:10]) or "nothing"
        raise _bad(target, f"it is a KMZ holding no .kml document (it holds {names})")
    chosen = next((m for m in documents if m.name.lower() == "doc.kml"), documents[0])
    return read_member(archive, chosen)


def parse_kml(body: bytes, target: Target) -> Footprint:
    """The :class:`Footprint` in ``body``, the KML document of ``target`` (used in messages)."""
    root = parse_xml(body, _where(target))
    if local(root.tag) != "kml":
        raise _bad(target, f"the root element is <{local(root.tag)}>, not <kml>")

    def bad(reason: str) -> errors.FormatError:
        return _bad(target, reason)

    overlays = [  # each with its corners, parsed once
        (o, quad)
        for o in descendants(root, "GroundOverlay")
        if (quad := _corners(o, bad)) is not None
    ]
    parts, named = [], None
    for placemark in descendants(root, "Placemark"):
        found = geometries(placemark, bad)
        parts += found
        named = placemark if named is None and found else named
    if not parts and overlays:
        overlay, (kind, corners) = overlays[0]
        icon = child(overlay, "Icon")
        href = text(icon, "href") if icon is not None else None
        return Footprint(
            kind=kind,
            rings=(corners,),
            overlay_href=resolve_relative(href, target.href) if href else None,
            name=text(overlay, "name") or _first_name(root),
            description=text(overlay, "description"),
        )
    if not parts and not overlays:  # a document of links (a KMZ's doc.kml): where they lie
        parts = [_region(box, bad) for box in descendants(root, "LatLonAltBox")]
    for _, (_, corners) in overlays:
        parts.append({"type": "Polygon", "coordinates": [[list(p) for p in corners]]})
    if not parts:
        raise _bad(
            target,
            "it has no GroundOverlay with gx:LatLonQuad or LatLonBox, and no Placemark with "
            "coordinates",
        )
    polygons = [p for p in parts if p["type"] == "Polygon"]
    return Footprint(
        kind="Polygon" if len(polygons) == len(parts) else combine(parts)["type"],
        rings=tuple(tuple(map(tuple, p["coordinates"][0])) for p in polygons),
        name=text(named, "name") or _first_name(root),
        description=text(named, "description"),
        parts=tuple(parts),
    )


def _corners(overlay: Element, bad: Any) -> tuple[str, Ring] | None:
    """The overlay's quad (or box) corners in spec order, or ``None`` when it has neither."""
    quad, box = child(overlay, "LatLonQuad"), child(overlay, "LatLonBox")
    if quad is not None:
        return "gx:LatLonQuad", ring(child(quad, "coordinates"), bad, "gx:LatLonQuad", exact=4)
    return ("LatLonBox", _box_corners(box, bad)) if box is not None else None


def footprint_dataset(footprint: Footprint) -> xr.Dataset:
    """The Dataset described in the module docstring for ``footprint``."""
    coords: dict[str, Any] = {}
    if footprint.pins_image:
        lon = [x for x, _ in footprint.rings[0]]
        lat = [y for _, y in footprint.rings[0]]
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
        wkt, geojson = _geometries(footprint.rings)
    else:
        lon, lat, part, ring_ = _vertices(footprint.parts)
        coords["part"] = ("corner", part, {"long_name": "geometry part the vertex belongs to"})
        coords["ring"] = (
            "corner",
            ring_,
            {"long_name": "ring of its polygon (0 outer, 1... holes)"},
        )
        wkt, geojson = to_wkt(footprint.geometry or {}), json.dumps(footprint.geometry)
    orders = {vertex_order(r) for r in footprint.rings}
    order = orders.pop() if len(orders) == 1 else "mixed" if orders else None
    common = {"footprint_kind": footprint.kind, **({"vertex_order": order} if order else {})}
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
    attrs: dict[str, Any] = {**common, "footprint_wkt": wkt, "footprint_geojson": geojson}
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


def _vertices(parts: tuple[dict[str, Any], ...]) -> tuple[list, list, list, list]:
    """Longitudes, latitudes, part and ring numbers of every vertex, as the file lists them
    (rings open: their closing vertex dropped)."""
    lon: list[float] = []
    lat: list[float] = []
    numbers: list[int] = []
    rings: list[int] = []
    for position, part in enumerate(parts):
        coords = part["coordinates"]
        lines = {"Polygon": coords, "Point": [[coords]]}.get(part["type"], [coords])
        for index, line in enumerate(lines):
            lon += [float(x) for x, _ in line]
            lat += [float(y) for _, y in line]
            numbers += [position] * len(line)
            rings += [index] * len(line)
    return lon, lat, numbers, rings


def vertex_order(ring_: Ring) -> str:
    """``"clockwise"`` or ``"counter-clockwise"`` on the ground (signed area in lon/lat)."""
    return "counter-clockwise" if signed_area(ring_) > 0 else "clockwise"


def _geometries(rings: tuple[Ring, ...]) -> tuple[str, str]:
    """WKT and GeoJSON of corner rings: closed, counter-clockwise, longitudes continuous."""
    geometry = combine([{"type": "Polygon", "coordinates": [list(map(list, r))]} for r in rings])
    return to_wkt(geometry), json.dumps(geometry)


def _region(box: Element, bad: Any) -> dict[str, Any]:
    """A ``Region``'s ``LatLonAltBox`` as a polygon, its edges cut in steps of at most 90° so
    that a box as wide as the world keeps its area once longitudes are made continuous."""
    edges = {}
    for edge in ("north", "south", "east", "west"):
        value = text(box, edge)
        if value is None:
            raise bad(f"its LatLonAltBox has no <{edge}>")
        edges[edge] = number(value, bad, f"LatLonAltBox <{edge}>")
    north, south, east, west = (edges[k] for k in ("north", "south", "east", "west"))
    if not -90 <= south < north <= 90 or max(abs(east), abs(west)) > 180 or east == west:
        raise bad(f"its LatLonAltBox edges N{north} S{south} E{east} W{west} enclose nothing")
    east += 360.0 if east < west else 0.0
    lons = [west + (east - west) * i / 4 for i in range(5)]
    lons = [x - 360.0 if x > 180 else x for x in lons]
    ring_ = [(x, south) for x in lons] + [(x, north) for x in reversed(lons)]
    return {"type": "Polygon", "coordinates": [[list(p) for p in ring_]]}


def _box_corners(box: Element, bad: Any) -> Ring:
    """The four corners of a LatLonBox (rotated about its centre if asked), in spec order."""
    values = {}
    for edge in ("north", "south", "east", "west", "rotation"):
        value = text(box, edge)
        if value is None:
            if edge == "rotation":
                values[edge] = 0.0
                continue
            raise bad(f"its LatLonBox has no <{edge}>")
        values[edge] = number(value, bad, f"LatLonBox <{edge}>")
    north, south, east, west = (values[k] for k in ("north", "south", "east", "west"))
    if not -90 <= south < north <= 90 or max(abs(east), abs(west)) > 180 or east == west:
        raise bad(f"its LatLonBox edges N{north} S{south} E{east} W{west} enclose nothing")
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


def _first_name(root: Element) -> str | None:
    """The first ``<name>`` in the document (the Document's own, usually)."""
    names = (e.text.strip() for e in descendants(root, "name") if e.text and e.text.strip())
    return next(names, None)


def _where(target: Target) -> str:
    shown = safe_href(target.href)
    label = target.label if shown in target.label else f"{target.label} at {shown}"
    return f"{label} (host {host_of(target.href)}) is not a usable KML document"


def _bad(target: Target, reason: str) -> errors.FormatError:
    return errors.FormatError(f"{_where(target)}: {reason}")
