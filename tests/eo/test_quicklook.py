"""Quicklooks (``xstac_access.eo.quicklook``): what is read, what is shown, what is saved.

Byte counts come from the local file server; expected limits are computed here, independently,
from the replica's files with rasterio. The three seed-like figures (Earth Search RGB, Biomass
four polarisations, Sentinel-1 OCN wind speed) are also written to /tmp/quicklooks for a look.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import dask.array as dask_array
import matplotlib
import numpy as np
import pytest
import rasterio
import xarray as xr
from conftest import replica_item
from PIL import Image

import xstac_access  # noqa: F401  (registers the engine's accessor)

SEED_FIGURES = Path("/tmp/quicklooks")
DB = np.linspace(-30.0, 0.0, 3003)  # a known field: dB values whose percentiles are exact
DB_LIMITS = tuple(np.percentile(DB, (2, 98)))


def served(world, href: str) -> tuple[str, Path]:
    """The file server's path of ``href`` and the replica file behind it."""
    path = href.removeprefix(world.endpoints.http)
    return path, world.replica.files_root / path.lstrip("/")


def seed_figure(name: str) -> Path:
    SEED_FIGURES.mkdir(exist_ok=True)
    return SEED_FIGURES / name


def png_pixels(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGBA"))


def assert_png_of(ql, path: Path) -> np.ndarray:
    """The PNG exists, has the figure's pixel size, and is a picture rather than a blank."""
    pixels = png_pixels(path)
    width, height = np.round(ql.figure.get_size_inches() * ql.figure.dpi).astype(int)
    assert pixels.shape == (height, width, 4)
    assert len(np.unique(pixels.reshape(-1, 4), axis=0)) > 200  # many colours, not a blank
    return pixels


@pytest.fixture
def fresh_visual(local_world):
    """The Earth Search item with its TCI copied to a URL no GDAL cache of this process has seen
    (so the bytes counted are the bytes this test moves): (item, served path, local file)."""
    item = replica_item(local_world, "sentinel-2-l2a")
    _, original = served(local_world, item["assets"]["visual"]["href"])
    local = local_world.replica.files_root / "_tests_quicklook" / f"{uuid.uuid4().hex}.tif"
    local.parent.mkdir(exist_ok=True)
    shutil.copyfile(original, local)
    path = f"/_tests_quicklook/{local.name}"
    item["assets"]["visual"]["href"] = local_world.endpoints.http + path
    yield item, path, local
    local.unlink()


def test_cog_rgb_is_read_from_an_overview_with_a_joint_stretch(fresh_visual, files):
    item, path, local = fresh_visual
    ds = xr.open_dataset(item, engine="stacasset", asset="visual")
    files.reset()
    ql = ds.eo.quicklook(max_size=400, path=seed_figure("earthsearch_rgb.png"))
    quicklook_bytes = files.bytes_for(path)
    files.reset()
    ds.load()
    full_bytes = files.bytes_for(path)
    assert 0 < quicklook_bytes * 4 < full_bytes, (quicklook_bytes, full_bytes)

    with rasterio.open(local, overview_level=1) as src:  # 1830 px: factor 4 is >= 400, 8 is not
        overview = src.read().astype("float64")
    assert ql.kind == "rgb" and ql.overview_level == 1 and ql.shape == overview.shape[1:]
    valid = (overview != 0).all(axis=0)  # 0 is the TCI's nodata
    expected = tuple(np.percentile(overview[:, valid], (2, 98)))
    assert ql.limits == dict.fromkeys(["red", "green", "blue"], pytest.approx(expected))
    shown = ql.axes[0].images[0].get_array()
    assert shown.shape == (*overview.shape[1:], 4)
    assert shown[..., :3].min() == 0.0 and shown[..., :3].max() == 1.0
    clipped = (shown[..., :3][valid] == 1.0).mean()
    assert 0.005 < clipped < 0.05  # the 98th percentile clips about 2 % (ties included)
    assert_png_of(ql, SEED_FIGURES / "earthsearch_rgb.png")


def test_per_band_stretch_gives_each_band_its_own_limits(local_world):
    item = replica_item(local_world, "sentinel-2-l2a")
    ds = xr.open_dataset(item, engine="stacasset", asset="visual")
    ql = ds.eo.quicklook(max_size=400, per_band=True)
    _, local = served(local_world, item["assets"]["visual"]["href"])
    with rasterio.open(local, overview_level=1) as src:
        overview = src.read().astype("float64")
    valid = (overview != 0).all(axis=0)
    for band, name in zip(overview, ("red", "green", "blue"), strict=True):
        assert ql.limits[name] == pytest.approx(tuple(np.percentile(band[valid], (2, 98))))
    assert len(set(ql.limits.values())) == 3


def test_biomass_four_polarisations_side_by_side_in_db(local_world):
    item = replica_item(local_world, "BiomassLevel1a")
    ds = xr.open_dataset(
        item,
        engine="stacasset",
        asset="enclosure_i_abs_tiff",
        credentials={"maap": local_world.credentials()["maap"]},
    )
    ql = ds.eo.quicklook(path=seed_figure("biomass_sar.png"))
    assert ql.kind == "sar" and ql.overview_level is None
    assert [ax.get_title() for ax in ql.axes] == ["HH", "HV", "VH", "VV"]
    assert len(ql.figure.axes) == 8  # four panels, one colour bar each
    assert [cb.get_ylabel() for cb in ql.figure.axes[4:]] == ["dB"] * 4
    _, local = served(local_world, item["assets"]["enclosure_i_abs_tiff"]["href"])
    with rasterio.open(local) as src:  # amplitude ("_i_abs"): 20 log10
        amplitude = src.read().astype("float64")
    for band, pol in zip(amplitude, ("HH", "HV", "VH", "VV"), strict=True):
        with np.errstate(divide="ignore"):
            db = 20 * np.log10(band)
        expected = np.percentile(db[np.isfinite(db)], (2, 98))
        assert ql.limits[pol] == pytest.approx(tuple(expected), abs=1e-4)
    pixels = assert_png_of(ql, SEED_FIGURES / "biomass_sar.png")
    assert pixels.shape[1] > 2.5 * pixels.shape[0]  # four panels in a row


@pytest.mark.parametrize(
    ("values", "attrs"),
    [
        (10 ** (DB / 20), {"long_name": "backscatter amplitude"}),
        (10 ** (DB / 20) * np.exp(0.7j), {}),  # complex: |z|, then amplitude
        (10 ** (DB / 10), {"long_name": "sigma0"}),
        (10 ** (DB / 10), {}),  # float without a word: intensity
        (DB, {"units": "dB"}),  # already dB: shown as it is
    ],
    ids=["amplitude", "complex", "intensity", "float-default", "already-db"],
)
def test_db_limits_of_a_known_field(values, attrs):
    da = xr.DataArray(values.reshape(3, 1001), dims=("y", "x"), name="VV", attrs=attrs)
    ql = da.eo.quicklook()
    assert ql.kind == "sar"
    assert ql.limits["VV"] == pytest.approx(DB_LIMITS, abs=1e-9)


def test_db_false_and_forced_formulas():
    amplitude = xr.DataArray((10 ** (DB / 20)).reshape(3, 1001), dims=("y", "x"), name="HH")
    linear = amplitude.eo.quicklook(db=False).limits["HH"]
    assert linear == pytest.approx(tuple(np.percentile(10 ** (DB / 20), (2, 98))))
    forced = amplitude.eo.quicklook(db="intensity").limits["HH"]
    assert forced == pytest.approx(tuple(x / 2 for x in DB_LIMITS))


def test_swath_wind_speed_on_its_latitude_longitude(local_world):
    item = replica_item(local_world, "sentinel-1-l2-ocn")
    tree = xr.open_datatree(item, engine="stacasset")
    owi = next(n for n in tree.subtree if n.path.startswith("/owi/") and n.name == "measurements")
    ds = owi.to_dataset()
    ql = ds.eo.quicklook(bands="wind_speed", path=seed_figure("s1_ocn_wind_speed.png"))
    speed = ds["wind_speed"].values
    assert ql.kind == "single" and ql.shape == speed.shape
    assert ql.limits["wind_speed"] == pytest.approx(
        tuple(np.percentile(speed[np.isfinite(speed)], (2, 98)))
    )
    (mesh,) = ql.axes[0].collections  # pcolormesh on the swath's own coordinates
    assert isinstance(mesh, matplotlib.collections.QuadMesh)
    lon, lat = ds["longitude"].values, ds["latitude"].values
    assert ql.axes[0].get_xlim() == pytest.approx((lon.min(), lon.max()), abs=0.05)
    assert ql.axes[0].get_ylim() == pytest.approx((lat.min(), lat.max()), abs=0.05)
    assert_png_of(ql, SEED_FIGURES / "s1_ocn_wind_speed.png")


def test_a_datatree_shows_its_measurements_group(local_world):
    item = replica_item(local_world, "sentinel-1-l2-ocn")
    ql = xr.open_datatree(item, engine="stacasset").eo.quicklook()
    # /osw/.../measurements is 1 x 1, /rvl/... is smaller: the OWI wind field is chosen
    assert [ax.get_title() for ax in ql.axes] == ["wind_direction", "wind_speed"]


def test_a_datatree_without_a_picture_is_a_clear_error():
    tree = xr.DataTree.from_dict({"/a": xr.Dataset({"t": ("time", [1.0, 2.0])})})
    with pytest.raises(ValueError, match=r"no group .* 2-D variable .*groups: /, /a"):
        tree.eo.quicklook()


def test_a_large_lazy_array_is_strided_to_max_size():
    data = dask_array.random.random((2000, 1500), chunks=500)
    ql = xr.DataArray(data, dims=("y", "x"), name="v").eo.quicklook(max_size=500)
    assert ql.shape == (500, 375) and ql.overview_level is None


def test_no_data_is_transparent():
    values = np.arange(40.0 * 30).reshape(40, 30)
    values[:10] = np.nan
    single = xr.DataArray(values, dims=("y", "x"), name="v").eo.quicklook()
    image = single.axes[0].images[0]
    alpha = image.to_rgba(image.get_array())[..., 3]
    assert (alpha[:10] == 0).all() and (alpha[10:] == 1).all()

    rgb = xr.Dataset({c: (("y", "x"), values) for c in ("red", "green", "blue")})
    rgb["green"][20, 5] = np.nan  # one band missing is no data too
    shown = rgb.eo.quicklook().axes[0].images[0].get_array()
    assert (shown[:10, :, 3] == 0).all() and shown[20, 5, 3] == 0
    assert shown[10:20, :, 3].all() and shown[21:, :, 3].all()


def test_saving_leaks_no_pyplot_figure_and_ax_is_honoured(tmp_path):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    da = xr.DataArray(np.random.default_rng(0).random((50, 80)), dims=("y", "x"), name="v")
    da.eo.quicklook(path=tmp_path / "q.png")
    assert plt.get_fignums() == before
    fig, ax = plt.subplots()
    try:
        ql = da.eo.quicklook(ax=ax)
        assert ql.figure is fig and ql.axes == [ax] and ax.images
    finally:
        plt.close(fig)


def test_an_axes_of_a_subfigure_is_saved_through_its_figure(tmp_path):
    from matplotlib.figure import Figure

    figure = Figure()
    ax = figure.subfigures(1, 2)[1].subplots()
    da = xr.DataArray(np.random.default_rng(0).random((20, 30)), dims=("y", "x"), name="v")
    ql = da.eo.quicklook(ax=ax, path=tmp_path / "q.png")
    assert ql.figure is figure and ql.path.stat().st_size > 0 and ql._repr_png_()


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int16"])
def test_integer_stretch_limits_are_numpys_percentiles_from_counts(dtype):
    """8- and 16-bit pictures get their stretch limits from a count per value (no sort of the
    5 M values of an RGB overview): the numbers np.percentile gives on them as float64 (which
    the picture used before), to the last bit."""
    from xstac_access.eo._picture import _counted_percentiles

    rng = np.random.default_rng(3)
    low = -40 if dtype == "int16" else 0
    for size in (1, 2, 9, 4_097):
        values = rng.integers(low, 3_000 if dtype != "uint8" else 256, size).astype(dtype)
        for stretch in ((2.0, 98.0), (0.0, 100.0), (50.0, 50.0), (1.5, 99.5)):
            expected = tuple(float(v) for v in np.percentile(values.astype("float64"), stretch))
            assert _counted_percentiles(values, stretch) == expected, (size, stretch)
    extremes = np.array([np.iinfo(dtype).min, 7, np.iinfo(dtype).max], dtype=dtype)  # full span
    # (np.percentile on the int16 values themselves overflows: -34078.44, below int16's range)
    expected = tuple(float(v) for v in np.percentile(extremes.astype("float64"), (2.0, 98.0)))
    assert _counted_percentiles(extremes, (2.0, 98.0)) == expected
