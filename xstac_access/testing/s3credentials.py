"""Temporary S3 keys as NASA Earthdata DAACs issue them, made stateless for the local world.

A DAAC's ``/s3credentials`` endpoint (Thin Egress App, "S3 Direct Access") gives a logged-in
user ``accessKeyId``, ``secretAccessKey``, ``sessionToken`` and ``expiration``
(``"2026-01-27 00:50:09+00:00"``), valid one hour, for in-region reads of its buckets. Here the
file server issues them and the S3 store's bucket rule checks them, with nothing shared but a
secret: the key id carries its expiry (on the shared test clock) and an HMAC of it, and the
secret key and session token are HMACs of the key id.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from xstac_access import _clock

#: How long issued keys live, as the DAACs document (one hour).
LIFETIME = 3600
#: Where the file server answers (behind its Earthdata login), as on a DAAC's data host.
PATH = "/s3credentials"
_PREFIX = "ASIA"  # the prefix of AWS temporary (STS) access key ids


@dataclass(frozen=True)
class Issued:
    """One set of temporary keys."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expires_at: int

    def as_json(self) -> dict[str, str]:
        """The DAAC's JSON answer."""
        expiration = datetime.fromtimestamp(self.expires_at, tz=UTC)
        return {
            "accessKeyId": self.access_key_id,
            "secretAccessKey": self.secret_access_key,
            "sessionToken": self.session_token,
            "expiration": expiration.isoformat(sep=" "),
        }


def _mac(secret: bytes, *parts: str) -> bytes:
    return hmac.new(secret, "|".join(parts).encode(), "sha256").digest()


def _derive(secret: bytes, key_id: str, expires_at: int) -> Issued:
    secret_key = base64.b64encode(_mac(secret, "secret", key_id)).decode()[:40]
    token = base64.b64encode(_mac(secret, "token", key_id) * 4).decode()
    return Issued(key_id, secret_key, token, expires_at)


def issue(secret: bytes, now: float, lifetime: float = LIFETIME) -> Issued:
    """New keys valid ``lifetime`` seconds from ``now``."""
    expires_at = int(now + lifetime)
    nonce = secrets.token_hex(3).upper()
    body = f"{expires_at:010d}{nonce}"
    tag = _mac(secret, "key", body).hex()[:8].upper()
    return _derive(secret, f"{_PREFIX}{body}{tag}", expires_at)


def check(secret: bytes, key_id: str) -> Issued | None:
    """The keys of ``key_id`` if ``secret`` issued it (expired or not), else ``None``."""
    body, tag = key_id[len(_PREFIX) : -8], key_id[-8:]
    if not key_id.startswith(_PREFIX) or len(body) != 16 or not body[:10].isdigit():
        return None
    if not hmac.compare_digest(_mac(secret, "key", body).hex()[:8].upper(), tag):
        return None
    return _derive(secret, key_id, int(body[:10]))


def answer(config: Mapping[str, Any]) -> dict[str, str]:
    """The file server's answer to ``GET /s3credentials``, for its ``s3credentials`` config
    (``secret``: hex, ``lifetime``: seconds, default :data:`LIFETIME`)."""
    secret = bytes.fromhex(config["secret"])
    return issue(secret, _clock.now(), float(config.get("lifetime", LIFETIME))).as_json()
