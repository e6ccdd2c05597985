"""Small, pure helpers on hrefs: their kind, host, safe display form and relative resolution."""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import PurePosixPath
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

REMOTE_SCHEMES = ("http", "https", "s3")


def _split(href: str) -> SplitResult:
    """``urlsplit`` that never raises: a malformed netloc (``http://[::1``) is kept as text."""
    try:
        return urlsplit(href)
    except ValueError:
        scheme, _, rest = href.partition("://")
        rest, _, fragment = rest.partition("#")
        rest, _, query = rest.partition("?")
        netloc, slash, path = rest.partition("/")
        return SplitResult(scheme, netloc, slash + path, query, fragment)


def _port(parts: SplitResult) -> int | None:
    try:
        return parts.port
    except ValueError:  # not a number, or out of range
        return None


def _hostname(parts: SplitResult) -> str | None:
    try:
        return parts.hostname
    except ValueError:
        return None


def scheme_of(href: str) -> str:
    """``"http"``, ``"https"``, ``"s3"`` or ``"file"`` (local paths and ``file://`` URLs)."""
    parts = _split(href)
    if len(parts.scheme) <= 1:  # "" or a Windows drive letter
        return "file"
    return parts.scheme.lower()


def is_remote(href: str) -> bool:
    return scheme_of(href) in REMOTE_SCHEMES


def host_of(href: str) -> str:
    """The host (with port) of an href: ``"127.0.0.1:8080"``, an S3 bucket, or ``"local"``.

    An ``s3://`` href's host is its whole bucket name, including a Ceph tenant
    (``s3://<tenant>:<bucket>/...``, the EOPF object store), which ``urlsplit`` would read as a
    host and a port.
    """
    parts = _split(href)
    scheme = scheme_of(href)
    if scheme == "file":
        return "local"
    if scheme == "s3":
        return parts.netloc.rpartition("@")[2]  # never the user info
    host, port = _hostname(parts), _port(parts)
    if not host:
        return parts.netloc.rpartition("@")[2]  # never the user info
    return host + (f":{port}" if port else "")


def safe_href(href: str) -> str:
    """The href without user info or query string, fit for messages, logs and attrs.

    Query strings carry signatures (SAS tokens, presigned URLs) and user info carries passwords;
    both are replaced rather than shown.
    """
    parts = _split(href)
    if scheme_of(href) == "file":
        return href
    netloc = host_of(href)
    query = "<redacted>" if parts.query or "?" in href else ""
    return urlunsplit((parts.scheme, netloc, parts.path.split("?")[0], query, ""))


def local_path(href: str) -> str:
    """The filesystem path of a ``file://`` URL or plain path."""
    parts = _split(href)
    if parts.scheme.lower() == "file":
        return parts.path
    return href


def path_of(href: str) -> str:
    """The path part of a URL (the href itself for a local path)."""
    return _split(href).path if scheme_of(href) != "file" else href


def extension_of(href: str) -> str:
    """Lower-case file extension of the href's path (``".tif"``), or ``""``."""
    path = path_of(href)
    suffix = PurePosixPath(path.rstrip("/")).suffix.lower()
    return suffix if len(suffix) <= 8 else ""


#: A Windows path that is absolute: a drive (``C:\\`` or ``C:/``) or a UNC share (``\\\\srv``).
_WINDOWS_ABSOLUTE = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")


def is_absolute_local(href: str) -> bool:
    """True for an href that names a local file on its own: an absolute POSIX or Windows path
    (drive or UNC share) or a ``file:`` URI. Such an href is what a download tool writes into
    an item (``stac-asset``, ``stactools``) while the item's self link still names the
    catalogue: it must never be joined to that link."""
    return (
        href.startswith(("/", "file:"))
        or os.path.isabs(href)
        or bool(_WINDOWS_ABSOLUTE.match(href))
    )


def resolve_relative(href: str, base: str | None) -> str:
    """Make ``href`` absolute against ``base`` (the document it came from), if it is relative.

    Absolute hrefs (remote URLs, and local paths and ``file:`` URIs, see
    :func:`is_absolute_local`) come back as they are, whatever ``base`` is."""
    if base is None or scheme_of(href) != "file" or is_absolute_local(href):
        return href
    if scheme_of(base) == "file":
        return os.path.normpath(os.path.join(os.path.dirname(local_path(base)), href))
    if scheme_of(base) == "s3":
        parts = _split(base)
        path = posixpath.normpath(posixpath.join(posixpath.dirname(parts.path), href))
        return urlunsplit((parts.scheme, parts.netloc, path, "", ""))
    try:
        return urljoin(base, href)
    except ValueError:  # a malformed base: nothing to resolve against
        return href
