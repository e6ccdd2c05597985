"""SAFE products (the Copernicus archive's format) as DataTrees, read by range, without download.

A SAFE product is a folder ``<NAME>.SAFE`` holding a ``manifest.safe``, metadata XML and images;
the archive serves it zipped (CDSE's OData ``Products(<id>)/$value``). This reader opens one
where it is, through :mod:`._archive`: a zip, remote (its central directory and the members
touched are read by range, with the asset's credential, through redirects and per-host limits)
or local, or an unzipped folder on the local disk. Opening reads the metadata; image values are
read lazily by GDAL, by window.

The mission is told by the product name (the folder's: ``S2B_MSIL2A_...``), and each mission
has a module that builds its tree from the files: ``_s2`` for Sentinel-2 L1C/L2A (groups laid
out like the EOPF product, ``measurements/reflectance/r10m``...), ``_s1`` for Sentinel-1 GRD
and SLC (a group per polarisation, ``VV/measurements``, ``VV/conditions/gcp``...; calibrated on
request: ``calibration="sigma0"``, ``noise=True``, ``db=True``, which only Sentinel-1 takes).

``xr.open_datatree(x, engine="stacasset")`` reaches it for a zip whose directory shows
``<NAME>.SAFE/manifest.safe`` (the zip reader hands over) and for a local ``.SAFE`` folder;
``reader="safe"`` asks for it. ``open_dataset`` gives one group (``group="measurements/
reflectance/r10m"``), the root's metadata by default.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import xarray as xr

from ... import errors
from ..._resolve import Target
from ...credentials.broker import Broker
from .. import is_safe_folder
from .._groups import of_tree
from .._zipfile import Archive, ZipMember, locate
from . import _s1, _s2
from ._archive import FolderFiles, SafeFiles, ZipFiles

__all__ = [
    "OPTIONS", "open_dataset", "open_groups", "product_folder", "product_tree", "tree_of",
    "tree_options",
]  # fmt: skip

#: Product-name prefix -> the function building that mission's tree.
_MISSIONS: dict[str, Callable[..., xr.DataTree]] = {"S1": _s1.open_tree, "S2": _s2.open_tree}
#: The options a mission's tree takes (the zip reader hands them over); all but
#: ``mask_and_scale`` are Sentinel-1's radiometry.
OPTIONS = ("mask_and_scale", "calibration", "noise", "db")


def product_folder(names: list[str]) -> str | None:
    """The ``<NAME>.SAFE`` folder whose ``manifest.safe`` is among ``names``, or None."""
    found = sorted(
        n.rsplit("/", 1)[0] for n in names
        if n.count("/") == 1 and n.lower().endswith(".safe/manifest.safe")
    )  # fmt: skip
    return found[0] if found else None


def open_groups(target: Target, *, broker: Broker, **options: Any) -> dict[str, xr.Dataset]:
    """The groups of the product at ``target`` (a zip or a local ``.SAFE`` folder), as
    :func:`xarray.open_groups` gives them; ``open_datatree`` makes the tree of them."""
    return of_tree(product_tree(target, broker, **options))


def product_tree(target: Target, broker: Broker, **options: Any) -> xr.DataTree:
    """The product at ``target`` (a zip or a local ``.SAFE`` folder) as a tree."""
    if is_safe_folder(target.href):
        return tree_of(FolderFiles(target), **tree_options(options))
    archive, members = locate(target, broker)
    return zip_tree(target, archive, members, **tree_options(options))


def tree_options(options: dict[str, Any]) -> dict[str, Any]:
    """Those of a reader's ``options`` that a mission's tree takes (:data:`OPTIONS`, not None)."""
    return {k: v for k, v in options.items() if k in OPTIONS and v is not None}


def zip_tree(
    target: Target, archive: Archive, members: list[ZipMember], **options: Any
) -> xr.DataTree:
    """The product in a located zip as a tree (``options``: :data:`OPTIONS`)."""
    return tree_of(ZipFiles(target, archive, tuple(members)), **options)


def tree_of(files: SafeFiles, **options: Any) -> xr.DataTree:
    """The tree of the SAFE product in ``files``, built by its mission's module."""
    names = files.names()
    product = product_folder(names)
    if product is None:
        raise errors.UnsupportedFormatError(
            f"{files.where} is not a SAFE product: no <NAME>.SAFE/manifest.safe among its "
            f"{len(names)} files. Open it with reader='zip' (member=...) instead."
        )
    mission = product.rsplit("/", 1)[-1][:2].upper()
    build = _MISSIONS.get(mission)
    if build is None:
        raise errors.UnsupportedFormatError(
            f"{product} in {files.where} is a SAFE product of a mission whose tree is not read "
            f"yet (missions read: {', '.join(sorted(_MISSIONS))}); open its members with "
            "reader='zip', member='manifest:<pattern>'."
        )
    radiometry = sorted(k for k in options if k != "mask_and_scale")
    if radiometry and mission != "S1":
        raise errors.ResolveError(
            f"{', '.join(radiometry)}= calibrate Sentinel-1 products; {product} in "
            f"{files.where} is not one: open it without them"
        )
    return build(files, product, **options)


def open_dataset(
    target: Target, *, broker: Broker, group: str | None = None, **options: Any
) -> xr.Dataset:
    """One group of the product's tree (``group="measurements/reflectance/r10m"``), the root
    (the product metadata) by default."""
    tree = product_tree(target, broker, **options)
    path = (group or "/").strip("/") or "/"
    if path != "/" and path not in tree.groups and f"/{path}" not in tree.groups:
        raise errors.AssetKeyError(
            f"group={group!r} is not a group of {target.label}; its groups: "
            + ", ".join(g for g in tree.groups if g != "/")
        )
    return tree[path].to_dataset()
