"""Every netCDF/HDF5 file of the peer corpus through the engine, against xarray reading it itself.

The files were written by other projects' test suites (``netcdf/`` of the peer corpus). Each is
opened with ``engine="stacasset"`` and with xarray's own engine (h5netcdf for HDF5, scipy for
netCDF3), as a Dataset and as a tree: the same variables, shapes, dtypes, values and attrs.
"""

from __future__ import annotations

import warnings

import pytest
import xarray as xr

from xstac_access import errors

from ._realdata import assert_same, peer_corpus

NETCDF = sorted(
    p.relative_to(peer_corpus()).as_posix()
    for p in (peer_corpus() / "netcdf").rglob("*")
    if p.suffix in (".nc", ".h5")
)
CRM032 = "netcdf/netcdf4-python/CRM032_test1.nc"


def _engine(path) -> str:
    return "h5netcdf" if path.read_bytes()[:4] == b"\x89HDF" else "scipy"


def test_undecodable_time_units_open_undecoded_with_a_warning():
    path = peer_corpus() / CRM032
    with pytest.raises(ValueError, match="unable to decode time units"):
        xr.open_dataset(path, engine="scipy")  # xarray alone refuses the file
    theirs = xr.open_dataset(path, engine="scipy", decode_times=False)
    with pytest.warns(UserWarning, match=r"time units could not be decoded.*decode_times=False"):
        ours = xr.open_dataset(path, engine="stacasset")
    xr.testing.assert_identical(ours.drop_attrs(), theirs.drop_attrs())
    with pytest.warns(UserWarning, match="time units could not be decoded"):
        tree = xr.open_datatree(path, engine="stacasset")
    xr.testing.assert_identical(tree.to_dataset().drop_attrs(), theirs.drop_attrs())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # asked for: no warning
        assert xr.open_dataset(path, engine="stacasset", decode_times=False)["time"].dtype == "i4"
    with pytest.raises(errors.FormatError, match=r"CRM032_test1\.nc.*unable to decode time units"):
        xr.open_dataset(path, engine="stacasset", decode_times=True)  # asked for: refused


@pytest.mark.parametrize("name", NETCDF, ids=lambda n: n.split("/", 1)[1][:40])
def test_each_file_opens_as_xarray_reads_it(name):
    path = peer_corpus() / name
    engine = _engine(path)
    options = {"phony_dims": "access"} if engine == "h5netcdf" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # CRM032's undecodable times: tested above
        undecoded = {"decode_times": False} if name == CRM032 else {}
        theirs = xr.open_dataset(path, engine=engine, **options, **undecoded)
        assert_same(xr.open_dataset(path, engine="stacasset"), theirs, name)
        tree = xr.open_datatree(path, engine="stacasset")
    if engine == "scipy":
        assert tree.groups == ("/",)
        assert_same(tree.to_dataset(), theirs, name)
        return
    expected = xr.open_datatree(path, engine=engine, **options)
    assert sorted(tree.groups) == sorted(expected.groups)
    for group in expected.groups:
        assert_same(tree[group].to_dataset(), expected[group].to_dataset(), f"{name}:{group}")


def test_s5p_nested_groups_with_colons_open_as_a_tree_and_one_group_alone():
    (path,) = (peer_corpus() / "netcdf" / "sentinel5p").glob("S5P_OFFL_L2__NO2*.nc")
    tree = xr.open_datatree(path, engine="stacasset")
    colons = [g for g in tree.groups if ":" in g.rpartition("/")[2]]
    assert len(colons) > 10 and max(g.count("/") for g in tree.groups) >= 5
    for group in (colons[-1], "/METADATA/QA_STATISTICS"):
        ds = xr.open_dataset(path, engine="stacasset", group=group)
        theirs = xr.open_dataset(path, engine="h5netcdf", group=group, phony_dims="access")
        assert_same(ds, theirs, group)
        assert ds.attrs if ":" in group else len(ds.data_vars) == 12  # data stripped elsewhere
