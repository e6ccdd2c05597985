"""The one requests session type: per-hop credentials, the retry policy, one refresh per refusal.

Every HTTP request the library makes with requests goes through a :class:`Session`: the engine's
own reads and downloads (:mod:`.reads`, a pooled session per thread: :func:`pooled`), catalogue
searches (pystac-client's ``StacApiIO`` is given one bound to the broker), and token endpoints
(OIDC, SAS, Earthdata's S3 keys: the same pooled session, without a credential chain, so that
N token requests reuse one connection).

* Credentials are set per hop at the moment of sending, never by the caller: the first hop's by
  :meth:`Session.send`, each redirect's by :meth:`Session.rebuild_auth`, the hook requests calls
  for every redirect it follows, both deciding through one :class:`~.hops.Chain`. The
  session keeps no cookies and reads nothing from the environment (no ``~/.netrc`` Basic auth,
  no proxy variables).
* Busy servers and failed connections are retried by the adapter's urllib3 ``Retry``, derived
  from the :class:`~.policy.RetryPolicy`; a body cut mid-read is read again here; both spend one
  :class:`~.policy.Budget` per request (a streamed body is its caller's to read and retry).
* A refusal (401/403) of a credential that was sent refreshes it once and walks the chain again
  (:class:`~.hops.Refresh`): an expired presigned redirect target is issued anew that way.
* Each attempt holds a connection slot of the origin's provider (:mod:`.limits`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from .._hrefs import host_of
from .hops import Chain, Refresh
from .limits import slot
from .policy import RetryPolicy, current_policy, joined_budget
from .protocols import BrokerLike

TIMEOUT = (10.0, 60.0)  # connect, read
MAX_REDIRECTS = 10
USER_AGENT = "xstac-access"
_CHAIN = "xstac_chain"  # the PreparedRequest attribute carrying a request's Chain
_WHAT = "xstac_what"  # ... and how messages name what it reads
_BROKEN = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)


class BodyBroke(requests.exceptions.ChunkedEncodingError):
    """The connection broke while the body was read, and the retry budget is spent."""


class Session(requests.Session):
    """A requests session with the library's credentials, retries and refresh (see the module
    docstring). ``broker`` serves requests prepared elsewhere (pystac-client's); requests made
    with :meth:`open` bring their own :class:`~.hops.Chain`, or go without a credential."""

    def __init__(self, broker: BrokerLike | None = None, policy: RetryPolicy | None = None):
        super().__init__()
        self.broker = broker
        self.policy = policy or current_policy()
        self.trust_env = False  # no ~/.netrc Basic auth or proxy variables sneaking in
        self.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # keep none
        self.headers["User-Agent"] = USER_AGENT
        self.max_redirects = MAX_REDIRECTS
        adapter = HTTPAdapter(max_retries=self.policy.urllib3_retry())
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def open(
        self,
        method: str,
        url: str,
        *,
        chain: Chain | None = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        stream: bool = False,
        what: str = "request",
        refresh: bool = True,
    ) -> requests.Response:
        """``method url`` with ``chain``'s credential on every hop (none without one), retried
        under the policy, refreshed once after a refusal unless ``refresh`` is false. Failures
        are requests' exceptions; the status is the caller's to judge."""
        prepared = self.prepare_request(
            requests.Request(method, url, headers=dict(headers or {}), data=data)
        )
        setattr(prepared, _WHAT, what)
        return self._send(prepared, chain, stream=stream, refresh=refresh, timeout=TIMEOUT)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Send ``request`` (a redirect hop as it is: :meth:`rebuild_auth` set its credential);
        a request prepared elsewhere gets the bound broker's credential for its URL."""
        if kwargs.get("allow_redirects", True) is False:
            return super().send(request, **kwargs)
        chain = None
        if self.broker is not None:
            chain = Chain(self.broker, self.broker.access(request.url or ""))
        stream = bool(kwargs.pop("stream", False))
        return self._send(request, chain, stream=stream, refresh=True, **kwargs)

    def _send(
        self,
        request: requests.PreparedRequest,
        chain: Chain | None,
        *,
        stream: bool,
        refresh: bool,
        **kwargs: Any,
    ) -> requests.Response:
        what = getattr(request, _WHAT, "request")
        once = Refresh(what)
        with joined_budget(what, request.url or "") as spent:
            while True:
                resp = self._attempt(request, chain, **kwargs)
                if chain is not None:
                    chain.keep_cookies(resp.cookies)
                    if refresh and once.again(resp.status_code, chain.origin, chain.first,
                                              chain.url):  # fmt: skip
                        resp.close()
                        chain.restart()
                        continue
                if stream:
                    return resp
                try:
                    resp.content  # noqa: B018 (read the whole body now: a cut one is read again)
                except _BROKEN as exc:
                    resp.close()
                    host = host_of(resp.url or "")
                    if not spent.spend("the connection broke while reading", host=host):
                        raise BodyBroke(str(exc), response=resp) from None
                    if chain is not None:
                        chain.restart(chain.first)
                    continue
                return resp

    def _attempt(
        self, request: requests.PreparedRequest, chain: Chain | None, **kwargs: Any
    ) -> requests.Response:
        """One walk of the chain: the first hop's credential here, the others in
        :meth:`rebuild_auth`; the body is left unread."""
        hop = request.copy()
        if chain is None:
            return super().send(hop, stream=True, **kwargs)
        chain.headers(hop.headers)
        hop.url = chain.sign(hop.url or "")
        setattr(hop, _CHAIN, chain)
        with slot(chain.origin):  # one slot of the origin's provider for the whole chain
            return super().send(hop, stream=True, **kwargs)

    def rebuild_auth(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        """requests' hook for each redirect it follows: the next hop's credential (and the
        cookies the last hop set, kept by the provider that logged in)."""
        chain: Chain | None = getattr(response.request, _CHAIN, None)
        if chain is None:  # a request without credentials (a token endpoint): requests' rule
            super().rebuild_auth(prepared_request, response)
            return
        chain.keep_cookies(response.cookies)
        chain.follow(prepared_request.url or "")
        chain.headers(prepared_request.headers)
        prepared_request.url = chain.sign(chain.url)
        setattr(prepared_request, _CHAIN, chain)


_local = threading.local()


def pooled() -> Session:
    """This thread's session (under the current policy): its connections are reused by every
    read, download and token request the thread makes."""
    session = getattr(_local, "session", None)
    if session is None or session.policy is not current_policy():
        session = _local.session = Session()
    return session


def _forget_sessions() -> None:
    """In a forked child: the parent's pooled connections are not this process's to use."""
    global _local
    _local = threading.local()


os.register_at_fork(after_in_child=_forget_sessions)
