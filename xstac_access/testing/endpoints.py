"""The addresses of the local world's servers, passed between its parts as one value."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Endpoints:
    """Base URLs (no trailing slash) of the servers of one running local world.

    ``http`` is the data host, ``http_alt`` the same file server on a second port standing for
    another host (download host, login host, redirect target). ``s3`` is the S3-compatible
    store's endpoint URL, ``oidc`` the token server's base (realms below ``/realms/<realm>``),
    ``stac`` the STAC API root and ``stac_quirks`` the proxy in front of it whose path prefixes
    imitate real catalogues' search limits (``/noquery/``, ``/cmr/``, ...: see
    :mod:`xstac_access.testing.stacproxy`). ``azure`` is Azurite's blob service (an account's
    service is ``<azure>/<account>``), ``""`` where there is none.
    """

    http: str
    http_alt: str
    s3: str
    oidc: str
    stac: str
    stac_quirks: str = ""
    azure: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


#: Made-up server addresses (the reserved ``.invalid`` top-level domain, RFC 2606): the
#: replica's items built for them point nowhere. For tests that read an item's JSON, compare it
#: with a real catalogue's or map its hrefs to the generated files, without a running world.
OFFLINE = Endpoints(
    http="http://files.invalid",
    http_alt="http://alt.invalid",
    s3="http://s3.invalid",
    oidc="http://oidc.invalid",
    stac="http://stac.invalid",
)


def started(part: T | None) -> T:
    """A part of a local world (its endpoints, replica, admin clients...), which is ``None``
    until the world is started: for code that runs in a started world only."""
    if part is None:
        raise RuntimeError("the local world is not started: start() it first")
    return part
