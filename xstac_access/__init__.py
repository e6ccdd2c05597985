"""xstac-access: open any STAC item or asset with xarray.

``import xstac_access`` is enough to use ``xr.open_dataset(item, engine="stacasset")``; the
engine itself is registered through the ``xarray.backends`` entry point, and importing the
package registers the ``.eo`` accessor. Other submodules load on first use, so importing the
package costs little beyond xarray itself.

The public names are those of ``__all__``, with :mod:`.credentials`, :mod:`.errors` and the
``.eo`` accessor. Modules whose names start with ``_`` implement them (``_search`` is how
:func:`search` works; import ``search`` from here), and ``http`` and ``readers`` are internal
packages: ``docs/architecture.md`` maps them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .eo import accessor as _accessor  # noqa: F401  (registers .eo on Dataset, DataArray, DataTree)

if TYPE_CHECKING:
    from . import credentials, errors
    from ._download import DownloadEntry, DownloadReport, download
    from ._engine import open_dataset, open_datatree, open_groups
    from ._load import load
    from ._resolve import Target, resolve
    from ._search import CollectionSearchResult, SearchResult, collection_search, search

__all__ = [
    "CollectionSearchResult",
    "DownloadEntry",
    "DownloadReport",
    "SearchResult",
    "Target",
    "collection_search",
    "credentials",
    "download",
    "errors",
    "load",
    "open_dataset",
    "open_datatree",
    "open_groups",
    "resolve",
    "search",
]
__version__ = "0.1.0"

_LAZY = {
    "errors": ("xstac_access.errors", None),
    "credentials": ("xstac_access.credentials", None),
    "search": ("xstac_access._search", "search"),
    "collection_search": ("xstac_access._search", "collection_search"),
    "SearchResult": ("xstac_access._search", "SearchResult"),
    "CollectionSearchResult": ("xstac_access._search", "CollectionSearchResult"),
    "load": ("xstac_access._load", "load"),
    "download": ("xstac_access._download", "download"),
    "DownloadReport": ("xstac_access._download", "DownloadReport"),
    "DownloadEntry": ("xstac_access._download", "DownloadEntry"),
    "open_dataset": ("xstac_access._engine", "open_dataset"),
    "open_datatree": ("xstac_access._engine", "open_datatree"),
    "open_groups": ("xstac_access._engine", "open_groups"),
    "resolve": ("xstac_access._resolve", "resolve"),
    "Target": ("xstac_access._resolve", "Target"),
}


def __getattr__(name: str) -> Any:
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'xstac_access' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
