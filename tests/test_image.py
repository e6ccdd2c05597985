"""The picture reader: written PNG/JPEG, georeferencing from a KML quad, over HTTP. The real
Sentinel-1 quick-look is read in tests/realdata/test_kml.py."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr
from conftest import OVERLAY_QUADS, replica_item, write_preview
from PIL import Image

from xstac_access import errors
from xstac_access._engine import open_dataset

#: The quad of the written preview, in the file's order, which the reader takes as the KML
#: spec's: lower-left, lower-right, upper-right, upper-left.
QUAD = OVERLAY_QUADS["polar"]
PICTURE = (60, 80)
#: A pixel's size in degrees, at most: the corner pixels' centres lie closer to the quad's corners.
PIXEL_DEG = float(np.ptp([lon for lon, _ in QUAD])) / min(PICTURE)


@pytest.fixture
def preview(tmp_path) -> tuple[Path, Path]:
    """A Sentinel-1 style ``preview/``: (quick-look.png, map-overlay.kml placing it at QUAD)."""
    return write_preview(tmp_path / "preview", QUAD, PICTURE)


def s1_item(png: Path, kml: Path | None) -> dict:
    assets = {"quicklook": {"href": str(png), "type": "image/png", "roles": ["overview"]}}
    if kml is not None:
        assets["footprint"] = {
            "href": str(kml),
            "type": "application/vnd.google-earth.kml+xml",
            "roles": ["metadata"],
        }
    return {"type": "Feature", "stac_version": "1.0.0", "id": "S1-QL", "assets": assets}


def test_a_png_without_extension_opens_through_sniffing(tmp_path, preview):
    png, _ = preview
    copy = tmp_path / "quicklook"
    shutil.copyfile(png, copy)
    ds = xr.open_dataset(copy, engine="stacasset")
    assert ds["image"].shape == (3, *PICTURE) and ds.attrs["image_format"] == "PNG"
    with Image.open(png) as img:
        np.testing.assert_array_equal(ds["image"].values, np.moveaxis(np.asarray(img), -1, 0))


def save(tmp_path: Path, img: Image.Image, name: str, **kwargs) -> Path:
    path = tmp_path / name
    img.save(path, **kwargs)
    return path


def pattern(shape: tuple[int, ...], dtype: str = "uint8") -> np.ndarray:
    return (np.arange(np.prod(shape)) % np.iinfo(dtype).max).astype(dtype).reshape(shape)


def test_jpeg_rgb_and_grey(tmp_path):
    rgb = save(tmp_path, Image.fromarray(pattern((40, 60, 3))), "rgb.jpg", quality=95)
    ds = xr.open_dataset(rgb, engine="stacasset")
    assert ds["image"].shape == (3, 40, 60) and ds.attrs["image_format"] == "JPEG"
    with Image.open(rgb) as img:
        np.testing.assert_array_equal(ds["image"].values, np.moveaxis(np.asarray(img), -1, 0))
    grey = save(tmp_path, Image.fromarray(pattern((40, 60))), "grey.jpeg")
    ds = xr.open_dataset(grey, engine="stacasset")
    assert ds["image"].shape == (1, 40, 60) and list(ds["band"].values) == ["grey"]


def test_rgba_and_grey_alpha_keep_alpha(tmp_path):
    rgba = pattern((20, 30, 4))
    ds = xr.open_dataset(save(tmp_path, Image.fromarray(rgba), "a.png"), engine="stacasset")
    assert list(ds["band"].values) == ["red", "green", "blue", "alpha"]
    np.testing.assert_array_equal(ds["image"].values, np.moveaxis(rgba, -1, 0))
    la = Image.fromarray(pattern((20, 30, 2)), mode="LA")
    ds = xr.open_dataset(save(tmp_path, la, "la.png"), engine="stacasset")
    assert list(ds["band"].values) == ["grey", "alpha"] and ds["image"].shape == (2, 20, 30)


def test_palette_pictures_become_rgb_or_rgba(tmp_path):
    indices = (np.arange(20 * 30) % 4).astype("uint8").reshape(20, 30)
    colours = [255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9]
    img = Image.fromarray(indices, mode="P")
    img.putpalette(colours)
    ds = xr.open_dataset(save(tmp_path, img, "p.png"), engine="stacasset")
    assert ds.attrs["image_mode"] == "P" and list(ds["band"].values) == ["red", "green", "blue"]
    lut = np.array(colours).reshape(4, 3)
    np.testing.assert_array_equal(ds["image"].values, np.moveaxis(lut[indices], -1, 0))
    ds = xr.open_dataset(save(tmp_path, img, "pt.png", transparency=3), engine="stacasset")
    assert list(ds["band"].values)[-1] == "alpha"
    np.testing.assert_array_equal(ds["image"].values[3], np.where(indices == 3, 0, 255))


def test_sixteen_bit_grey_stays_uint16(tmp_path):
    data = pattern((25, 35), "uint16") * 7
    ds = xr.open_dataset(save(tmp_path, Image.fromarray(data), "deep.png"), engine="stacasset")
    assert ds["image"].dtype == np.uint16 and list(ds["band"].values) == ["grey"]
    np.testing.assert_array_equal(ds["image"].values[0], data)


def test_bytes_that_are_no_picture_are_a_format_error(tmp_path):
    fake = tmp_path / "broken.png"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    item = {"type": "Feature", "stac_version": "1.0.0", "id": "X"}
    item["assets"] = {"ql": {"href": str(fake)}}
    with pytest.raises(errors.FormatError) as info:
        xr.open_dataset(item, engine="stacasset", asset="ql")
    assert "asset 'ql' of item 'X'" in str(info.value) and "host local" in str(info.value)


def assert_pinned_to(ds: xr.Dataset, quad: list[tuple[float, float]], lon_tol, lat_tol) -> None:
    """Corner pixels lie at the quad corners (lower-left, lower-right, upper-right, upper-left)."""
    lon, lat = ds["longitude"].values, ds["latitude"].values
    pixels = [(-1, 0), (-1, -1), (0, -1), (0, 0)]
    for (row, col), (qlon, qlat) in zip(pixels, quad, strict=True):
        assert abs(lon[row, col] - qlon) < lon_tol and abs(lat[row, col] - qlat) < lat_tol


def test_quicklook_georeferenced_from_the_items_kml(preview):
    png, kml = preview
    ds = xr.open_dataset(s1_item(png, kml), engine="stacasset", asset="quicklook")
    assert ds["longitude"].dims == ds["latitude"].dims == ("y", "x")
    assert ds["longitude"].shape == PICTURE
    assert_pinned_to(ds, QUAD, lon_tol=PIXEL_DEG, lat_tol=PIXEL_DEG)
    # monotonic along the swath: north to south down the rows, east to west across (descending)
    assert (np.diff(ds["latitude"].values, axis=0) < 0).all()
    assert (np.diff(ds["longitude"].values, axis=1) < 0).all()
    assert ds.attrs["quad_longitude"] == [q[0] for q in QUAD]
    assert "asset 'footprint'" in ds.attrs["georeference_match"]
    assert "overlaying this picture" in ds.attrs["georeference_match"]


def test_explicit_kml_and_georeference_switches(tmp_path, preview):
    png, kml = preview
    ds = open_dataset(str(png), kml=str(kml))
    assert ds.attrs["georeference_match"] == "kml= argument"
    assert_pinned_to(ds, QUAD, lon_tol=PIXEL_DEG, lat_tol=PIXEL_DEG)
    item = s1_item(png, kml)
    plain = xr.open_dataset(item, engine="stacasset", asset="quicklook", reader="image")
    assert "longitude" in plain.coords
    off = open_dataset(item, asset="quicklook", georeference=False)
    assert "longitude" not in off.coords
    with pytest.raises(errors.ResolveError, match="kml=<href"):
        open_dataset(s1_item(png, None), asset="quicklook", georeference=True)
    polygon = tmp_path / "polygon.kml"
    polygon.write_text(
        "<kml><Placemark><Polygon><outerBoundaryIs><LinearRing><coordinates>0,0 1,0 1,1"
        "</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></kml>"
    )
    with pytest.raises(errors.FormatError, match="does not say where the picture"):
        open_dataset(str(png), kml=str(polygon))


def test_a_broken_kml_asset_only_warns_unless_asked_for(tmp_path, preview):
    png, _ = preview
    broken = tmp_path / "broken.kml"
    broken.write_text("<kml><GroundOverlay>")
    with pytest.warns(UserWarning, match="without longitude/latitude"):
        ds = xr.open_dataset(s1_item(png, broken), engine="stacasset", asset="quicklook")
    assert "longitude" not in ds.coords and ds["quicklook"].shape == (3, *PICTURE)
    with pytest.raises(errors.FormatError, match="malformed XML"):
        open_dataset(s1_item(png, broken), asset="quicklook", georeference=True)


# --- over HTTP, against the local world ---------------------------------------------------


def served(world, href: str) -> str:
    return href[len(world.endpoints.http) :]


def local_picture(world, href: str) -> np.ndarray:
    data = (world.replica.files_root / served(world, href).lstrip("/")).read_bytes()
    with Image.open(io.BytesIO(data)) as img:
        return np.moveaxis(np.asarray(img), -1, 0)


def biomass_corners(world, item: dict) -> list[tuple[float, float]]:
    """The amplitude image's corner GCPs, in KML spec order (what the quad should say)."""
    tiff = item["assets"]["enclosure_i_abs_tiff"]["href"]
    with rasterio.open(world.replica.files_root / served(world, tiff).lstrip("/")) as src:
        gcps = {(g.row, g.col): (g.x, g.y) for g in src.gcps[0]}
        h, w = src.height, src.width
    return [gcps[h, 0], gcps[h, w], gcps[0, w], gcps[0, 0]]


