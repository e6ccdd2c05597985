"""adlfs with the broker's credential on every request, and typed errors (needs ``adlfs``).

:class:`BrokeredBlobFileSystem` is adlfs's filesystem whose blob service client sends through
:class:`SigningTransport`. For each request, retries included, the transport asks the broker
for the credential of the blob's own URL (:func:`~.azure.blob_url`) and appends that SAS token
to the query (or sets its headers), the moment the request leaves: a token refreshed by its
provider is picked up at once, and none is baked into the client. After a 401/403 it refreshes
the credential once and tries again (the one rule of :class:`xstac_access.http.hops.Refresh`);
busy servers and failed connections are retried under the library's one retry policy
(:mod:`xstac_access.http.policy`; the SDK's own retries, 15 s apart, are off); what still fails
becomes an :class:`~xstac_access.errors.AccessError` naming the account and blob.

The signed URL lives only while the request is sent: the request object is given its unsigned
URL back, so no response, log line or exception of the SDK carries the token. Credentials are
per container (a SAS token's scope): the first blob read of a container decides its
:class:`~.broker.Access`. The filesystem pickles as its account, endpoint, broker handle and
those Access handles, which offer their material to dask workers through the relay
(:mod:`.relay`) as they are pickled: workers sign with tokens relayed to them (or fetched with
their own configuration), never with one from the pickle.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from adlfs import AzureBlobFileSystem
from azure.core.exceptions import ServiceRequestError, ServiceResponseError
from azure.core.pipeline.transport import AioHttpTransport

from .. import errors
from .._hrefs import host_of, safe_href
from ..http.hops import REFUSED, SECRET_HEADERS, Refresh
from ..http.policy import Budget, current_policy, parse_retry_after
from .broker import Access, BrokerHandle
from .config import advice


class SigningTransport(AioHttpTransport):
    """aiohttp transport that signs each request with the broker's credential for its blob."""

    def __init__(
        self,
        account: str,
        account_url: str,
        handle: BrokerHandle,
        accesses: dict[str, Access] | None = None,
    ) -> None:
        super().__init__(use_env_settings=False)  # no proxy or netrc from the environment
        self.account, self.account_url, self.handle = account, account_url.rstrip("/"), handle
        self.accesses: dict[str, Access] = dict(accesses or {})  # by container

    def access(self, href: str) -> Access:
        """The credential of ``href``'s container (see the module docstring)."""
        container = urlsplit(href).path.lstrip("/").partition("/")[0]
        known = self.accesses.get(container)
        if known is None:
            known = self.accesses[container] = self.handle.access(href)
        return known

    def blob_href(self, url: str) -> str:
        """The blob's own URL for a request URL of this account's service (query dropped)."""
        parts = urlsplit(url)
        bare = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        path = bare[len(self.account_url) :] if bare.startswith(self.account_url) else parts.path
        return f"https://{self.account}.blob.core.windows.net{path}"

    async def send(self, request: Any, **kwargs: Any) -> Any:
        unsigned = request.url
        href = self.blob_href(unsigned)
        access = self.access(href)
        refresh, spent = Refresh(safe_href(href)), Budget(current_policy(), safe_href(href), href)
        while True:
            material = await asyncio.to_thread(access.material)  # a refresh blocks: off the loop
            request.url = _signed(unsigned, material.query.reveal() if material.query else "")
            for name in SECRET_HEADERS:
                request.headers.pop(name, None)
            request.headers.update(material.http_headers())
            try:
                response = await super().send(request, **kwargs)
            except (ServiceRequestError, ServiceResponseError) as exc:
                if not await spent.spend_async(exc.__class__.__name__):
                    raise self._unreachable(href, exc, spent.attempts) from None
                continue
            finally:
                request.url = unsigned
            status = response.status_code
            if refresh.again(status, access, material, self.account_url):
                _discard(response)
                continue
            if status in spent.policy.statuses:
                _discard(response)
                wait = parse_retry_after(response.headers.get("Retry-After"))
                if await spent.spend_async(status, wait):
                    continue
                raise self._refused(href, status, response.headers, access.needed, spent.attempts)
            if status in REFUSED or status == 400 or status >= 500:
                _discard(response)
                raise self._refused(href, status, response.headers, access.needed, spent.attempts)
            return response

    def _where(self, href: str) -> str:
        """How messages name the blob: its URL, and the endpoint when it is not Azure's."""
        host = host_of(self.account_url)
        at = "" if host == host_of(href) else f" (served at {host})"
        return f"{safe_href(href)}{at}"

    def _unreachable(self, href: str, exc: Exception, attempts: int) -> errors.AccessError:
        return errors.AccessError(
            f"cannot reach the blob service of Azure storage account {self.account!r} for "
            f"{self._where(href)}: {exc.__class__.__name__} (gave up after {attempts} attempts)",
            href=safe_href(href),
            host=host_of(self.account_url),
        )

    def _refused(
        self, href: str, status: int, headers: Any, needed: bool, attempts: int
    ) -> errors.AccessError:
        code = headers.get("x-ms-error-code") or ""
        answer = f"HTTP {status}" + (f" {code}" if code else "")
        kind: type[errors.AccessError] = errors.AccessError
        if status in REFUSED:
            kind = errors.AuthError
            why = (
                "refused the credential even after a fresh one was fetched"
                if needed
                else "wants a credential and none is configured for it"
            )
            what = f"{why} ({answer}). {advice(href)}"
        else:
            tries = f" (gave up after {attempts} attempts)" if attempts > 1 else ""
            what = f"answered {answer}{tries}"
        return kind(
            f"{self._where(href)}: Azure storage account {self.account!r} {what}",
            href=safe_href(href),
            host=host_of(self.account_url),
            status=status,
        )


