"""Every Zarr store of the peer corpus through the engine, against xarray/zarr reading it itself.

The stores were written by other projects' test suites (``zarr/`` of the peer corpus): Zarr v2
consolidated and not, Zarr v3 without consolidated metadata, a v2 pyramid of consolidated
groups, and titiler-eopf's 2025 GeoZarr (a tile-matrix-set multiscales group; 6 chunk blobs of
it are absent from the snapshot, and zarr reads them as fill values: so must we).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr
import zarr

from ._realdata import assert_same, peer_corpus

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")

EOPF = "zarr/titiler-eopf/S2A_MSIL2A_20250704T094051_N0511_R036_T33SWB_20250704T115824.zarr"
R60M = "measurements/reflectance/r60m"
STORES = sorted(
    p.relative_to(peer_corpus()).as_posix() for p in (peer_corpus() / "zarr").glob("*/*.zarr")
)
#: The Zarr reader's defaults (durations stay numbers; grid mappings become coordinates).
NATIVE = {"decode_timedelta": False, "decode_coords": "all"}


def test_the_eopf_geozarr_multiscales_group_opens_its_levels_as_zarr_reads_them():
    store = peer_corpus() / EOPF
    href = f"{store}/{R60M}"
    levels = {}
    for overview, level in ((None, "0"), (0, "1"), (1, "2")):
        ds = xr.open_dataset(href, engine="stacasset", overview_level=overview)
        assert ds.attrs["multiscales_level"] == level
        assert ds.attrs["multiscales_levels"] == ["0", "1", "2"]
        theirs = xr.open_dataset(store, engine="zarr", group=f"{R60M}/{level}", **NATIVE)
        if level != "0":  # its arrays do not name the level's grid mapping: ours links it
            assert "spatial_ref" in theirs.data_vars and theirs.rio.crs is None
            theirs = theirs.set_coords("spatial_ref")
        assert_same(ds, theirs, level, ("multiscales",))
        raw = zarr.open_array(store / R60M / level / "b02", mode="r")[:]
        np.testing.assert_array_equal(
            xr.open_dataset(href, engine="stacasset", group=level, mask_and_scale=False)["b02"],
            raw,
        )
        assert ds.rio.crs.to_epsg() == 32633
        levels[level] = ds
    assert (raw > 0).any()  # level 2's blobs are there; 0 and 1 read as fill values
    assert not np.asarray(levels["0"]["b02"]).any()  # its blob is absent: zarr's fill value
    # level 0 sits where its tile matrix says (the coarser levels' own x/y, kept as written,
    # are pixel corners: the writer's, not ours to move)
    assert tuple(levels["0"].rio.transform())[:6] == (60.0, 0.0, 499980.0, 0.0, -60.0, 4200000.0)
    tree = xr.open_datatree(href, engine="stacasset")
    assert set(tree.children) == {"0", "1", "2"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        product = xr.open_datatree(store, engine="stacasset")
    assert f"/{R60M}/2" in product.groups


@pytest.mark.parametrize("name", [s for s in STORES if s != EOPF], ids=lambda n: n.split("/")[-1])
def test_each_store_opens_as_xarray_reads_it(name):
    store = peer_corpus() / name
    assert_same(
        xr.open_dataset(store, engine="stacasset"),
        xr.open_dataset(store, engine="zarr", **NATIVE),
        name,
    )
    tree = xr.open_datatree(store, engine="stacasset")
    expected = xr.open_datatree(store, engine="zarr", **NATIVE)
    assert sorted(tree.groups) == sorted(expected.groups)
    for group in expected.groups:
        assert_same(tree[group].to_dataset(), expected[group].to_dataset(), f"{name}:{group}")
