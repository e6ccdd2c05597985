"""The one longitude helper (``xstac_access._geo``): the cases each of its users needs.

The KML reader and ``.eo.footprint`` walk rings (quads, polygons, a swath's edge); the picture
reader and ``.eo.geocode`` take corners or GCPs of a scene; the quicklook draws 2-D pixel
longitudes. Each case below is one of theirs, at the antimeridian and near a pole.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from shapely.geometry import Polygon

from xstac_access._geo import lonlat_coords, unwrap, wrap


def test_a_ring_across_the_antimeridian_walks_on_past_180():
    """A KML quad (or footprint ring) from 179 E to 179 W: the way a polygon can be drawn."""
    assert unwrap([179.0, -179.0, -179.0, 179.0]).tolist() == [179.0, 181.0, 181.0, 179.0]
    assert unwrap([-179.0, 179.0, 179.0, -179.0]).tolist() == [-179.0, -181.0, -181.0, -179.0]


def test_values_needing_no_move_come_back_exactly():
    """The KML reader promises the file's corners exactly: no modulo on the way."""
    lon = np.array([10.1, 12.3, -0.7, 170.00000000000003, 0.1 + 0.2, -170.3])
    assert unwrap(lon).tobytes() == lon.tobytes()
    assert unwrap([179.3, -179.3]).tolist() == [179.3, -179.3 + 360.0]  # one rounding at most


def test_a_step_of_exactly_180_is_kept():
    assert unwrap([0.0, 180.0, 0.0, -180.0]).tolist() == [0.0, 180.0, 0.0, -180.0]


def test_nan_is_skipped_and_kept():
    """A swath's ring or GCPs with missing geolocation: the walk goes over the gap."""
    out = unwrap([179.0, np.nan, -179.0, np.inf])
    assert out[0] == 179.0 and np.isnan(out[1]) and out[2] == 181.0 and out[3] == np.inf
    assert unwrap([]).size == 0 and unwrap([np.nan]).size == 1 and float(unwrap(5.0)) == 5.0


def test_scattered_gcps_of_a_scene_across_180_land_within_180_of_the_first():
    """``.eo.geocode`` fits scattered GCPs: in any order, of a scene narrower than 180."""
    rng = np.random.default_rng(3)
    lon = rng.uniform(170.0, 190.0, 200)  # 170 E ... 170 W
    out = unwrap(np.where(lon > 180.0, lon - 360.0, lon))
    assert np.abs(out - out[0]).max() < 180.0
    np.testing.assert_allclose(out % 360.0, lon % 360.0)
    assert out.max() - out.min() == pytest.approx(lon.max() - lon.min())


def test_a_2d_scene_across_180_is_continuous_along_rows_and_down_columns():
    """The quicklook draws (and ``explore`` warps) 2-D pixel longitudes: C order walks rows."""
    cols = np.linspace(175.0, 185.0, 11)
    lon = np.stack([cols + 0.5 * row for row in range(4)])
    wrapped = (lon + 180.0) % 360.0 - 180.0
    out = unwrap(wrapped)
    assert out.shape == lon.shape
    np.testing.assert_allclose(out, lon)
    assert np.all(np.abs(np.diff(out, axis=1)) < 180) and np.all(np.abs(np.diff(out, axis=0)) < 1)


def test_a_polar_ring_wider_than_180_degrees_stays_one_piece():
    """Near a pole a footprint may span more than 180 degrees of longitude without enclosing the
    pole (an Arctic swath at 80 N): walking step by step keeps it whole, where taking values
    about the first one, or moving the negative ones up, tears it apart."""
    south = [100.0, 140.0, 180.0, -140.0, -100.0, -60.0]  # eastwards, 200 degrees
    north = south[::-1]
    ring_lon = unwrap(south + north)
    ring_lat = [80.0] * 6 + [84.0] * 6
    assert ring_lon.tolist() == [100, 140, 180, 220, 260, 300, 300, 260, 220, 180, 140, 100]
    polygon = Polygon(zip(ring_lon, ring_lat, strict=True))
    assert polygon.is_valid and polygon.area == pytest.approx(200.0 * 4.0)
    about_first = 100.0 + (np.array(south) - 100.0 + 180.0) % 360.0 - 180.0
    assert about_first.tolist()[-1] == -60.0  # the rule geocode used: a 160-degree tear


def test_a_ring_around_the_pole_ends_a_whole_turn_from_its_start():
    """A footprint enclosing the pole has no polygon in longitude/latitude; the walk says so by
    ending 360 degrees away, which ``.eo.footprint`` then cuts at the antimeridian."""
    ring = unwrap([0.0, 90.0, 180.0, -90.0, 0.0])
    assert ring.tolist() == [0.0, 90.0, 180.0, 270.0, 360.0]


def test_wrap_leaves_values_inside_untouched_and_brings_the_others_back():
    inside = np.array([-180.0, -0.3, 179.99999999999997, 180.0])
    assert wrap(inside) is inside or wrap(inside).tobytes() == inside.tobytes()
    assert wrap([181.0, -181.0, 540.0, 360.0, np.nan]).tolist()[:4] == [-179.0, 179.0, -180.0, 0.0]
    assert np.isnan(wrap([np.nan])[0])
    assert float(wrap(np.float64(190.0))) == -170.0
    np.testing.assert_array_equal(wrap(unwrap([179.0, -179.0, -178.5])), [179.0, -179.0, -178.5])


def test_lonlat_coords_by_standard_name_or_by_name():
    dims = ("row", "col")
    grid = np.zeros((2, 3))
    by_name = xr.Dataset(coords={"lon": (dims, grid), "lat": (dims, grid)})
    assert [c.name for c in lonlat_coords(by_name)] == ["lon", "lat"]
    standard = xr.Dataset(
        coords={
            "a": (dims, grid, {"standard_name": "longitude"}),
            "b": (dims, grid, {"standard_name": "latitude"}),
        }
    )
    assert [c.name for c in lonlat_coords(standard)] == ["a", "b"]
    one_d = xr.Dataset(coords={"lon": ("x", [1.0]), "lat": ("x", [2.0])})
    assert lonlat_coords(one_d) is None
