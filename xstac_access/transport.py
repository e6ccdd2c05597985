"""Plain byte transport for the small reads the engine does itself, with credentials.

Item JSON, the first bytes of a file for format sniffing, redirect resolution before GDAL opens a
file, and the diagnosis of a failed open all go through :func:`fetch` (byte ranges through
:mod:`xstac_access._ranged`, which copes with servers ignoring Range); downloads stream through
:func:`stream` (extra headers such as ``Range`` and ``If-Range``). It speaks HTTP(S),
``s3://`` (s3fs) and local paths, and turns every failure into a typed
:mod:`xstac_access.errors` exception naming the host, never a secret.

HTTP redirects are followed here, not by ``requests``, so that each hop gets exactly the
credential the broker assigns to its host: the origin's provider only where the provider
trusts the target (CDSE's download host), Earthdata's Basic credentials only at the login host,
and nothing anywhere else. Cookies are never stored in the session (a cookie jar would send them
to every port of a host); a provider that wants them keeps them, per host. A 401 or 403 (an
expired signature) refreshes the credential once and retries. Busy servers, gateway errors and
connections cut mid-body are retried with backoff and jitter (:mod:`xstac_access._retry`);
streams are not, their caller resumes them.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from . import errors
from ._hrefs import host_of, local_path, safe_href, scheme_of
from ._limits import slot
from ._retry import parse_retry_after, retrying
from .credentials.material import NO_MATERIAL, Material
from .credentials.secrets import get_logger

if TYPE_CHECKING:
    import requests

    from .credentials.broker import Access, Broker
    from .credentials.providers import Provider

TIMEOUT = (10.0, 60.0)  # connect, read
MAX_REDIRECTS = 10
_REDIRECTS = (301, 302, 303, 307, 308)
_local = threading.local()
log = get_logger(__name__)


def _session():
    import requests

    session = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        session.trust_env = False  # no ~/.netrc Basic auth or proxy variables sneaking in
        session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # keep none
        session.headers["User-Agent"] = "xstac-access"
        _local.session = session
    return session


def looks_like_html(head: bytes) -> bool:
    """True for the start of an HTML page: what a login wall returns instead of data."""
    text = head[:512].lstrip().lower()
    return text.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


@dataclass(frozen=True)
class Landing:
    """Where a chain of redirects ended, and with which provider's credential."""

    href: str
    provider: Provider | None


def fetch(
    href: str,
    *,
    byte_range: tuple[int, int] | None = None,
    access: Access | None = None,
    broker: Broker | None = None,
    what: str = "asset",
    expect_html: bool = False,
) -> bytes:
    """Return the bytes of ``href`` (or of ``byte_range = (start, stop)``, stop exclusive).

    ``access`` is the credential handle (default: the broker's for ``href``); ``what`` names the
    thing being read in error messages. An HTML body is refused as an
    :class:`~xstac_access.errors.AuthError` unless ``expect_html``: a login page must never pass
    for data.
    """
    broker = broker or default_broker()
    access = access or broker.access(href)
    scheme = scheme_of(href)
    if scheme in ("http", "https"):
        body, _ = _fetch_http(href, byte_range, what, access, broker)
    elif scheme == "s3":
        with slot(access):
            body = _fetch_s3(href, byte_range, access.material(), what)
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
        raise login_page_error(href, what)
    return body


def login_page_error(href: str, what: str) -> errors.AuthError:
    """The error for an HTML page where data was expected: a login wall, not a format."""
    from .credentials.config import advice

    return errors.AuthError(
        f"{what} at {safe_href(href)} answered with an HTML page instead of data: host "
        f"{host_of(href)} probably wants you to log in. {advice(href)}",
        href=safe_href(href),
        host=host_of(href),
        status=200,
    )


def land(
    href: str, *, access: Access, broker: Broker | None = None, what: str = "asset"
) -> Landing:
    """Follow ``href``'s redirects (reading one byte) and say where, and with whom, they end.

    GDAL sends its headers only to the host it was given; for a credential that must survive a
    redirect (CDSE), or a login that sets cookies (Earthdata), the chain is walked here first.
    """
    _, landing = _fetch_http(href, (0, 1), what, access, broker or default_broker())
    return landing


