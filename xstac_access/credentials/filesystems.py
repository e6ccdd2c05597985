"""fsspec filesystems that carry the broker's credentials: for Zarr stores and other fsspec users.

HTTP: an ``HTTPFileSystem`` whose aiohttp sessions come from the HTTP layer
(:func:`xstac_access.http.aio.client_session`): every request, redirect hops included, gets the
credential the broker assigns to that hop, one refresh after a refusal, and the library's
retries. The filesystem pickles with a :class:`~.broker.BrokerHandle`, so dask workers rebuild
it without any secret. S3: s3fs
options from the broker's provider, in an s3fs that reaches tenant buckets path-style and
pickles as the credential's handle, not its keys (:func:`xstac_access._s3.filesystem`). Azure
blob storage (``abfs://``, ``az://``): adlfs signing every request (:mod:`.azure`). Any other
scheme is refused with a typed error, never handed to a filesystem of another.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from .. import errors
from .._hrefs import host_of, safe_href, scheme_of
from ..http.aio import client_session
from .azure import BLOB_SCHEMES, account_of, account_url, blob_filesystem, blob_url
from .broker import Broker


def filesystem_for(href: str, broker: Broker, *, asynchronous: bool = False) -> Any:
    """An fsspec filesystem able to read ``href`` with the credential the broker assigns.

    ``asynchronous=True`` gives the coroutine interface zarr 3 stores drive from their own
    event loop (HTTP, S3 and Azure; a local path gets the plain local filesystem). An
    ``abfs://`` href must name its account (:func:`.azure.with_account`).
    """
    import fsspec

    scheme = scheme_of(href)
    if scheme in ("http", "https"):
        return fsspec.filesystem(
            "http", get_client=functools.partial(client_session, broker.handle()),
            skip_instance_cache=True, asynchronous=asynchronous,
        )  # fmt: skip
    if scheme == "s3":  # path-style at a custom endpoint, Ceph tenant buckets: see _s3
        from .._s3 import filesystem

        access = broker.access(href)  # what the filesystem pickles as
        return filesystem(access.material().s3_options(), asynchronous=asynchronous, access=access)
    if scheme in BLOB_SCHEMES:
        return blob_filesystem(href, broker, asynchronous=asynchronous)
    if scheme == "file":
        return fsspec.filesystem("file")
    raise errors.AccessError(
        f"cannot read {safe_href(href)}: unsupported scheme {scheme!r} (xstac-access reads "
        "http(s)://, s3://, abfs:// and local paths)",
        href=safe_href(href),
        host=host_of(href),
    )


def filesystem_kind(href: str, broker: Broker) -> tuple[str, ...]:
    """What tells apart the filesystems :func:`filesystem_for` builds with one broker: hrefs
    of one kind can share one filesystem (and its connection pool), hrefs of two cannot.

    HTTP(S): one (the middleware asks the broker per request); Azure: one per account and
    endpoint; S3: one per set of s3fs options (hashed: no key material in the tuple).
    """
    scheme = scheme_of(href)
    if scheme in ("http", "https"):
        return ("http",)
    if scheme in BLOB_SCHEMES:
        account = account_of(href) or ""
        return ("abfs", account, account_url(account, broker, blob_url(href)) if account else "")
    if scheme == "s3":
        options = broker.access(href).material().s3_options() or {}
        blob = json.dumps(options, sort_keys=True, default=str).encode()
        return ("s3", hashlib.sha256(blob).hexdigest())
    return (scheme,)
