"""Where the data lies: ``.eo.footprint()`` and ``.eo.explore()``.

``footprint`` answers with a shapely geometry in longitude/latitude (WGS 84), taken from the first
of these that the object has:

1. the geometry of the STAC item carried with the data (``attrs["stac_item"]``, see
   :mod:`xstac_access.eo.stac`): whatever asset of an item was opened (a COG, a GCP GeoTIFF, a
   Zarr group, a KML), its footprint is the item's, exactly as the catalogue gives it (STAC
   geometries are already split at the antimeridian, as RFC 7946 asks);
2. a KML footprint: the Dataset of the KML reader (a quad's or box's ``longitude``/
   ``latitude`` corners; otherwise its GeoJSON geometry, where points and lines stay points
   and lines and polygons keep their holes) or a picture the image reader pinned with a KML
   quad (its ``quad_longitude``/``quad_latitude`` attributes); the corners are kept exactly;
3. the ``geometry`` of an EOPF product's embedded ``stac_discovery`` item;
4. 2-D ``latitude``/``longitude`` coordinates (a swath): the outer ring of the pixel centres,
   at most :data:`EDGE_POINTS` points per edge, read edge by edge (never the whole arrays);
5. a regular grid in a known CRS (rioxarray's ``spatial_ref``): its bounds, densified and
   transformed to WGS 84;
6. GCPs: the ring of the ground control points on the image border.

So data opened from a bare href, without an item, answer from what they hold (2 to 6). Rings
from 2, 4, 5 and 6 get continuous longitudes first (:func:`xstac_access._geo.unwrap`) and are
oriented counter-clockwise; a polygon that then passes ±180° is cut there and comes back as a
MultiPolygon of pieces inside [-180, 180]. A DataTree answers with its item's geometry, else its
root's ``stac_discovery`` one, else the footprint of its first group that has one.

``explore`` draws the footprint on a folium map (the optional extra ``explore``) and, where it is
cheap, the quicklook under it: when the data carries its own geolocation (2-D latitude/longitude,
such as a swath or a KML-pinned picture, or a regular grid in a known CRS). GCP-only images get
the footprint alone (geocoding them is not cheap).
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from .._extras import needs
from .._geo import lonlat_coords, unwrap
from . import stac

if TYPE_CHECKING:
    import folium
    from shapely.geometry.base import BaseGeometry

    from ._picture import Picture

#: Points kept along each edge of a swath (or each side of a grid's bounds) for its footprint.
EDGE_POINTS = 64
#: Long side, in pixels, of the quicklook drawn under the footprint by :func:`explore`.
OVERLAY_SIZE = 512


def footprint(obj: xr.Dataset | xr.DataArray | xr.DataTree) -> BaseGeometry:
    """The footprint of ``obj`` in WGS 84 longitude/latitude (see the module docstring).

    Raises ValueError when ``obj`` has nothing to take a footprint from.
    """
    from shapely.geometry import shape

    geometry = stac.geometry(obj)
    if geometry is not None:
        return shape(geometry)
    found = None if isinstance(obj, xr.DataTree) else _kml_footprint(obj)
    if found is None:
        embedded = stac.embedded_geometry(obj)
        if embedded is not None:
            found = shape(embedded)
        elif isinstance(obj, xr.DataTree):
            groups = (_own_footprint(node.to_dataset()) for node in obj.subtree)
            found = next((g for g in groups if g is not None), None)
        else:
            found = _own_footprint(obj)
    if found is None:
        raise ValueError(
            "no footprint: this object has no STAC item geometry, no KML corners, no 2-D "
            "latitude/longitude, no grid in a known CRS and no GCPs"
        )
    return found


def explore(
    obj: xr.Dataset | xr.DataArray | xr.DataTree,
    m: folium.Map | None = None,
    quicklook: bool = True,
    **folium_kwargs: Any,
) -> folium.Map:
    """A folium map with the footprint of ``obj`` and, when cheap, its quicklook under it.

    ``m``: a map to draw on (else a new one, made with ``folium_kwargs``, e.g. ``tiles=``).
    ``quicklook=False`` skips the picture. The map is zoomed to the footprint. Offline,
    ``tiles=None`` leaves out the basemap; the page still loads Leaflet from folium's CDNs
    unless the map's ``default_js``/``default_css`` name local copies (as
    ``tests/eo/test_explore_browser.py`` does).
    """
    with needs("explore", ".eo.explore()"):
        import folium
    from shapely.geometry import mapping

    if m is not None and folium_kwargs:
        raise TypeError(f"folium options {sorted(folium_kwargs)} only apply to a new map (m=None)")
    geometry = footprint(obj)
    m = m if m is not None else folium.Map(**folium_kwargs)
    overlay = _overlay(obj) if quicklook else None
    if overlay is not None:
        image, bounds = overlay
        folium.raster_layers.ImageOverlay(image, bounds, name="quicklook", opacity=0.9).add_to(m)
    label = stac.stac(obj).get("id")
    folium.GeoJson(
        mapping(geometry),
        name="footprint",
        tooltip=str(label) if label else None,
        style_function=lambda _: {"color": "#d62728", "weight": 2, "fillOpacity": 0.05},
    ).add_to(m)
    west, south, east, north = geometry.bounds
    m.fit_bounds([[south, west], [north, east]])
    return m


def split_at_antimeridian(geometry: BaseGeometry) -> BaseGeometry:
    """``geometry`` (continuous longitudes, possibly beyond ±180°) cut at the antimeridian.

    The pieces are shifted by 360° into [-180, 180] and returned as a MultiPolygon; a geometry
    already inside [-180, 180] comes back unchanged.
    """
    from shapely import affinity
    from shapely.geometry import MultiPolygon, box

    west, _, east, _ = geometry.bounds
    if west >= -180.0 and east <= 180.0:
        return geometry
    pieces: list[BaseGeometry] = []
    for turn in range(math.floor((west + 180.0) / 360.0), math.floor((east + 180.0) / 360.0) + 1):
        window = box(-180.0 + 360.0 * turn, -90.0, 180.0 + 360.0 * turn, 90.0)
        piece = affinity.translate(geometry.intersection(window), xoff=-360.0 * turn)
        pieces.extend(getattr(piece, "geoms", [piece]))
    return MultiPolygon([p for p in pieces if p.geom_type == "Polygon" and not p.is_empty])


def _own_footprint(obj: xr.Dataset | xr.DataArray) -> BaseGeometry | None:
    """From the object's own geolocation: swath edge, grid bounds or GCPs (in that order)."""
    for ring in (_swath_ring, _grid_ring, _gcp_ring):
        found = ring(obj)
        if found is not None:
            return _polygon(*found)
    return None


