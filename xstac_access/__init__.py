"""xstac-access: open any STAC item or asset with xarray.

``import xstac_access`` is enough to use ``xr.open_dataset(item, engine="stacasset")``; the
engine itself is registered through the ``xarray.backends`` entry point.
"""

from __future__ import annotations

from . import errors
from .engine import open_dataset, open_datatree
from .resolve import Target, resolve

__all__ = ["Target", "errors", "open_dataset", "open_datatree", "resolve"]
__version__ = "0.1.0"
