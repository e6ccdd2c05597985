"""What a credential provider hands out: short-lived material for one request path.

:class:`Material` is transport-neutral: headers and cookies for HTTP (plain requests, fsspec and
GDAL alike), a query string to append for URL signing, and storage options for S3. Secret parts
are :class:`~xstac_access.credentials.secrets.Secret` objects until the moment they are sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

from .. import _clock
from .secrets import Secret

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _empty() -> Mapping[str, Any]:
    return _EMPTY


@dataclass(frozen=True)
class Material:
    """Access material for one href.

    ``version`` is a short fingerprint of the secret parts: equal versions mean the same
    credential, so a failed request can say which material failed without naming it.
    """

    headers: Mapping[str, Secret] = field(default_factory=_empty)
    cookies: Mapping[str, Secret] = field(default_factory=_empty)
    query: Secret | None = None
    s3: Mapping[str, Any] = field(default_factory=_empty)
    expires_at: float | None = None
    version: str = ""

    @classmethod
    def build(cls, **parts: Any) -> Material:
        """Make material and compute its version from its secret parts."""
        digest = hashlib.sha256()
        for name in ("headers", "cookies", "s3"):
            for key, value in sorted((parts.get(name) or {}).items()):
                raw = value.reveal() if isinstance(value, Secret) else repr(value)
                digest.update(f"{name}:{key}={raw};".encode())
        if parts.get("query") is not None:
            digest.update(parts["query"].reveal().encode())
        for name in ("headers", "cookies", "s3"):
            parts[name] = MappingProxyType(dict(parts.get(name) or {}))
        return cls(**parts, version=digest.hexdigest()[:12])

    def expires_within(self, seconds: float) -> bool:
        return self.expires_at is not None and _clock.now() + seconds >= self.expires_at

    def http_headers(self) -> dict[str, str]:
        """Headers to send, secrets revealed, cookies folded into one ``Cookie`` header."""
        out = {name: value.reveal() for name, value in self.headers.items()}
        if self.cookies:
            out["Cookie"] = "; ".join(f"{k}={v.reveal()}" for k, v in self.cookies.items())
        return out

    def sign(self, href: str) -> str:
        """``href`` with the signing query appended (replacing any query it had)."""
        if self.query is None:
            return href
        parts = urlsplit(href)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, self.query.reveal(), ""))

    def s3_options(self) -> dict[str, Any]:
        """s3fs storage options, secrets revealed (for the call that needs them, only)."""
        return {k: (v.reveal() if isinstance(v, Secret) else v) for k, v in self.s3.items()}

    def __repr__(self) -> str:
        parts = [f"headers={sorted(self.headers)}"] if self.headers else []
        if self.cookies:
            parts.append(f"cookies={sorted(self.cookies)}")
        if self.query is not None:
            parts.append("query=***")
        if self.s3:
            parts.append(f"s3={sorted(self.s3)}")
        return f"Material({', '.join(parts)}, version={self.version!r})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("credential material cannot be pickled; pickle an Access handle instead")


NO_MATERIAL = Material.build()
