"""KML elements to geometry: coordinates, rings and every Placemark geometry as GeoJSON.

Elements are matched by local name, so KML with or without its default namespace (the Sentinel-1
map overlays have none) and the ``gx:`` extension read alike. A Placemark's geometry becomes
GeoJSON-like dicts (what ``shapely.geometry.shape`` takes):

* ``Point`` → Point; ``LineString`` → LineString; ``gx:Track`` (its ``gx:coord``, "lon lat
  alt") → LineString, or a Point when it has one position; ``gx:MultiTrack`` → its tracks;
* ``Polygon`` → Polygon with its holes (``innerBoundaryIs``); a bare ``LinearRing`` → Polygon
  (it closes an area, which is what a footprint is);
* ``MultiGeometry`` → its members, flattened.

Rings come back open (the closing vertex dropped), as the file orders them; altitudes are
dropped. A geometry without coordinates (``<coordinates/>``) is skipped; damaged coordinates are
a FormatError through ``bad``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any
from xml.etree.ElementTree import Element

from .. import errors

Point = tuple[float, float]
Ring = tuple[Point, ...]
Bad = Callable[[str], errors.FormatError]

#: Placemark children that are geometries (others: name, description, styles...).
GEOMETRIES = ("Point", "LineString", "LinearRing", "Polygon", "MultiGeometry", "Track",
              "MultiTrack")  # fmt: skip


def local(tag: Any) -> str:
    """An element's name without namespace: KML with or without its default namespace alike."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def child(element: Element, name: str) -> Element | None:
    return next((c for c in element if local(c.tag) == name), None)


def children(element: Element, name: str) -> list[Element]:
    return [c for c in element if local(c.tag) == name]


def descendants(element: Element, name: str) -> list[Element]:
    return [e for e in element.iter() if local(e.tag) == name]


def text(element: Element | None, name: str) -> str | None:
    found = child(element, name) if element is not None else None
    value = (found.text or "").strip() if found is not None else ""
    return value or None


def number(value: str, bad: Bad, where: str) -> float:
    try:
        parsed = float(value)
    except ValueError:
        raise bad(f"its {where} has {value.strip()[:40]!r}, not a number") from None
    if not math.isfinite(parsed):
        raise bad(f"its {where} has a non-finite number {value.strip()!r}")
    return parsed


def points(element: Element | None, bad: Bad, where: str) -> list[Point]:
    """The ``lon,lat[,alt]`` tuples of a ``<coordinates>`` element ([] when it has none)."""
    raw = (element.text or "") if element is not None else ""
    found = []
    for coordinate in re.sub(r"\s*,\s*", ",", raw.strip()).split():
        parts = coordinate.split(",")
        if len(parts) not in (2, 3):
            raise bad(f"its {where} has a coordinate {coordinate[:40]!r}, not lon,lat[,alt]")
        found.append(_lonlat(parts, bad, where))
    return found


def ring(element: Element | None, bad: Bad, where: str, exact: int | None = None) -> Ring:
    """An open ring from a ``<coordinates>`` element: at least 3 distinct vertices enclosing
    some area (exactly ``exact`` vertices when given, as listed: a quad's corners)."""
    found = points(element, bad, where)
    if not found:
        raise bad(f"its {where} has no coordinates")
    if exact is None and len(found) > 1 and found[0] == found[-1]:
        found.pop()  # a LinearRing repeats its first vertex at the end
    if exact is not None and len(found) != exact:
        raise bad(f"its {where} has {len(found)} corners; it must have {exact}")
    if len(found) < 3:
        raise bad(f"its {where} has {len(found)} distinct vertices; a ring needs 3")
    if signed_area(tuple(found)) == 0:
        raise bad(f"its {where} encloses no area")
    return tuple(found)


def signed_area(points_: Ring) -> float:
    """The signed area in lon/lat (positive counter-clockwise), longitudes made continuous
    first so that a ring across the antimeridian measures what it encloses."""
    from .._geo import unwrap

    xs, ys = unwrap([x for x, _ in points_]).tolist(), [y for _, y in points_]
    n = len(xs)
    return 0.5 * sum(xs[i] * ys[(i + 1) % n] - xs[(i + 1) % n] * ys[i] for i in range(n))