def refuses(href: str, *, access: Access, material: Material, broker: Broker | None = None) -> bool:
    """Whether ``href``'s server refuses ``material`` now (401/403 to a one-byte read), asked
    once and without refreshing it. GDAL reports a tile read refused on an open dataset only as
    "Read failed"; a token revoked server-side is still unexpired here, so the server is asked.
    A server that cannot be reached is not a refusal (the caller explains that failure)."""
    try:
        with slot(access):
            resp, _ = _follow(
                href, {"Range": "bytes=0-0"}, "asset", access, material,
                broker or default_broker(), stream=True,
            )  # fmt: skip
    except errors.AccessError:
        return False
    resp.close()  # the body is not needed: a server ignoring Range would send the whole file
    return resp.status_code in (401, 403)


def fetch_json(href: str, *, broker: Broker | None = None, what: str = "JSON document") -> Any:
    """Fetch and parse a JSON document; a body that is not JSON is a :class:`NotStacError`."""
    body = fetch(href, broker=broker, what=what)
    try:
        return json.loads(body)
    except ValueError as exc:
        raise errors.NotStacError(
            f"{what} at {safe_href(href)} is not JSON ({exc.__class__.__name__}: {exc}); "
            "pass a STAC item URL, an item dict or a pystac object"
        ) from None


def raise_for_status(status: int, href: str, what: str, retry_after: float | None = None) -> None:
    """Turn an HTTP status >= 400 into the matching typed error."""
    if status < 400:
        return
    host, shown = host_of(href), safe_href(href)
    kind: type[errors.AccessError]
    if status in (401, 403):
        from .credentials.config import advice

        kind = errors.AuthError
        message = (f"host {host} refused access (HTTP {status}). {advice(href)} If one is "
                   "configured, check that it is still valid.")  # fmt: skip
    elif status in (404, 410):
        kind = errors.HrefNotFoundError
        message = (f"does not exist (HTTP {status} from {host}); the catalogue may point at a "
                   "moved or deleted file.")  # fmt: skip
    else:
        kind, message = errors.AccessError, f"host {host} answered HTTP {status}; try again later."
    raise kind(
        f"{what} at {shown}: {message}",
        href=shown, host=host, status=status, retry_after=retry_after,
    )  # fmt: skip


def default_broker() -> Broker:
    from .credentials.config import get_broker

    return get_broker()


def stream(
    href: str,
    *,
    headers: Mapping[str, str],
    access: Access,
    broker: Broker | None = None,
    what: str = "asset",
) -> tuple[requests.Response, Landing]:
    """Open a streaming GET of an http(s) ``href``: ``(response, where it landed)``.

    ``headers`` (``Range``, ``If-Range``, ``Accept-Encoding``...) go with every hop; credentials
    are added per hop as in :func:`fetch`. The status is checked (>= 400 raises the typed error)
    but the body is left unread, so a download can write it chunk by chunk without holding a
    file in memory. The caller closes the response.
    """
    return _response(href, dict(headers), what, access, broker or default_broker(), stream=True)


def _fetch_http(
    href: str, byte_range: tuple[int, int] | None, what: str, access: Access, broker: Broker
) -> tuple[bytes, Landing]:
    if byte_range is not None:  # streamed: a server ignoring Range sends no more than needed
        from ._ranged import get_range  # it builds on this module

        span = get_range(
            href, byte_range[0], byte_range[1] - 1, access=access, broker=broker, what=what
        )
        return span.data, span.landing
    _, landing, body = retrying(lambda: _read(href, {}, what, access, broker), href, what)
    return body, landing


def _read(
    href: str, headers: dict[str, str], what: str, access: Access, broker: Broker
) -> tuple[requests.Response, Landing, bytes]:
    """One attempt: the response and its whole body; a cut body is a retryable AccessError."""
    resp, landing = _response(href, headers, what, access, broker)
    return resp, landing, read_body(resp, landing, what)