class BrokeredBlobFileSystem(AzureBlobFileSystem):
    """adlfs's filesystem for one storage account, served at ``account_url``, whose every
    request carries the credential ``handle``'s broker gives the blob (see the module doc)."""

    def __init__(
        self,
        account_name: str,
        account_url: str,
        handle: BrokerHandle,
        accesses: dict[str, Access] | None = None,
        **kwargs: Any,
    ) -> None:
        self._account_url, self._handle, self._accesses = account_url.rstrip("/"), handle, accesses
        # anon: adlfs looks for no ambient Azure identity; the transport signs instead.
        super().__init__(account_name=account_name, anon=True, **kwargs)

    def do_connect(self) -> None:
        from azure.storage.blob.aio import BlobServiceClient
        from fsspec.asyn import get_loop

        # adlfs registers, right after this, a finalizer closing the client at exit in
        # self.loop, which an asynchronous fsspec filesystem leaves unset (so adlfs's own close
        # fails then): fsspec's loop is there until the end. The client is used from zarr's
        # loop, where xstac-access closes it first (readers._zarrstore).
        self._loop: asyncio.AbstractEventLoop = self._loop or get_loop()
        self.account_url = self._account_url
        self.transport = SigningTransport(
            self.account_name, self._account_url, self._handle, self._accesses
        )
        self.service_client = BlobServiceClient(
            self._account_url, transport=self.transport, retry_total=0
        )

    def __reduce__(self) -> tuple[Any, ...]:
        options = {
            "account_name": self.account_name,
            "account_url": self._account_url,
            "handle": self._handle,
            "accesses": dict(self.transport.accesses),
            "asynchronous": self.asynchronous,
        }
        return (_rebuild, (options,))

    def __repr__(self) -> str:
        return f"BrokeredBlobFileSystem(account={self.account_name!r}, url={self._account_url!r})"


def _rebuild(options: dict[str, Any]) -> BrokeredBlobFileSystem:
    return BrokeredBlobFileSystem(**options, skip_instance_cache=True)


def _signed(url: str, token: str) -> str:
    """``url`` with the SAS ``token`` added to the request's own query (``comp=list``...)."""
    if not token:
        return url
    parts = urlsplit(url)
    query = f"{parts.query}&{token.lstrip('?')}" if parts.query else token.lstrip("?")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _discard(response: Any) -> None:
    """Let a response that will not be read go (its connection is closed, not reused)."""
    internal = getattr(response, "internal_response", None)
    if internal is not None:
        internal.close()