def _kml_footprint(obj: xr.Dataset | xr.DataArray) -> BaseGeometry | None:
    """Corners from the KML reader's Dataset (or a picture pinned by a KML quad), or the
    reader's whole geometry: points and lines as such, polygons with their holes."""
    attrs = obj.attrs
    if "quad_longitude" in attrs and "quad_latitude" in attrs:
        return _polygon(attrs["quad_longitude"], attrs["quad_latitude"])
    if "footprint_kind" not in attrs or not isinstance(obj, xr.Dataset):
        return None
    if attrs["footprint_kind"] not in ("gx:LatLonQuad", "LatLonBox"):
        return _kml_geometry(attrs.get("footprint_geojson"))
    if "longitude" not in obj or "latitude" not in obj:
        return None
    return _polygon(obj["longitude"].values, obj["latitude"].values)


def _kml_geometry(geojson: Any) -> BaseGeometry | None:
    """The KML reader's GeoJSON (continuous longitudes, oriented rings) as shapely; polygons
    repaired if need be and cut at the antimeridian, points and lines kept as they are."""
    import json

    import shapely
    from shapely.geometry import (
        GeometryCollection,
        MultiLineString,
        MultiPoint,
        MultiPolygon,
        shape,
    )

    try:
        geometry = shape(json.loads(geojson))
    except (TypeError, ValueError, KeyError, AttributeError):
        return None
    parts: list[BaseGeometry] = []
    for part in getattr(geometry, "geoms", [geometry]):
        if part.geom_type == "Polygon":
            part = split_at_antimeridian(part if part.is_valid else shapely.make_valid(part))
        parts.extend(getattr(part, "geoms", [part]))
    if len(parts) == 1:
        return parts[0]
    multi = {"Polygon": MultiPolygon, "Point": MultiPoint, "LineString": MultiLineString}
    kinds = {p.geom_type for p in parts}
    return multi[kinds.pop()](parts) if len(kinds) == 1 else GeometryCollection(parts)


