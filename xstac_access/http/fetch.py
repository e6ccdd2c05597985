"""The engine's own small reads, whatever the scheme: item JSON, first bytes, a redirect walk.

Item JSON, the first bytes of a file for format sniffing, where a redirect chain lands before
GDAL opens a file (:func:`land`) and the diagnosis of a failed open go through :func:`fetch`:
HTTP(S) through the HTTP layer (byte ranges through :mod:`.ranged`, which copes with servers
ignoring Range; whole bodies through :func:`.reads.whole`), ``s3://`` through s3fs
(:mod:`xstac_access._s3`) and local paths. Every failure is a typed :mod:`xstac_access.errors`
exception naming the host, never a secret, and an HTML body where data was expected is refused
as a login wall.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .. import errors
from .._hrefs import host_of, local_path, safe_href, scheme_of
from .._s3 import read_bytes
from .hops import Landing
from .limits import slot
from .ranged import get_range
from .reads import login_page_error, looks_like_html, whole

if TYPE_CHECKING:
    from .protocols import AccessLike, BrokerLike


def fetch(
    href: str,
    *,
    broker: BrokerLike,
    access: AccessLike | None = None,
    byte_range: tuple[int, int] | None = None,
    what: str = "asset",
    expect_html: bool = False,
) -> bytes:
    """Return the bytes of ``href`` (or of ``byte_range = (start, stop)``, stop exclusive).

    ``access`` is the credential handle (default: the broker's for ``href``); ``what`` names the
    thing being read in error messages. An HTML body is refused as an
    :class:`~xstac_access.errors.AuthError` unless ``expect_html``: a login page must never pass
    for data.
    """
    access = access or broker.access(href)
    scheme = scheme_of(href)
    if scheme in ("http", "https") and byte_range is not None:  # streamed: a server ignoring
        body = get_range(  # Range sends no more than needed
            href, byte_range[0], byte_range[1] - 1, access=access, broker=broker, what=what
        ).data
    elif scheme in ("http", "https"):
        body = whole(href, access=access, broker=broker, what=what)
    elif scheme == "s3":
        with slot(access):
            body = read_bytes(href, byte_range, access.material().s3_options(), what,
                              broker.advice)  # fmt: skip
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
        raise login_page_error(href, what, broker.advice(href))
    return body


def fetch_json(href: str, *, broker: BrokerLike, what: str = "JSON document") -> Any:
    """Fetch and parse a JSON document; a body that is not JSON is a :class:`NotStacError`."""
    body = fetch(href, broker=broker, what=what)
    try:
        return json.loads(body)
    except ValueError as exc:
        raise errors.NotStacError(
            f"{what} at {safe_href(href)} is not JSON ({exc.__class__.__name__}: {exc}); "
            "pass a STAC item URL, an item dict or a pystac object"
        ) from None


def land(href: str, *, access: AccessLike, broker: BrokerLike, what: str = "asset") -> Landing:
    """Follow ``href``'s redirects (reading one byte) and say where, and with whom, they end.

    GDAL sends its headers only to the host it was given; for a credential that must survive a
    redirect (CDSE), or a login that sets cookies (Earthdata), the chain is walked here first.
    """
    return get_range(href, 0, 0, access=access, broker=broker, what=what).landing


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
