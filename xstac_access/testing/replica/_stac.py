"""Small builders for the STAC JSON of the replica: collections, footprints, UTM tile geometry."""

from __future__ import annotations

from typing import Any

from rasterio.warp import transform as warp_transform

STAC_VERSION = "1.1.0"

SENTINEL_LICENSE_LINK = {
    "rel": "license",
    "href": "https://sentinel.esa.int/documents/247904/690755/Sentinel_Data_Legal_Notice",
}


def collection(
    cid: str,
    title: str,
    description: str,
    bbox: list[float],
    start: str,
    end: str | None = None,
    license: str = "other",
    **extra: Any,
) -> dict[str, Any]:
    """A minimal valid STAC collection with a spatial and temporal extent (links left to pgstac)."""
    return {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "id": cid,
        "title": title,
        "description": description,
        "license": license,
        "extent": {
            "spatial": {"bbox": [bbox]},
            "temporal": {"interval": [[start, end]]},
        },
        "links": [],
        **extra,
    }


def ring_ccw(corners: list[tuple[float, float]]) -> list[list[float]]:
    """A closed, counter-clockwise GeoJSON ring (right-hand rule) from polygon corners."""
    pts = [[round(x, 7), round(y, 7)] for x, y in corners]
    area2 = sum(
        x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1], strict=False)
    )
    if area2 < 0:
        pts.reverse()
    return [*pts, pts[0]]


def polygon(corners: list[tuple[float, float]]) -> dict[str, Any]:
    """A GeoJSON Polygon from corners given in any winding order."""
    return {"type": "Polygon", "coordinates": [ring_ccw(corners)]}


def bbox_of(geometry: dict[str, Any]) -> list[float]:
    """The [west, south, east, north] box of a Polygon."""
    xs = [p[0] for p in geometry["coordinates"][0]]
    ys = [p[1] for p in geometry["coordinates"][0]]
    return [min(xs), min(ys), max(xs), max(ys)]


def utm_footprint(epsg: int, x0: float, y0: float, size_m: float) -> dict[str, Any]:
    """Geographic Polygon of a square UTM tile whose upper-left corner is (x0, y0)."""
    xs = [x0, x0 + size_m, x0 + size_m, x0]
    ys = [y0, y0, y0 - size_m, y0 - size_m]
    lons, lats = warp_transform(f"EPSG:{epsg}", "EPSG:4326", xs, ys)
    return polygon(list(zip(lons, lats, strict=False)))


def item(
    item_id: str,
    collection_id: str,
    geometry: dict[str, Any],
    properties: dict[str, Any],
    assets: dict[str, Any],
    extensions: list[str] | None = None,
    links: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A STAC item dict with bbox derived from the geometry."""
    return {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "stac_extensions": extensions or [],
        "id": item_id,
        "collection": collection_id,
        "geometry": geometry,
        "bbox": bbox_of(geometry),
        "properties": properties,
        "links": links or [],
        "assets": assets,
    }
