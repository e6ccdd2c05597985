"""Azure blob storage hrefs (``abfs://``, ``az://``): which account, which blob, which endpoint.

The Planetary Computer writes its Zarr hrefs as ``abfs://<container>/<path>`` and names the
storage account beside them, in ``xarray:storage_options`` (``{"account_name": ...}``). An href
is made whole here by putting the account into it, in the ABFS form
``abfs://<container>@<account>.dfs.core.windows.net/<path>`` that adlfs and Azure tools read.
Credentials are looked up for the blob's own URL, ``https://<account>.blob.core.windows.net/
<container>/<path>``, so the ``planetary_computer`` preset (and any rule written for blob URLs)
serves ``abfs://`` and ``https://`` hrefs of the same blob alike. Where requests go is the
account's blob service: Azure's, or the ``blob_endpoint`` of the :class:`~.providers.SasSigner`
serving it (an Azure-compatible emulator such as Azurite).

Reading goes through adlfs (the ``azure`` extra), with a transport that signs every request with
the broker's current SAS token (:mod:`._adlfs`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .. import errors
from .._hrefs import safe_href
from .broker import Broker

#: The URL schemes adlfs reads (``abfss`` is ``abfs`` over TLS, which blob URLs always are).
BLOB_SCHEMES = ("abfs", "abfss", "az")
_SUFFIXES = (".dfs.core.windows.net", ".blob.core.windows.net")
INSTALL = "pip install 'xstac-access[azure]' (adlfs)"


def account_of(href: str) -> str | None:
    """The storage account an ``abfs://container@account.../path`` href names, else ``None``."""
    netloc = urlsplit(href).netloc
    if "@" not in netloc:
        return None
    host = netloc.rpartition("@")[2].lower()
    for suffix in _SUFFIXES:
        if host.endswith(suffix):
            return host[: -len(suffix)] or None
    return host.split(".")[0] or None


def with_account(href: str, storage_options: Mapping[str, Any] | None, what: str) -> str:
    """``href`` in the ABFS form that names its account (the storage options' ``account_name``
    when the href has none); a :class:`~xstac_access.errors.ResolveError` naming ``what`` when
    neither says which account it is."""
    if account_of(href) is not None:
        return href
    account = (storage_options or {}).get("account_name")
    parts = urlsplit(href)
    if not isinstance(account, str) or not account or not parts.netloc:
        raise errors.ResolveError(
            f"{what} at {safe_href(href)}: an {parts.scheme}:// href names a container, not the "
            "Azure storage account holding it, and the catalogue gave no account_name in "
            "xarray:storage_options. Use the href with its account "
            f"({parts.scheme}://<container>@<account>.dfs.core.windows.net/<path>) or its "
            "https://<account>.blob.core.windows.net/... form."
        )
    netloc = f"{parts.netloc}@{account}{_SUFFIXES[0]}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def blob_url(href: str) -> str:
    """The blob's own URL (``https://<account>.blob.core.windows.net/<container>/<path>``) for
    an href naming its account: what credential rules are matched against."""
    parts = urlsplit(href)
    container = parts.netloc.rpartition("@")[0]
    return f"https://{account_of(href)}{_SUFFIXES[1]}/{container}{parts.path}"


def account_url(account: str, broker: Broker, href: str) -> str:
    """Where the account's blob service answers: the ``blob_endpoint`` of the provider serving
    ``href``, when it has one (an emulator), else Azure's ``https://<account>.blob...``."""
    provider = broker.provider_for(href)
    endpoint = getattr(provider, "account_url", None)
    return endpoint(account) if endpoint is not None else f"https://{account}{_SUFFIXES[1]}"


def blob_filesystem(href: str, broker: Broker, *, asynchronous: bool = False) -> Any:
    """An adlfs filesystem for the account of ``href`` (an href naming it, see
    :func:`with_account`) whose requests are signed with the broker's credential."""
    account = account_of(href)
    if account is None:
        raise errors.ResolveError(
            f"{safe_href(href)} names no Azure storage account; see xstac_access.credentials."
            "azure.with_account"
        )
    try:
        from ._adlfs import BrokeredBlobFileSystem
    except ImportError:
        raise errors.UnsupportedFormatError(
            f"{safe_href(href)} is on Azure blob storage (account {account!r}), which "
            f"xstac-access reads with adlfs, not installed here: {INSTALL}."
        ) from None
    return BrokeredBlobFileSystem(
        account_name=account,
        account_url=account_url(account, broker, blob_url(href)),
        handle=broker.handle(),
        asynchronous=asynchronous,
        skip_instance_cache=True,
    )