def read_body(
    resp: requests.Response, landing: Landing, what: str, upto: int | None = None
) -> bytes:
    """The body of ``resp`` (its first ``upto`` bytes or more, when given: the caller closes
    the response then); a connection cut while reading is a retryable AccessError."""
    import requests

    chunks, have = [], 0
    try:
        for chunk in resp.iter_content(1 << 16):
            chunks.append(chunk)
            have += len(chunk)
            if upto is not None and have >= upto:
                break
    except requests.RequestException as exc:
        raise errors.AccessError(
            f"{what} at {safe_href(landing.href)}: the connection to {host_of(landing.href)} "
            f"broke while reading ({exc.__class__.__name__})",
            href=safe_href(landing.href),
            host=host_of(landing.href),
        ) from None
    return b"".join(chunks)


def _response(
    href: str,
    headers: dict[str, str],
    what: str,
    access: Access,
    broker: Broker,
    *,
    stream: bool = False,
):
    """The final response for ``href`` (redirects followed, one refresh after a refusal)."""
    retried = False
    while True:
        material = access.material()
        with slot(access):  # one slot of the href's provider for the request and its redirects
            resp, landing = _follow(href, headers, what, access, material, broker, stream)
        if resp.status_code in (401, 403) and access.needed and not retried:
            log.info(
                "%s refused the credential for %s; refreshing once", host_of(landing.href), what
            )
            resp.close()
            access.invalidate(material)
            retried = True
            continue
        if resp.status_code >= 400:
            resp.close()
            wait = parse_retry_after(resp.headers.get("Retry-After"))
            raise_for_status(resp.status_code, landing.href, what, wait)
        return resp, landing


def _follow(
    href: str,
    extra_headers: dict[str, str],
    what: str,
    access: Access,
    material: Material,
    broker: Broker,
    stream: bool = False,
):
    import requests

    url, provider, login = href, access.provider, None
    for _ in range(MAX_REDIRECTS):
        headers = {**extra_headers, **material.http_headers()}
        try:
            resp = _session().get(
                material.sign(url),
                headers=headers,
                timeout=TIMEOUT,
                allow_redirects=False,
                stream=stream,
            )
        except requests.RequestException as exc:
            raise errors.AccessError(
                f"cannot reach {host_of(url)} for {what} at {safe_href(url)}: "
                f"{exc.__class__.__name__}",
                href=safe_href(url),
                host=host_of(url),
            ) from None
        if login is not None and resp.cookies:
            login.keep_cookies(url, dict(resp.cookies))
        if resp.status_code not in _REDIRECTS or "Location" not in resp.headers:
            return resp, Landing(url, provider)
        resp.close()  # a streamed hop's body is unread: give its connection back
        url = urljoin(url, resp.headers["Location"])
        log.debug("%s redirected %s to %s", what, host_of(href), host_of(url))
        here = broker.login_provider(url)
        if here is not None and provider in (None, here):
            login = here  # a login host acts for its own chain, not for another's trusted hop
        if login is not None and login.is_login_host(url):
            material = _with_headers(login.basic_header(url))  # Basic: this hop only
            continue
        provider = broker.redirect_provider(url, provider)
        material = provider.material(url) if provider is not None else NO_MATERIAL
    raise errors.AccessError(
        f"{what} at {safe_href(href)}: more than {MAX_REDIRECTS} redirects",
        href=safe_href(href),
        host=host_of(href),
    )


def _with_headers(headers: dict[str, str]) -> Material:
    from .credentials.secrets import Secret

    return Material.build(headers={k: Secret(v) for k, v in headers.items()})


def _fetch_s3(
    href: str, byte_range: tuple[int, int] | None, material: Material, what: str
) -> bytes:
    from ._s3 import filesystem

    path = href[len("s3://") :]
    with s3_errors(href, what):
        fs = filesystem(material.s3_options())
        if byte_range is None:
            return fs.cat_file(path)
        return fs.cat_file(path, start=byte_range[0], end=byte_range[1])


@contextlib.contextmanager
def s3_errors(href: str, what: str) -> Iterator[None]:
    """Turn the errors of an s3fs call on ``href`` into typed errors naming the bucket: the
    builtin ones s3fs raises, and botocore's own (no credentials found, bad parameters)."""
    from botocore.exceptions import BotoCoreError

    from ._s3 import typed_error

    try:
        yield
    except (OSError, BotoCoreError) as exc:
        raise typed_error(exc, href, what) from None


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
