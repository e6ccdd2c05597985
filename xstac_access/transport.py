"""Plain byte transport for the small reads the engine does itself.

Item JSON, the first bytes of a file for format sniffing, and the diagnosis of a failed GDAL open
all go through :func:`fetch`. It speaks HTTP(S) (one ``requests`` session per thread, no netrc
or proxy variables picked up behind the user's back), ``s3://`` (s3fs, anonymous unless storage
options say otherwise) and local paths, and turns every failure into a typed
:mod:`xstac_access.errors` exception naming the host, never a secret.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from . import errors
from ._hrefs import host_of, local_path, safe_href, scheme_of

TIMEOUT = (10.0, 60.0)  # connect, read
_local = threading.local()


def _session():
    import requests

    session = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        session.trust_env = False  # no ~/.netrc Basic auth or proxy variables sneaking in
        session.headers["User-Agent"] = "xstac-access"
        _local.session = session
    return session


def looks_like_html(head: bytes) -> bool:
    """True for the start of an HTML page: what a login wall returns instead of data."""
    text = head[:512].lstrip().lower()
    return text.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def fetch(
    href: str,
    *,
    byte_range: tuple[int, int] | None = None,
    storage_options: dict[str, Any] | None = None,
    what: str = "asset",
    expect_html: bool = False,
) -> bytes:
    """Return the bytes of ``href`` (or of ``byte_range = (start, stop)``, stop exclusive).

    ``what`` names the thing being read in error messages (``"asset 'red'"``, ``"item JSON"``).
    An HTML body is refused as an :class:`~xstac_access.errors.AuthError` unless
    ``expect_html``: a login page must never pass for data.
    """
    scheme = scheme_of(href)
    if scheme in ("http", "https"):
        body = _fetch_http(href, byte_range, what)
    elif scheme == "s3":
        body = _fetch_s3(href, byte_range, storage_options or {}, what)
    elif scheme == "file":
        body = _fetch_local(href, byte_range, what)
    else:
        raise errors.AccessError(
            f"cannot read {what} at {safe_href(href)}: unsupported scheme {scheme!r} "
            "(use http(s)://, s3:// or a local path)",
            href=safe_href(href),
            host=host_of(href),
        )
    if not expect_html and looks_like_html(body):
        raise errors.AuthError(
            f"{what} at {safe_href(href)} answered with an HTML page instead of data: host "
            f"{host_of(href)} probably wants you to log in. Configure a credential for this host "
            "(see xstac_access.credentials).",
            href=safe_href(href),
            host=host_of(href),
            status=200,
        )
    return body


def fetch_json(
    href: str, *, storage_options: dict[str, Any] | None = None, what: str = "JSON document"
) -> Any:
    """Fetch and parse a JSON document; a body that is not JSON is a :class:`FormatError`."""
    body = fetch(href, storage_options=storage_options, what=what)
    try:
        return json.loads(body)
    except ValueError as exc:
        raise errors.NotStacError(
            f"{what} at {safe_href(href)} is not JSON ({exc.__class__.__name__}: {exc}); "
            "pass a STAC item URL, an item dict or a pystac object"
        ) from None


def raise_for_status(status: int, href: str, what: str) -> None:
    """Turn an HTTP status >= 400 into the matching typed error."""
    if status < 400:
        return
    host, shown = host_of(href), safe_href(href)
    if status in (401, 403):
        raise errors.AuthError(
            f"{what} at {shown}: host {host} refused access (HTTP {status}). Configure a "
            f"credential for {host} (see xstac_access.credentials) or check that yours is valid.",
            href=shown,
            host=host,
            status=status,
        )
    if status in (404, 410):
        raise errors.HrefNotFoundError(
            f"{what} at {shown} does not exist (HTTP {status} from {host}); the catalogue may "
            "point at a moved or deleted file.",
            href=shown,
            host=host,
            status=status,
        )
    raise errors.AccessError(
        f"{what} at {shown}: host {host} answered HTTP {status}; try again later.",
        href=shown,
        host=host,
        status=status,
    )


def _fetch_http(href: str, byte_range: tuple[int, int] | None, what: str) -> bytes:
    import requests

    headers = {}
    if byte_range is not None:
        headers["Range"] = f"bytes={byte_range[0]}-{byte_range[1] - 1}"
    try:
        resp = _session().get(href, headers=headers, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise errors.AccessError(
            f"cannot reach {host_of(href)} for {what} at {safe_href(href)}: "
            f"{exc.__class__.__name__}",
            href=safe_href(href),
            host=host_of(href),
        ) from None
    raise_for_status(resp.status_code, href, what)
    body = resp.content
    if byte_range is not None and resp.status_code == 200:
        body = body[byte_range[0] : byte_range[1]]  # server ignored Range
    return body


def _fetch_s3(
    href: str, byte_range: tuple[int, int] | None, options: dict[str, Any], what: str
) -> bytes:
    import s3fs

    opts = {"anon": True, **options}
    fs = s3fs.S3FileSystem(**opts)
    path = href[len("s3://") :]
    try:
        if byte_range is None:
            return fs.cat_file(path)
        return fs.cat_file(path, start=byte_range[0], end=byte_range[1])
    except FileNotFoundError:
        raise errors.HrefNotFoundError(
            f"{what} at {safe_href(href)} does not exist in bucket {host_of(href)}",
            href=safe_href(href),
            host=host_of(href),
            status=404,
        ) from None
    except PermissionError:
        raise errors.AuthError(
            f"{what} at {safe_href(href)}: bucket {host_of(href)} refused access; configure S3 "
            "credentials or an endpoint for it (storage_options / xstac_access.credentials).",
            href=safe_href(href),
            host=host_of(href),
            status=403,
        ) from None
    except OSError as exc:
        raise errors.AccessError(
            f"cannot read {what} at {safe_href(href)}: {exc.__class__.__name__}",
            href=safe_href(href),
            host=host_of(href),
        ) from None


def _fetch_local(href: str, byte_range: tuple[int, int] | None, what: str) -> bytes:
    path = local_path(href)
    try:
        with open(path, "rb") as fh:
            if byte_range is None:
                return fh.read()
            fh.seek(byte_range[0])
            return fh.read(byte_range[1] - byte_range[0])
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise errors.HrefNotFoundError(
            f"{what} at {path} does not exist", href=path, host="local", status=404
        ) from None
