"""The layers a quicklook can show: which group of a DataTree, which 2-D variables (split
along one extra dimension), and which of them make an RGB, a SAR or a single-band picture.

See *Layers*, *Kinds* and *DataTree* in :mod:`xstac_access.eo.quicklook`.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import xarray as xr

from .._geo import lonlat_coords

Kind = Literal["auto", "rgb", "sar", "single", "palette"]
#: Kinds drawn as colours (RGBA), without a colour map or bar.
COLOURED = ("rgb", "palette")

#: More panels than this is not a quick look (pass ``bands=``).
MAX_PANELS = 8
_POLARISATIONS = frozenset({"hh", "hv", "vh", "vv", "rh", "rv", "lh", "lv"})


@dataclass(frozen=True)
class Layer:
    """One 2-D picture layer: its name, its lazy array and what it is called in the catalogue."""

    name: str
    array: xr.DataArray

    @property
    def keys(self) -> set[str]:
        """Names it answers to: its own, its ``common_name``, and GDAL's colour interpretation
        (red, green, blue, alpha, palette...) of the band it was read from."""
        attrs = self.array.attrs
        words = [attrs.get("common_name"), attrs.get("color_interpretation")]
        return {self.name.lower(), *(w.lower() for w in words if isinstance(w, str))}

    @property
    def is_alpha(self) -> bool:
        """An alpha band: transparency of the picture, never a picture of its own."""
        return "alpha" in self.keys

    @property
    def polarisation(self) -> str | None:
        """From the layer's name (``vv``, ``sigma0_vh``) or its ``polarisation`` attribute (a
        Sentinel-1 SAFE's ``grd``, ``sigma0``)."""
        words = set(re.split(r"[^a-z0-9]+", self.name.lower()))
        words.add(str(self.array.attrs.get("polarisation", "")).lower())
        found = sorted(words & _POLARISATIONS)
        return found[0].upper() if found else None


def tree_node(tree: xr.DataTree) -> xr.DataTree:
    """The group of ``tree`` a quicklook shows (see *DataTree* in the module docstring)."""
    best, best_key = None, None
    for order, node in enumerate(tree.subtree):
        size = max((grid_size(da) for da in node.to_dataset().data_vars.values()), default=0)
        key = (node.name == "measurements", size, -order)
        if size and (best_key is None or key > best_key):
            best, best_key = node, key
    if best is None:
        groups = ", ".join(node.path for node in tree.subtree)
        raise ValueError(
            f"no group of this DataTree holds a 2-D variable to picture (groups: {groups}); "
            "pick one, e.g. tree['/group'].to_dataset().eo.quicklook()"
        )
    return best


def polarisation_of(ds: xr.Dataset) -> str | None:
    """The one polarisation all variables of ``ds`` say they are (their ``polarisation``
    attribute, as in a Sentinel-1 SAFE's ``VV/measurements``), or None."""
    found = {str(da.attrs.get("polarisation", "")).upper() for da in ds.data_vars.values()}
    return found.pop() if len(found) == 1 and found <= {p.upper() for p in _POLARISATIONS} else None


def with_polarisations(tree: xr.DataTree, node: xr.DataTree) -> xr.Dataset:
    """``node``'s Dataset, joined by the other polarisations of the same image when ``node`` is
    a ``measurements`` group of one polarisation: the ``measurements`` groups of the same grid
    under a parent named alike but for the polarisation (``VH`` beside ``VV``, ``IW1_VH`` beside
    ``IW1_VV``), co-polarised first, each variable renamed ``<name>_<POL>``."""
    ds = node.to_dataset()
    pol = polarisation_of(ds)
    if node.name != "measurements" or node.parent is None or pol is None:
        return ds
    stem = str(node.parent.name).removesuffix(pol)
    found: dict[str, xr.Dataset] = {}
    for other in tree.subtree:
        if other.name != "measurements" or other.parent is None:
            continue
        theirs = other.to_dataset()
        their_pol = polarisation_of(theirs)
        if their_pol and str(other.parent.name) == stem + their_pol and theirs.sizes == ds.sizes:
            found.setdefault(their_pol, theirs)
    if len(found) < 2:
        return ds
    order = sorted(found, key=lambda p: (p[0] != p[1], p))  # HH/VV before HV/VH
    joined = [found[p].rename({n: f"{n}_{p}" for n in found[p].data_vars}) for p in order]
    return xr.merge(joined, compat="override", join="exact", combine_attrs="override")


def dataset_of(obj: xr.Dataset | xr.DataArray | xr.DataTree) -> xr.Dataset:
    """The Dataset a quicklook of ``obj`` shows: a DataTree's chosen group (with its other
    polarisations), a DataArray alone."""
    if isinstance(obj, xr.DataTree):
        return with_polarisations(obj, tree_node(obj))
    if isinstance(obj, xr.DataArray):
        return obj.to_dataset(name=obj.name if obj.name is not None else "data")
    if isinstance(obj, xr.Dataset):
        return obj
    raise TypeError(f"quicklook needs an xarray Dataset, DataArray or DataTree, not {type(obj)}")


