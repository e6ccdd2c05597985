"""Every raster, JPEG 2000 and picture of the peer corpus, and the rasters in its zips, opened
locally with the engine and compared with rasterio reading the same bytes: shape, dtype,
values (a window of the big ones), nodata, transform, CRS, GCP and RPC counts.

Pictures (PNG/JPEG) go to the picture reader (Pillow, one ``(band, y, x)`` variable): their
shape and values are compared, they carry no georeferencing. A PNG decodes to the same values;
a JPEG cannot: Pillow's libjpeg-turbo and GDAL's libjpeg upsample chroma and round the inverse
DCT differently, so single values differ by up to about 50 levels at sharp colour edges while
the means agree within one level. Nothing else is left out.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
import rasterio
import xarray as xr
from rasterio.windows import Window

from ._realdata import peer_corpus

SIDECARS = (".ovr", ".msk", ".rpb")
PICTURES = (".png", ".jpg", ".jpeg")
#: Larger rasters are compared on a window (the S1 measurements are 16685 x 25788).
WHOLE = 600 * 600


def corpus_files() -> list[str]:
    root = peer_corpus()
    files = [p for d in ("raster", "jp2", "image") for p in sorted((root / d).rglob("*"))]
    return [str(p.relative_to(root)) for p in files if p.is_file() and p.suffix not in SIDECARS]


def zip_members() -> list[tuple[str, str]]:
    return [("zip/rasterio/N10W110.hgt.zip", "N10W110.hgt")] + [
        ("zip/rasterio/files.zip", name)
        for name in ("RGB.byte.tif", "float.tif", "float_nan.tif", "shade.tif")
    ]


def window_of(shape: tuple[int, int]) -> Window:
    height, width = shape
    if height * width <= WHOLE:
        return Window(0, 0, width, height)
    return Window(width // 2, height // 3, min(256, width), min(256, height))


def same_nodata(ours: float | None, theirs: float | None) -> bool:
    if ours is None or theirs is None:
        return ours is theirs
    return (math.isnan(ours) and math.isnan(theirs)) or ours == theirs


def compare(ds: xr.Dataset, src: rasterio.DatasetReader) -> None:
    """The engine's Dataset (opened with ``mask_and_scale=False``) against rasterio's reading."""
    bands = [v for v in ds.data_vars if v != "mask"]
    assert len(bands) == src.count
    assert (ds.sizes["y"], ds.sizes["x"]) == src.shape
    window = window_of(src.shape)
    rows, cols = window.toslices()
    for index, name in enumerate(bands, start=1):
        da = ds[name]
        expected = src.read(index, window=window)
        assert da.dtype == expected.dtype, (name, da.dtype, expected.dtype)
        np.testing.assert_array_equal(da[rows, cols].values, expected)
        assert same_nodata(da.rio.nodata, src.nodatavals[index - 1]), name
    gcps, gcp_crs = src.gcps
    georef = ds["spatial_ref"].attrs if "spatial_ref" in ds.coords else {}
    assert len((ds.rio.get_gcps() if "gcps" in georef else None) or []) == len(gcps)
    rpcs = json.loads(georef.get("rpcs", "{}"))
    assert rpcs == src.tags(ns="RPC")
    if gcps:
        assert ds.rio.crs == gcp_crs
    else:
        assert ds.rio.crs == src.crs
        if not (src.transform.is_identity and src.crs is None):
            assert ds.rio.transform() == src.transform
    if "mask" in ds:
        np.testing.assert_array_equal(
            ds["mask"][rows, cols].values, src.read_masks(1, window=window) != 0
        )


@pytest.mark.parametrize("path", corpus_files())
def test_local_file_equals_rasterio(path):
    href = str(peer_corpus() / path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rasterio's NotGeoreferencedWarning
        ds = xr.open_dataset(href, engine="stacasset", mask_and_scale=False)
        with rasterio.open(href) as src:
            if path.lower().endswith(PICTURES):
                (name,) = ds.data_vars
                ours, theirs = ds[name].values, src.read()
                assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
                if path.lower().endswith(".png"):
                    np.testing.assert_array_equal(ours, theirs)
                else:  # two JPEG decoders (see the module docstring)
                    diff = np.abs(ours.astype(int) - theirs.astype(int))
                    assert diff.mean() < 1.0 and np.percentile(diff, 99) <= 4
            else:
                compare(ds, src)


@pytest.mark.parametrize(("path", "member"), zip_members())
def test_zip_member_equals_rasterio_vsizip(path, member):
    href = str(peer_corpus() / path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = xr.open_dataset(href, engine="stacasset", member=member, mask_and_scale=False)
        with rasterio.open(f"/vsizip/{href}/{member}") as src:
            compare(ds, src)
