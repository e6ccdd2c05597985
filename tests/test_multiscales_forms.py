"""GeoZarr multiscales groups in the tile-matrix-set and list-of-datasets forms (the layout form
is tests/test_geozarr.py): a level opens instead of an empty Dataset, finest first, selectable
by ``overview_level`` and ``group=``, and placed by its tile matrix when its arrays carry no
coordinates. The stores are written here; titiler-eopf's real one is in tests/realdata."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr
import zarr

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SIZES = {"0": 64, "1": 32, "2": 16}  # level: side in pixels
ORIGIN, CELL = (300000.0, 5000000.0), 10.0


def _tile_matrix_set() -> dict:
    matrices = [
        {"id": level, "cellSize": CELL * 64 / side, "pointOfOrigin": list(ORIGIN),
         "tileWidth": 16, "tileHeight": 16, "matrixWidth": side // 16, "matrixHeight": side // 16}
        for level, side in SIZES.items()
    ]  # fmt: skip
    return {"id": "Native", "crs": "http://www.opengis.net/def/crs/EPSG/0/32631",
            "tileMatrices": matrices}  # fmt: skip


def _write(path, attrs: dict, names: dict[str, str]) -> dict[str, np.ndarray]:
    """A multiscales group at ``path/pyramid`` whose levels (named ``names[level]``) hold one
    (y, x) array ``b04`` without coordinates; returns each level's values by level name."""
    root = zarr.open_group(path, mode="w", zarr_format=3)
    group = root.create_group("pyramid", attributes={"multiscales": attrs})
    values = {}
    for level, side in SIZES.items():
        data = np.arange(side * side, dtype="uint16").reshape(side, side) + int(level) * 1000
        array = group.create_group(names[level]).create_array(
            "b04", shape=data.shape, dtype="uint16", chunks=(16, 16), dimension_names=["y", "x"]
        )
        array[:] = data
        values[names[level]] = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zarr.consolidate_metadata(path)
    return values


def test_tile_matrix_set_levels_open_finest_first_and_are_placed_by_their_matrix(tmp_path):
    values = _write(tmp_path / "s.zarr", {"tile_matrix_set": _tile_matrix_set()}, dict(
        zip(SIZES, SIZES, strict=True)))  # fmt: skip
    href = str(tmp_path / "s.zarr" / "pyramid")
    finest = xr.open_dataset(href, engine="stacasset")
    assert finest.attrs["multiscales_level"] == "0"
    assert finest.attrs["multiscales_levels"] == ["0", "1", "2"]
    np.testing.assert_array_equal(finest["b04"].values, values["0"])
    assert finest.rio.crs.to_epsg() == 32631
    assert tuple(finest.rio.transform())[:6] == (CELL, 0.0, ORIGIN[0], 0.0, -CELL, ORIGIN[1])
    coarser = xr.open_dataset(href, engine="stacasset", overview_level=1)
    assert coarser.attrs["multiscales_level"] == "2" and coarser.sizes == {"y": 16, "x": 16}
    assert coarser.rio.transform().a == CELL * 4 and coarser.rio.bounds() == finest.rio.bounds()
    np.testing.assert_array_equal(coarser["b04"].values, values["2"])
    named = xr.open_dataset(href, engine="stacasset", group="1")
    np.testing.assert_array_equal(named["b04"].values, values["1"])
    tree = xr.open_datatree(href, engine="stacasset")
    assert set(tree.children) == {"0", "1", "2"}


@pytest.mark.parametrize("coarsest_first", [True, False], ids=["geozarr-0.4", "ome-ngff"])
def test_list_of_datasets_levels_are_ordered_by_size_whatever_the_writers_order(
    tmp_path, coarsest_first
):
    names = {"0": "full", "1": "half", "2": "quarter"}
    paths = list(names.values())[::-1] if coarsest_first else list(names.values())
    attrs = [{"name": "b04", "datasets": [{"path": p} for p in paths], "type": "reduce"}]
    values = _write(tmp_path / "l.zarr", attrs, names)
    href = str(tmp_path / "l.zarr" / "pyramid")
    finest = xr.open_dataset(href, engine="stacasset")
    assert finest.attrs["multiscales_levels"] == ["full", "half", "quarter"]
    np.testing.assert_array_equal(finest["b04"].values, values["full"])
    last = xr.open_dataset(href, engine="stacasset", overview_level=1)
    np.testing.assert_array_equal(last["b04"].values, values["quarter"])
    assert last.rio.crs is None  # nothing in this form says where the pixels are