def grid_dims(da: xr.DataArray) -> tuple[Hashable, Hashable] | None:
    """The picture's (rows, cols) dims of ``da`` (see *Layers*), or None if it has no grid."""
    found = lonlat_coords(da)
    if found is not None and set(found[0].dims) <= set(da.dims):
        dims = found[0].dims
    elif "y" in da.dims and "x" in da.dims:
        dims = ("y", "x")
    else:
        longest = sorted(da.dims, key=lambda d: -da.sizes[d])[:2]
        dims = tuple(d for d in da.dims if d in longest)
    if len(dims) != 2 or min(da.sizes[d] for d in dims) < 2:
        return None
    return dims[0], dims[1]


def grid_size(da: xr.DataArray) -> int:
    dims = grid_dims(da)
    if dims is None or da.ndim > 3:
        return 0
    return da.sizes[dims[0]] * da.sizes[dims[1]]


def layers_of(ds: xr.Dataset) -> list[Layer]:
    """Every 2-D layer of ``ds`` (see *Layers*), in variable order; a validity mask
    (:func:`mask_of`) is not one."""
    layers = []
    for name, da in ds.data_vars.items():
        if "gdal_mask" in da.attrs:
            continue
        dims = grid_dims(da)
        if dims is None:
            continue
        extra = [d for d in da.dims if d not in dims]
        if not extra:
            layers.append(Layer(str(name), da.transpose(*dims)))
        elif len(extra) == 1:
            dim = extra[0]
            labels = ds[dim].values if dim in ds.coords else [None] * da.sizes[dim]
            for i, label in enumerate(labels):
                title = str(label) if isinstance(label, str) else f"{name}[{i}]"
                layers.append(Layer(title, da.isel({dim: i}).transpose(*dims)))
    return layers


def mask_of(ds: xr.Dataset, layer: Layer) -> Layer | None:
    """The validity mask (the GeoTIFF reader's ``mask``: GDAL's per-dataset mask, True where
    valid) on the grid of ``layer``, which a picture uses as transparency, or None."""
    for name, da in ds.data_vars.items():
        if "gdal_mask" in da.attrs and da.sizes == layer.array.sizes:
            return Layer(str(name), da.transpose(*layer.array.dims))
    return None


def choose(kind: Kind, layers: list[Layer], bands: Sequence[str] | None) -> tuple[str, list[Layer]]:
    """The kind of picture and the layers it shows (RGB: red, green, blue and maybe alpha)."""
    if kind not in ("auto", "rgb", "sar", "single", "palette"):
        raise ValueError(f"kind must be 'auto', 'rgb', 'sar', 'single' or 'palette', not {kind!r}")
    if not layers:
        raise ValueError("nothing to picture: no variable has two dimensions of 2 or more")
    picked = None if bands is None else [_find(layers, band) for band in bands]
    candidates = picked or layers
    if kind == "auto":
        if _rgb(candidates) is not None:
            kind = "rgb"
        elif _palette(candidates) is not None:
            kind = "palette"
        elif any(_is_sar(layer) for layer in candidates):
            kind = "sar"
        else:
            kind = "single"
    if picked is not None:
        chosen = picked  # in the order asked
    elif kind == "rgb":
        chosen = _rgb(layers) or layers[:3]
    elif kind == "palette":
        chosen = [_palette(layers) or layers[0]]
    elif kind == "sar":
        chosen = [layer for layer in layers if _is_sar(layer)] or layers
    else:
        chosen = [layer for layer in layers if not layer.is_alpha] or layers
    if kind == "rgb" and len(chosen) not in (3, 4):
        raise ValueError(f"an RGB picture needs 3 layers (4 with alpha), not {_names(chosen)}")
    if kind == "palette" and "colormap" not in chosen[0].array.attrs:
        raise ValueError(f"{chosen[0].name!r} has no colour table (a 'colormap' attribute)")
    first = chosen[0].array
    same = [layer for layer in chosen if layer.array.sizes == first.sizes]
    if picked is not None and len(same) != len(chosen):
        raise ValueError(f"the layers {_names(chosen)} do not share one grid")
    if kind != "rgb" and len(same) > MAX_PANELS:
        raise ValueError(
            f"{len(same)} layers ({_names(same)}) is more than {MAX_PANELS} panels; "
            "choose some with bands=[...]"
        )
    return kind, same


def _find(layers: list[Layer], band: str) -> Layer:
    found = [layer for layer in layers if band.lower() in layer.keys]
    if not found:
        raise KeyError(f"no layer {band!r} to picture; the layers are {_names(layers)}")
    return found[0]


def _names(layers: list[Layer]) -> list[str]:
    return [layer.name for layer in layers]


def _rgb(layers: list[Layer]) -> list[Layer] | None:
    """Red, green, blue (and alpha, if any) among ``layers``, or three/four uint8 bands."""
    by_key = {key: layer for layer in layers for key in layer.keys}
    if all(c in by_key for c in ("red", "green", "blue")):
        return [by_key[c] for c in ("red", "green", "blue", "alpha") if c in by_key]
    stored = [layer.array.encoding.get("dtype", layer.array.dtype) for layer in layers]
    if len(layers) in (3, 4) and all(np.dtype(d) == np.uint8 for d in stored):
        return layers
    return None


def _palette(layers: list[Layer]) -> Layer | None:
    """The one layer (alpha aside) with a colour table, if that is all there is."""
    shown = [layer for layer in layers if not layer.is_alpha]
    if len(shown) == 1 and "colormap" in shown[0].array.attrs:
        return shown[0]
    return None


def _is_sar(layer: Layer) -> bool:
    return layer.polarisation is not None or layer.array.dtype.kind == "c"
