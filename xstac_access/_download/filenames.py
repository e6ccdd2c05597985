"""The file names of downloads: from the href, the item, or the server's Content-Disposition.

A download is named before any request from what the catalogue says: the last segment of the
href (query dropped), when it is a file name (it has an extension). An href without one
(CDSE's ``.../Products(<uuid>)/$value``) names no file: the server's ``Content-Disposition``
then names it (RFC 6266, ``filename*`` of RFC 8187 preferred to ``filename``), and until the
first response says so, or when it does not, the download is called ``<item id>.zip`` for a zip
or archive (media type, or role ``archive``), else ``<asset key>`` plus the media type's
extension. Every name is made safe for any file system: one path component (whatever a server
puts before a ``/`` or ``\\`` is dropped), portable characters only, never ``.``/``..`` or hidden.
"""

from __future__ import annotations

import mimetypes
import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from .._resolve import Target

_UNSAFE = re.compile(r"[^A-Za-z0-9._+=@-]+")
_ZIP_TYPES = ("application/zip", "application/x-zip-compressed", "application/x-zip")
#: One ``; name=value`` parameter of a header: a token, or a quoted string with ``\\`` escapes.
_PARAM = re.compile(r';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')
_MAX_NAME = 255


def safe(component: str) -> str:
    """A file-name component with only portable characters, never ``.``/``..`` or hidden."""
    cleaned = _UNSAFE.sub("_", component).lstrip(".")
    return cleaned or "_"


def planned_name(target: Target) -> tuple[str, bool]:
    """``(name, whether the server may rename it)`` for a download of ``target``."""
    name = safe(unquote(PurePosixPath(urlsplit(target.href).path).name))
    if "." in name.strip("."):
        return name, False
    media = (target.media_type or "").split(";")[0].strip().lower()
    item_id = target.item.get("id") if target.item else None
    if item_id and (media in _ZIP_TYPES or "archive" in target.roles):
        return safe(str(item_id)) + ".zip", True
    extension = mimetypes.guess_extension(media) if media else None
    return safe(target.key or name or "asset") + (extension or ""), True


def disposition_name(header: str | None) -> str | None:
    """The safe file name a ``Content-Disposition`` header gives, or ``None`` (no header, no
    name, or nothing usable left once made safe)."""
    if not header:
        return None
    params: dict[str, str] = {}
    for key, raw in _PARAM.findall(header):
        value = raw.strip()
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params.setdefault(key.lower(), value)
    name = _extended(params.get("filename*")) or params.get("filename")
    if not name:
        return None
    name = re.split(r"[/\\]", name)[-1].strip()
    if name in ("", ".", "..") or len(name) > _MAX_NAME:
        return None
    cleaned = safe(name)
    return cleaned if cleaned.strip("._") else None


def _extended(value: str | None) -> str | None:
    """An RFC 8187 ``charset'language'percent-encoded`` value, decoded (``None`` if invalid)."""
    if not value:
        return None
    charset, quote, rest = value.partition("'")
    _language, quote2, encoded = rest.partition("'")
    if not (quote and quote2) or charset.lower() not in ("utf-8", "iso-8859-1"):
        return None
    try:
        return unquote(encoded, encoding=charset, errors="strict")
    except (UnicodeDecodeError, LookupError):
        return None