def _polygon(lon: Any, lat: Any) -> BaseGeometry:
    """A counter-clockwise polygon from an open or closed ring, cut at the antimeridian."""
    import shapely
    from shapely.geometry import Polygon
    from shapely.geometry.polygon import orient

    polygon = orient(Polygon(zip(unwrap(lon).tolist(), list(lat), strict=True)), 1.0)
    if not polygon.is_valid:
        polygon = shapely.make_valid(polygon)
    return split_at_antimeridian(polygon)


def _swath_ring(obj: xr.Dataset | xr.DataArray) -> tuple[np.ndarray, np.ndarray] | None:
    """The outer ring of the pixel centres of 2-D longitude/latitude, edge by edge."""
    found = lonlat_coords(obj)
    if found is None:
        return None
    lon, lat = found
    rows, cols = lon.dims
    edges = (
        {rows: 0},  # first row, left to right
        {cols: -1},  # last column, top to bottom
        {rows: -1},  # last row, right to left
        {cols: 0},  # first column, bottom to top
    )
    ring_lon, ring_lat = [], []
    for index, edge in enumerate(edges):
        picked = {d: _edge_points(lon.sizes[d]) for d in (rows, cols) if d not in edge}
        xs = lon.isel(edge).isel(picked).values
        ys = lat.isel(edge).isel(picked).values
        if index >= 2:
            xs, ys = xs[::-1], ys[::-1]
        ring_lon.append(xs[:-1])  # the last point starts the next edge
        ring_lat.append(ys[:-1])
    xs, ys = np.concatenate(ring_lon), np.concatenate(ring_lat)
    keep = np.isfinite(xs) & np.isfinite(ys)
    return (xs[keep], ys[keep]) if keep.sum() >= 3 else None


def _edge_points(size: int) -> np.ndarray:
    return np.unique(np.linspace(0, size - 1, min(size, EDGE_POINTS)).round().astype(int))


def _grid_ring(obj: xr.Dataset | xr.DataArray) -> tuple[np.ndarray, np.ndarray] | None:
    """The bounds of a regular grid in a known CRS, densified and transformed to WGS 84."""
    import rioxarray  # noqa: F401  (registers .rio)
    from pyproj import Transformer

    if "x" not in obj.coords or "y" not in obj.coords or obj.rio.crs is None:
        return None
    west, south, east, north = obj.rio.bounds()
    corners = np.array([(west, south), (east, south), (east, north), (west, north), (west, south)])
    along = np.linspace(0.0, 1.0, EDGE_POINTS)[:-1, np.newaxis]
    ring = np.concatenate([a + along * (b - a) for a, b in itertools.pairwise(corners)])
    transformer = Transformer.from_crs(obj.rio.crs, "EPSG:4326", always_xy=True)
    return transformer.transform(ring[:, 0], ring[:, 1])


