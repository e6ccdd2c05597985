"""The groups of a hierarchical asset as xarray's ``open_groups`` gives them, and as a tree.

The readers of formats with groups (Zarr, netCDF/HDF5) open them as a dict from each group's
path to its Dataset, the form of :func:`xarray.open_groups`: the keys are absolute ("/" for the
group opened, "/a", "/a/b" under it), whatever group of the file that is. The DataTree is made
from that dict, never opened a second way, so both read the same bytes; and groups that do not
nest as a tree (a child whose dimension sizes differ from its parent's) still open as a dict.
"""

from __future__ import annotations

from collections.abc import Mapping

import xarray as xr


def rooted(groups: Mapping[str, xr.Dataset]) -> dict[str, xr.Dataset]:
    """``groups`` keyed "/", "/a", "/a/b": xarray keys the groups under ``group=`` relative to
    it ("." and "a"), and those of a whole file absolutely."""
    out = {}
    for key, ds in groups.items():
        path = key.strip("/")
        out["/" if path in ("", ".") else f"/{path}"] = ds
    return out


def of_tree(tree: xr.DataTree) -> dict[str, xr.Dataset]:
    """The groups of an already built tree (xarray-eopf builds nothing else), each with only
    its own coordinates, as ``open_groups`` gives them."""
    return {node.path: node.to_dataset(inherit=False) for node in tree.subtree}


def as_tree(groups: Mapping[str, xr.Dataset]) -> xr.DataTree:
    """The tree of ``groups``; closing a node closes the files its Dataset holds.

    Raises xarray's ``ValueError`` when the groups do not nest (see the module docstring).
    """
    try:
        tree = xr.DataTree.from_dict(dict(groups))
    except ValueError:
        for ds in groups.values():
            ds.close()
        raise
    for path, ds in groups.items():
        tree[path].set_close(ds.close)
    return tree
