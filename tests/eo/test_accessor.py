"""The ``.eo`` accessor: registered on the three xarray types, its methods the functions' own."""

from __future__ import annotations

import inspect

import pytest
import xarray as xr

import xstac_access  # noqa: F401  (registers .eo)
from xstac_access.eo import footprint, geocode, grid, quicklook
from xstac_access.eo.accessor import _EoAccessor, _RasterAccessor


def test_registered_on_dataset_dataarray_and_datatree():
    ds = xr.Dataset({"a": (("y", "x"), [[1.0]])})
    assert isinstance(ds.eo, _RasterAccessor) and isinstance(ds["a"].eo, _RasterAccessor)
    tree = xr.DataTree(ds)
    assert type(tree.eo) is _EoAccessor and not hasattr(tree.eo, "grid")


@pytest.mark.parametrize(
    ("method", "function"),
    [
        (_RasterAccessor.grid, grid.grid),
        (_RasterAccessor.geocode, geocode.geocode),
        (_EoAccessor.quicklook, quicklook.quicklook),
        (_EoAccessor.explore, footprint.explore),
    ],
)
def test_methods_take_exactly_the_functions_parameters(method, function):
    ours = list(inspect.signature(method).parameters.values())[1:]  # without self
    theirs = list(inspect.signature(function).parameters.values())[1:]  # without obj
    assert [(p.name, p.kind, p.default) for p in ours] == [
        (p.name, p.kind, p.default) for p in theirs
    ]