def _gcp_ring(obj: xr.Dataset | xr.DataArray) -> tuple[np.ndarray, np.ndarray] | None:
    """The GCPs on the image border, walked around it (top, right, bottom, left)."""
    import rioxarray  # noqa: F401  (registers .rio)
    from pyproj import Transformer

    if "spatial_ref" not in obj.coords or "gcps" not in obj.coords["spatial_ref"].attrs:
        return None
    gcps = obj.rio.get_gcps()
    rows = np.array([g.row for g in gcps])
    cols = np.array([g.col for g in gcps])
    top, bottom, left, right = rows.min(), rows.max(), cols.min(), cols.max()
    order: list[int] = []
    for on_edge, key in (
        (rows == top, cols),
        (cols == right, rows),
        (rows == bottom, -cols),
        (cols == left, -rows),
    ):
        for i in np.flatnonzero(on_edge)[np.argsort(key[on_edge])]:
            if i not in order:  # corners sit on two edges
                order.append(int(i))
    if len(order) < 3:
        return None
    xs = np.array([gcps[i].x for i in order])
    ys = np.array([gcps[i].y for i in order])
    transformer = Transformer.from_crs(obj.rio.crs, "EPSG:4326", always_xy=True)
    return transformer.transform(xs, ys)


def _overlay(obj: Any) -> tuple[np.ndarray, list[list[float]]] | None:
    """The quicklook warped to Web Mercator and its longitude/latitude bounds, when cheap."""
    from ._layers import dataset_of
    from ._picture import picture

    data = dataset_of(obj)
    if not _geolocated(data):
        return None
    return _in_web_mercator(picture(data, max_size=OVERLAY_SIZE))


def _geolocated(obj: xr.Dataset | xr.DataArray) -> bool:
    """True when ``obj`` knows where its pixels are without geocoding (see ``explore``)."""
    if lonlat_coords(obj) is not None:
        return True
    import rioxarray  # noqa: F401  (registers .rio)

    return "x" in obj.coords and "y" in obj.coords and obj.rio.crs is not None


def _in_web_mercator(pic: Picture) -> tuple[np.ndarray, list[list[float]]] | None:
    """The first panel of ``pic`` warped (nearest neighbour) to Web Mercator, as the map's tiles
    are, transparent outside the data; with its longitude/latitude bounds. The long side keeps
    the picture's number of pixels. None when the picture has no usable geolocation.
    """
    from pyproj import Transformer
    from rasterio.crs import CRS
    from rasterio.transform import Affine, from_bounds
    from rasterio.warp import Resampling, reproject, transform_bounds

    mercator = CRS.from_epsg(3857)
    if pic.lon is not None and pic.lat is not None:
        lon, lat = unwrap(pic.lon), np.clip(pic.lat, -85.0, 85.0)
        if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
            return None
        x, y = Transformer.from_crs(4326, 3857, always_xy=True).transform(lon, lat)
        bounds = (x.min(), y.min(), x.max(), y.max())
        source = {"src_geoloc_array": np.stack([lon, lat]), "src_crs": CRS.from_epsg(4326)}
    elif pic.x is not None and pic.y is not None and pic.crs is not None:
        dx, dy = pic.x[1] - pic.x[0], pic.y[1] - pic.y[0]
        crs = CRS.from_user_input(pic.crs)
        transform = Affine(dx, 0.0, pic.x[0] - dx / 2, 0.0, dy, pic.y[0] - dy / 2)
        left, top = transform * (0, 0)
        right, bottom = transform * (pic.x.size, pic.y.size)
        edges = (min(left, right), min(top, bottom), max(left, right), max(top, bottom))
        bounds = transform_bounds(crs, mercator, *edges, densify_pts=EDGE_POINTS)
        source = {"src_transform": transform, "src_crs": crs}
    else:
        return None
    west, south, east, north = bounds
    ratio = (east - west) / max(north - south, 1e-9)
    side = max(pic.shape)
    width, height = (side, round(side / ratio)) if ratio >= 1 else (round(side * ratio), side)
    image = np.zeros((4, max(height, 1), max(width, 1)), dtype=np.uint8)
    reproject(
        np.moveaxis(pic.rgba(0), -1, 0),
        image,
        dst_transform=from_bounds(west, south, east, north, image.shape[2], image.shape[1]),
        dst_crs=mercator,
        resampling=Resampling.nearest,
        **source,
    )
    (lon_w, lon_e), (lat_s, lat_n) = Transformer.from_crs(3857, 4326, always_xy=True).transform(
        [west, east], [south, north]
    )
    return np.moveaxis(image, 0, -1), [[lat_s, lon_w], [lat_n, lon_e]]
