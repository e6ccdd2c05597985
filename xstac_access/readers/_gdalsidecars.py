"""The sidecar files GDAL reads beside a raster, and the settings that let it, or not.

GDAL completes a raster from files next to it: external overviews (``.ovr``), a mask
(``.msk``), PAM metadata (``.aux.xml``: statistics, nodata, colour tables, RPCs), RPCs
(``.RPB``, ``_rpc.txt``). Locally, looking costs nothing: GDAL lists the directory
(``GDAL_DISABLE_READDIR_ON_OPEN=FALSE``) and uses whatever is there, as rasterio does by
default. Over the network each look is a request, most answered 404, so by default GDAL looks
for none (``EMPTY_DIR``: the directory is taken as empty, no request). When the item lists a
sidecar as an asset (its href is the raster's plus ``.ovr``, ``.msk``, ``.aux.xml``, or its
stem plus ``.RPB``/``_rpc.txt``), or the caller asks with ``sidecars=True``, GDAL may look for
exactly those names: no directory listing (``GDAL_DISABLE_READDIR_ON_OPEN=YES``) and
``CPL_VSIL_CURL_ALLOWED_EXTENSIONS`` set to the raster's and those sidecars' own file names
(GDAL matches it as a suffix of the path), so every other probe fails without a request.
A signed href (a query string) gets no sidecar: GDAL would append the suffix to the signature.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .._hrefs import scheme_of

#: Sidecars named after the raster's file name, and after its stem (no extension).
AFTER_NAME = (".ovr", ".msk", ".aux.xml")
AFTER_STEM = (".RPB", ".rpb", "_rpc.txt", "_RPC.TXT")
_REMOTE = ("http", "https", "s3")


def candidates(href: str) -> dict[str, str]:
    """Every sidecar name GDAL may look for beside ``href``, mapped to its href."""
    parts = urlsplit(href)
    folder, name = posixpath.split(parts.path)
    stem = posixpath.splitext(name)[0]
    names = [name + s for s in AFTER_NAME] + [stem + s for s in AFTER_STEM]
    return {n: parts._replace(path=posixpath.join(folder, n)).geturl() for n in names}


def sidecar_names(
    href: str, item: Mapping[str, Any] | None, wanted: bool | None
) -> tuple[str, ...]:
    """The sidecars GDAL may read beside a remote ``href``: all (``wanted=True``), those the
    item lists as assets (``None``), none (``False``, a local href, or a signed one)."""
    if wanted is False or scheme_of(href) not in _REMOTE or urlsplit(href).query:
        return ()
    found = candidates(href)
    if wanted:
        return tuple(found)
    assets = (item or {}).get("assets") or {}
    listed = {a.get("href") for a in assets.values() if isinstance(a, Mapping)}
    return tuple(name for name, url in found.items() if url in listed)


def sidecar_config(href: str, siblings: tuple[str, ...]) -> dict[str, str]:
    """GDAL settings for reading ``href`` with the sidecars ``siblings`` (see the module doc)."""
    if scheme_of(href) not in _REMOTE:
        return {"GDAL_DISABLE_READDIR_ON_OPEN": "FALSE"}
    if not siblings:
        return {}  # the base settings: EMPTY_DIR
    name = posixpath.basename(urlsplit(href).path)
    return {
        "GDAL_DISABLE_READDIR_ON_OPEN": "YES",
        "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ",".join((name, *siblings)),
    }
