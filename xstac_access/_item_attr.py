"""The STAC item that travels with the data: one JSON string in ``attrs["stac_item"]``.

The engine puts it on what it opens (the Dataset, or the DataTree's root, and every data
variable: :func:`xstac_access.readers._attrs.stamp`); ``.eo`` reads it back
(:mod:`xstac_access.eo.stac`). It is the whole item as resolved (nested properties, booleans,
``null``, geometry, bbox, links, assets and their extension fields), with two changes: asset
hrefs are absolute (the item must stand alone once it left its file), and nothing secret is
kept: every ``href`` loses its query string and user info (signed URLs), as ``stac_href`` and
``encoding["source"]`` do, and credential-like entries of ``storage_options`` are masked.

Why an attribute holding JSON text, on the Dataset and on each variable: attributes survive what
users do to the data (selecting variables, ``isel``/``sel``, arithmetic, ``where``, ``astype``,
``merge``, ``concat``, pickling to dask workers), a DataArray taken out of the Dataset keeps its
variable's attributes, a DataTree node's variables keep theirs, and a string is what netCDF and
Zarr store, so the item survives ``to_netcdf``/``to_zarr`` and reopening with plain xarray. The
``encoding`` does not: arithmetic, ``where``, ``astype`` and ``merge`` drop it and no file
keeps it. A dict attribute would make ``to_netcdf`` fail. ``tests/test_item_attr.py`` checks
these.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._hrefs import safe_href

#: The attribute that holds the item.
ATTR = "stac_item"
#: Shown instead of a credential found in an item's storage options.
REDACTED = "<redacted>"
#: Names of fsspec/s3fs/adlfs options that hold credentials.
_SECRET_OPTIONS = frozenset(
    {
        "key", "secret", "token", "password", "credential", "credentials", "sas_token",
        "account_key", "client_secret", "session_token", "connection_string",
        "aws_access_key_id", "aws_secret_access_key", "aws_session_token",
    }
)  # fmt: skip


def dumps(item: Mapping[str, Any]) -> str:
    """The attribute's value for ``item``: compact JSON of :func:`public` ``(item)``."""
    return json.dumps(public(item), separators=(",", ":"), ensure_ascii=False, default=str)


def loads(value: Any) -> dict[str, Any] | None:
    """The item in an attribute's ``value`` (JSON text, or a mapping someone put there), as a
    fresh dict; ``None`` when ``value`` holds no item."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    elif isinstance(value, Mapping):
        value = json.loads(json.dumps(value, default=str))  # a detached copy
    return value if isinstance(value, dict) else None


def public(value: Any, *, options: bool = False) -> Any:
    """A copy of ``value`` (an item, or part of one) fit to travel: hrefs without query string
    or user info, credentials in ``storage_options`` mappings masked."""
    if isinstance(value, Mapping):
        out = {}
        for key, inner in value.items():
            if options and key in _SECRET_OPTIONS:
                out[key] = REDACTED
            elif key == "href" and isinstance(inner, str):
                out[key] = safe_href(inner)
            else:
                nested = options or (isinstance(key, str) and key.endswith("storage_options"))
                out[key] = public(inner, options=nested)
        return out
    if isinstance(value, list | tuple):
        return [public(inner, options=options) for inner in value]
    return value
