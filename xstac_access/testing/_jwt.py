"""Checking the local world's JWTs the way a resource server does, on the shared test clock.

PyJWT checks ``exp`` against the system clock only; the local servers and the library measure
lifetimes on :func:`xstac_access._clock.now` (which a test may move forward), so ``exp`` is
checked here instead, with everything else (signature, issuer, required claims) left to PyJWT.
"""

from __future__ import annotations

from typing import Any

import jwt

from xstac_access import _clock


def verify(token: str, key: Any, *, issuer: str, require: tuple[str, ...] = ()) -> dict[str, Any]:
    """The claims of an RS256 ``token`` signed with ``key`` by ``issuer``, not expired on the
    shared clock; ``jwt.PyJWTError`` when any of that does not hold."""
    claims = jwt.decode(
        token,
        key,
        algorithms=["RS256"],
        issuer=issuer,
        options={
            "require": ["exp", "iss", *require],
            "verify_aud": False,
            "verify_exp": False,
            "verify_iat": False,
            "verify_nbf": False,
        },
    )
    if float(claims["exp"]) <= _clock.now():
        raise jwt.ExpiredSignatureError("Signature has expired")
    return claims
