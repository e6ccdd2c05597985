"""The exceptions of xstac-access: one root, a few branches a user can catch and act on.

Every message names what was being opened (asset key, host) and what to do about it. No message
ever carries a secret: hrefs are shown through :func:`xstac_access._hrefs.safe_href`, which drops
query strings and user info, and tokens are never formatted into text.

Each class also derives from the matching builtin (``KeyError``, ``FileNotFoundError``,
``PermissionError``, ``ValueError``, ``TypeError``) so code written against the standard
exceptions keeps working.
"""

from __future__ import annotations

import re

#: "asset at H at H": an asset with no key is labelled by its href, and messages say where it is.
_TWICE = re.compile(r"\bat (\S+) at \1(?=[\s:;,)]|$)")


class XStacError(Exception):
    """Root of every error raised by xstac-access.

    A message naming a bare href twice (its label, ``asset at <href>``, followed by where it
    is, ``at <href>``) names it once: fixed here, for every error, rather than at each message.
    """

    def __init__(self, *args: object) -> None:
        if args and isinstance(args[0], str):
            args = (_TWICE.sub(r"at \1", args[0]), *args[1:])
        super().__init__(*args)

    def __str__(self) -> str:  # KeyError would otherwise show the repr of the message
        return str(self.args[0]) if self.args else ""


class ResolveError(XStacError, ValueError):
    """The input could not be turned into one asset to open."""


class NotStacError(ResolveError):
    """The input is JSON (or a mapping) but not a STAC Item, Asset or ItemCollection."""


class AssetKeyError(ResolveError, KeyError):
    """The requested asset key is not in the item; the message lists the keys it has."""


class AmbiguousAssetError(ResolveError):
    """Several assets fit equally well and the caller named none; the message lists them."""


class KeywordError(XStacError, TypeError):
    """A keyword the call does not take: unknown (the message names the nearest accepted one),
    or of no use to the format opened (``member=`` on a netCDF file). A ``TypeError``, as
    Python's own for a keyword a function does not have; the message lists those it takes."""


class AccessError(XStacError, OSError):
    """Reading an href failed (network, HTTP status, store). Carries the masked href and host,
    the HTTP status when there was one, and the seconds the server asked to wait before trying
    again (``Retry-After``), if it did."""

    def __init__(
        self,
        message: str,
        *,
        href: str | None = None,
        host: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.href = href
        self.host = host
        self.status = status
        self.retry_after = retry_after


class HrefNotFoundError(AccessError, FileNotFoundError):
    """The href does not exist (HTTP 404/410, missing object or file)."""


class AuthError(AccessError, PermissionError):
    """The server refused the request (401/403) or answered with a login page instead of data."""


class TokenServiceError(AuthError):
    """A token service (OIDC token endpoint, SAS token API) stayed busy or failing (429, 5xx, no
    connection) through the retries: no credential could be had, but the one configured may be
    fine; try again later."""


class RangeNotSupportedError(AccessError):
    """The server ignores HTTP Range and the file is too large to read whole into memory; the
    message names the host and size and says what to do (download the file)."""


class FormatError(XStacError, ValueError):
    """The bytes are not what the format promised: truncated, corrupt or mislabelled."""


class UnsupportedFormatError(FormatError):
    """The asset's format was recognised (or not) but no reader of xstac-access opens it."""


class ChecksumError(FormatError):
    """Downloaded bytes differ from the catalogue's promise (``file:checksum``, ``file:size``)."""


class DownloadError(XStacError):
    """Some files of a :func:`xstac_access.download` call failed; ``report`` says which.

    Raised only with ``raise_on_error=True``, after every other file was attempted.
    """

    def __init__(self, message: str, report: object) -> None:
        super().__init__(message)
        self.report = report


class SearchError(XStacError):
    """A catalogue search failed: input that is not valid (CQL2 that does not parse, an unknown
    ``query`` operator), an unreachable catalogue, or a server answer no fallback could work
    around. Carries the catalogue ``host`` and the HTTP ``status`` when there was one."""

    def __init__(self, message: str, *, host: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.host = host
        self.status = status


class GridError(XStacError, ValueError):
    """The swath cannot be gridded as asked (arguments, geolocation, dtypes)."""


class GeolocationNotFoundError(GridError):
    """No 2-D latitude/longitude pair was found; the message lists what the object has."""


class GridTooLargeError(GridError):
    """The target grid would have an absurd number of cells; the message suggests a resolution."""


class GeocodeError(XStacError, ValueError):
    """GCPs could not be turned into latitude/longitude; the message says what to pass instead."""


class NoGcpsError(GeocodeError):
    """No GCPs where they were looked for; the message lists the places."""


class TooFewGcpsError(GeocodeError):
    """Fewer distinct GCPs (or GCP rows/columns) than any surface needs."""


class MissingExtraError(XStacError, ImportError):
    """A feature needs packages of an optional extra that is not installed; the message names the
    feature, the missing module and the command that installs the extra. ``extra`` is its name
    (``"eo"``, ``"load"``...), ``name`` the module that could not be imported."""

    def __init__(self, message: str, *, extra: str = "", name: str | None = None) -> None:
        super().__init__(message)
        self.extra = extra
        self.name = name