def geometries(element: Element, bad: Bad) -> list[dict[str, Any]]:
    """The GeoJSON-like geometries of one Placemark (or MultiGeometry), flattened."""
    found: list[dict[str, Any]] = []
    for node in element:
        kind = local(node.tag)
        if kind == "Point":
            coords = points(child(node, "coordinates"), bad, "Point")
            found += [{"type": "Point", "coordinates": list(coords[0])}] if coords else []
        elif kind == "LineString":
            coords = points(child(node, "coordinates"), bad, "LineString")
            found += [_line(coords, bad, "LineString")] if coords else []
        elif kind == "LinearRing" and points(child(node, "coordinates"), bad, "LinearRing"):
            found.append(_polygon([ring(child(node, "coordinates"), bad, "LinearRing")]))
        elif kind == "Polygon":
            found += _polygons(node, bad)
        elif kind == "MultiGeometry":
            found += geometries(node, bad)
        elif kind == "MultiTrack":
            found += [g for track in children(node, "Track") for g in _track(track, bad)]
        elif kind == "Track":
            found += _track(node, bad)
    return found


def _polygons(node: Element, bad: Bad) -> list[dict[str, Any]]:
    outer = child(node, "outerBoundaryIs")
    linear = child(outer, "LinearRing") if outer is not None else None
    coords = child(linear, "coordinates") if linear is not None else None
    if not points(coords, bad, "Polygon outer boundary"):
        return []
    rings = [ring(coords, bad, "Polygon outer boundary")]
    for inner in children(node, "innerBoundaryIs"):
        for hole in children(inner, "LinearRing"):
            rings.append(ring(child(hole, "coordinates"), bad, "Polygon inner boundary"))
    return [_polygon(rings)]


def _polygon(rings: list[Ring]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[list(p) for p in r] for r in rings]}


def _line(coords: list[Point], bad: Bad, where: str) -> dict[str, Any]:
    if len(coords) < 2:
        raise bad(f"its {where} has {len(coords)} position; a line needs 2")
    return {"type": "LineString", "coordinates": [list(p) for p in coords]}


def _track(node: Element, bad: Bad) -> list[dict[str, Any]]:
    coords = []
    for coord in children(node, "coord"):
        parts = (coord.text or "").split()
        if len(parts) not in (2, 3):
            raise bad(f"its gx:Track has a gx:coord {' '.join(parts)[:40]!r}, not lon lat [alt]")
        coords.append(_lonlat(parts, bad, "gx:Track"))
    if len(coords) == 1:
        return [{"type": "Point", "coordinates": list(coords[0])}]
    return [_line(coords, bad, "gx:Track")] if coords else []


def _lonlat(parts: list[str], bad: Bad, where: str) -> Point:
    lon, lat = (number(p, bad, where) for p in parts[:2])
    if abs(lon) > 180 or abs(lat) > 90:
        raise bad(f"its {where} has a coordinate out of range: {lon}, {lat}")
    return lon, lat


def combine(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One GeoJSON geometry for ``parts``: the part itself, a Multi* of parts of one type, or a
    GeometryCollection. Polygon rings get continuous longitudes (values may pass ±180) and are
    closed, exteriors counter-clockwise and holes clockwise (the GeoJSON right-hand rule)."""
    from .._geo import unwrap

    shaped = []
    for part in parts:
        if part["type"] == "Polygon":
            rings = []
            for index, coords in enumerate(part["coordinates"]):
                ring_ = list(zip(unwrap([x for x, _ in coords]).tolist(),
                                 [y for _, y in coords], strict=True))  # fmt: skip
                if (signed_area(tuple(ring_)) > 0) != (index == 0):
                    ring_.reverse()
                rings.append([list(p) for p in [*ring_, ring_[0]]])
            part = {"type": "Polygon", "coordinates": rings}
        shaped.append(part)
    kinds = {p["type"] for p in shaped}
    if len(shaped) == 1:
        return shaped[0]
    if len(kinds) == 1:
        return {"type": f"Multi{kinds.pop()}", "coordinates": [p["coordinates"] for p in shaped]}
    return {"type": "GeometryCollection", "geometries": shaped}


def to_wkt(geometry: dict[str, Any]) -> str:
    """WKT of a GeoJSON geometry with every coordinate exact (``repr``: GEOS's writer rounds
    to 16 significant digits, so its WKT and the GeoJSON would not be the same shape)."""
    kind = geometry["type"]
    if kind == "GeometryCollection":
        return f"{kind.upper()} (" + ", ".join(map(to_wkt, geometry["geometries"])) + ")"
    return f"{kind.upper()} {_wkt_body(kind.removeprefix('Multi'), geometry['coordinates'], kind)}"


def _wkt_body(kind: str, coords: Any, outer: str) -> str:
    if outer.startswith("Multi"):
        return "(" + ", ".join(_wkt_body(kind, c, kind) for c in coords) + ")"
    if kind == "Point":
        return f"({coords[0]!r} {coords[1]!r})"
    if kind == "LineString":
        return "(" + ", ".join(f"{x!r} {y!r}" for x, y in coords) + ")"
    return "(" + ", ".join(_wkt_body("LineString", r, "LineString") for r in coords) + ")"