@pytest.mark.parametrize(
    ("key", "how"), [("quicklook_png", "overlaying"), ("thumbnail", "assumed")]
)
def test_biomass_pictures_georeferenced_from_the_items_kml(local_world, files, key, how):
    item = replica_item(local_world, "BiomassLevel1a")
    ds = xr.open_dataset(item, engine="stacasset", asset=key)
    href, kml = item["assets"][key]["href"], item["assets"]["quicklook_kml"]["href"]
    assert files.requests_for(served(local_world, href)) == 1
    assert files.requests_for(served(local_world, kml)) == 1
    assert sum(files.stats()["requests"].values()) == 2
    np.testing.assert_array_equal(ds[key].values, local_picture(local_world, href))
    assert list(ds["band"].values) == ["red", "green", "blue"] and ds[key].dtype == np.uint8
    assert how in ds.attrs["georeference_match"]
    lon, lat = ds["longitude"].values, ds["latitude"].values
    pixel = max(np.ptp(lon), np.ptp(lat)) / min(lon.shape)
    assert_pinned_to(ds, biomass_corners(local_world, item), lon_tol=pixel, lat_tol=pixel)
    # descending pass: first lines (top) are the northern ones
    assert (np.diff(lat, axis=0) < 0).all()


def test_earth_search_jpeg_thumbnail(local_world, files):
    item = replica_item(local_world, "sentinel-2-l2a")
    href = item["assets"]["thumbnail"]["href"]
    ds = xr.open_dataset(item, engine="stacasset", asset="thumbnail")
    assert files.requests_for(served(local_world, href)) == 1
    assert ds.attrs["image_format"] == "JPEG" and ds["thumbnail"].shape[:2] == (3, ds.sizes["y"])
    assert ds.sizes["x"] == 343 and "longitude" not in ds.coords  # the item has no KML
    np.testing.assert_array_equal(ds["thumbnail"].values, local_picture(local_world, href))
    assert ds.attrs["stac_item_id"] == item["id"]
