"""Temporary S3 keys from a NASA Earthdata DAAC, for its ``s3://`` hrefs (in-region reads).

A DAAC's ``s3credentials`` endpoint (``https://data.lpdaac.earthdatacloud.nasa.gov/
s3credentials``; the Thin Egress App's "S3 Direct Access", what earthaccess uses) answers a
user logged in with Earthdata Login (the same redirect, Basic login and cookie as the data
URLs, or an EDL bearer token) with ``accessKeyId``, ``secretAccessKey``, ``sessionToken`` and
``expiration``: keys valid one hour, for reads of the DAAC's buckets from AWS ``us-west-2``.
:class:`EarthdataS3` fetches them through the HTTP layer with the Earthdata
credential, and fetches new ones ``margin`` seconds before they expire (on the shared clock,
:mod:`xstac_access._clock`) or after the store refused them. Being short-lived, the keys (not
the Earthdata password or token) may be relayed to dask workers.

Configured as options of the ``earthdata`` preset: ``s3_credentials`` maps bucket names to
their DAAC's endpoint (LP DAAC's by default), ``s3_region`` (``us-west-2``) and
``s3_endpoint_url`` (an S3 endpoint other than AWS's; none by default).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .. import errors
from .._hrefs import host_of
from .._log import get_logger
from ..http import fetch
from .material import Material
from .providers import Provider, Refreshing
from .rules import BrokerOfOne
from .secrets import Secret

if TYPE_CHECKING:
    from ..http.protocols import BrokerLike

log = get_logger(__name__)

LPDAAC = "https://data.lpdaac.earthdatacloud.nasa.gov/s3credentials"
#: Buckets whose DAAC endpoint is known without configuration.
DEFAULT_ENDPOINTS: Mapping[str, str] = {"lp-prod-protected": LPDAAC, "lp-prod-public": LPDAAC}
REGION = "us-west-2"


class EarthdataS3(Refreshing):
    """S3 keys from ``credentials_url``, obtained with the Earthdata ``login`` provider.

    ``keys_broker`` is what the keys are requested through: a broker whose one rule gives
    ``credentials_url`` to ``login`` (built by the configuration, :func:`bucket_rules`).
    """

    kind = "earthdata-s3"

    def __init__(
        self,
        credentials_url: str,
        login: Provider,
        *,
        keys_broker: BrokerLike,
        region: str = REGION,
        endpoint_url: str | None = None,
        margin: float = 300.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.credentials_url, self.login, self.keys_broker = credentials_url, login, keys_broker
        self.region, self.endpoint_url, self.margin = region, endpoint_url, margin
        self._fingerprint_secrets(login.id)
        #: How many times keys were fetched (for tests and ``xstac auth``).
        self.requests = 0

    def public_config(self) -> dict[str, Any]:
        config = {
            "credentials_url": self.credentials_url, "login": type(self.login).__name__,
            "region": self.region, "endpoint_url": self.endpoint_url,
        }  # fmt: skip
        return {**{k: v for k, v in config.items() if v}, **super().public_config()}

    def _margin(self) -> float:
        return self.margin

    def wire_s3(self, material: Material, href: str) -> dict[str, Any]:
        return material.s3_options()  # one hour's keys: access material, like a token

    def _fetch(self) -> Material:
        url, host = self.credentials_url, host_of(self.credentials_url)
        body = fetch(url, broker=self.keys_broker, what="Earthdata S3 credentials")
        self.requests += 1
        try:
            keys = json.loads(body)
            options = {
                "anon": False,
                "key": str(keys["accessKeyId"]),
                "secret": Secret(str(keys["secretAccessKey"])),
                "token": Secret(str(keys["sessionToken"])),
                "client_kwargs": {"region_name": self.region}
                | ({"endpoint_url": self.endpoint_url} if self.endpoint_url else {}),
            }
            expires_at = _expiry(str(keys["expiration"]))
        except (ValueError, KeyError, TypeError):
            raise errors.AuthError(
                f"the Earthdata S3 credentials endpoint {url} did not answer with keys "
                "(accessKeyId, secretAccessKey, sessionToken, expiration); check the DAAC's "
                "s3credentials URL in the earthdata preset's s3_credentials option",
                host=host,
            ) from None
        log.debug("new S3 keys from %s, valid until %s", host, keys["expiration"])
        return Material.build(s3=options, expires_at=expires_at)


def _expiry(text: str) -> float:
    """``"2026-01-27 00:50:09+00:00"`` (a naive time is UTC) as seconds since the epoch."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def bucket_rules(
    options: Mapping[str, Any],
    login: Provider,
    broker_of: BrokerOfOne,
) -> list[tuple[str, Provider]]:
    """``(s3://<bucket>/*, provider)`` for each bucket of the earthdata preset's
    ``s3_credentials`` (a mapping, or ``bucket=url,...`` text from an environment variable),
    one provider per DAAC endpoint, sharing ``login``; ``broker_of(url, login)`` makes the broker
    of that one rule that each endpoint is asked through."""
    endpoints = options.get("s3_credentials", DEFAULT_ENDPOINTS)
    if isinstance(endpoints, str):
        pairs = (item.partition("=") for item in endpoints.split(",") if item.strip())
        endpoints = {bucket.strip(): url.strip() for bucket, _, url in pairs}
    providers: dict[str, EarthdataS3] = {}
    rules: list[tuple[str, Provider]] = []
    for bucket, url in dict(endpoints or {}).items():
        if url not in providers:
            providers[url] = EarthdataS3(
                url, login, keys_broker=broker_of(url, login),
                region=options.get("s3_region") or REGION,
                endpoint_url=options.get("s3_endpoint_url"),
            )  # fmt: skip
        rules.append((f"s3://{bucket}/*", providers[url]))
    return rules
