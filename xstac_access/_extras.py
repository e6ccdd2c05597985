"""Optional extras: which modules each one brings, and the error when a feature lacks its extra.

The core (``pip install xstac-access``) opens any asset; gridding, pictures, cubes and a few
formats need more (see the ``[project.optional-dependencies]`` of ``pyproject.toml``). The code
of such a feature imports what it needs inside :func:`needs`, which turns the missing module of
that extra into one :class:`~xstac_access.errors.MissingExtraError` saying what to install,
instead of a bare ``ModuleNotFoundError`` from deep inside the call.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .errors import MissingExtraError

#: The modules each extra provides (its distributions' import names), as ``pyproject.toml`` lists
#: them. A missing module outside the extra is a broken installation, not a missing extra.
MODULES: dict[str, tuple[str, ...]] = {
    "eo": ("numba", "scipy", "matplotlib", "shapely", "odc.geo", "dask"),
    "load": ("odc.stac", "odc.loader", "odc.geo", "dask"),
    "netcdf": ("h5netcdf", "h5py", "scipy"),
    "eopf": ("xarray_eopf",),
    "explore": ("folium",),
    "geo": ("geopandas",),
    "azure": ("adlfs", "azure"),
}


def _module_of(extra: str, missing: str | None) -> str | None:
    """The module of ``extra`` that ``missing`` (``ModuleNotFoundError.name``) stands for: the
    module itself, one inside it (``dask.array``) or the namespace holding it (``odc``); else
    ``None``."""
    if not missing:
        return None
    for module in MODULES[extra]:
        if missing == module or f"{missing}.".startswith(f"{module}.") or module.startswith(
            f"{missing}."
        ):
            return module
    return None


@contextmanager
def needs(extra: str, feature: str) -> Iterator[None]:
    """Run the imports (and calls) of ``feature``: a module of ``extra`` found missing raises
    :class:`~xstac_access.errors.MissingExtraError` naming the feature and the install command;
    any other error passes through unchanged."""
    if extra not in MODULES:
        raise ValueError(f"unknown extra {extra!r}; the extras are {sorted(MODULES)}")
    try:
        yield
    except ModuleNotFoundError as exc:
        module = _module_of(extra, exc.name)
        if module is None:
            raise
        raise MissingExtraError(
            f"{feature} needs the optional extra [{extra}] ({module} is not installed): "
            f"pip install 'xstac-access[{extra}]'",
            extra=extra,
            name=module,
        ) from exc
