"""The one HTTP layer: every session the library opens, and every decision about its requests.

* :mod:`.session`: the requests :class:`~.session.Session` (the engine's reads, downloads,
  searches, token services), a pooled one per thread; :mod:`.aio`: the aiohttp sessions of
  fsspec/zarr. Nothing else in the library constructs an HTTP session.
* :mod:`.hops`: the credential of every hop of a redirect chain, and the one refresh after a
  refusal, decided once for both clients; :mod:`.protocols`: what that needs of a broker (this
  package imports neither the credentials nor the readers: the credentials import it for their
  tokens, :mod:`.tokens`).
* :mod:`.policy`: the :class:`~.policy.RetryPolicy` from which urllib3's ``Retry``, the aiohttp
  middleware's loop and GDAL's retry options are derived, and the budget of one request.
* :mod:`.fetch`: the engine's small reads of any scheme; :mod:`.reads`: whole and streamed
  GETs with typed errors; :mod:`.ranged`: byte ranges and servers without Range;
  :mod:`.landings`: where redirects land, for GDAL; :mod:`.limits`: connection limits per
  credential.
"""

from __future__ import annotations

from .fetch import fetch, fetch_json, land
from .hops import Landing
from .policy import RetryPolicy, current_policy
from .reads import login_page_error, looks_like_html, refusal, stream

__all__ = [
    "Landing",
    "RetryPolicy",
    "current_policy",
    "fetch",
    "fetch_json",
    "land",
    "login_page_error",
    "looks_like_html",
    "refusal",
    "stream",
]  # fmt: skip
