"""Credentials for every catalogue, resolved per host, reaching GDAL, fsspec/zarr and HTTP alike.

Quick set-up (each also works from environment variables and the TOML config file)::

    from xstac_access import credentials
    credentials.configure(maap={"offline_token_file": "~/maap-offline-token.txt"})   # ESA MAAP
    credentials.configure(cdse={"username": "me@example.org", "password": "..."})    # CDSE
    credentials.configure(earthdata={"token": "..."})  # or a ~/.netrc entry, used by default

See :mod:`.config` for presets, environment variables and the file format; :mod:`.rules` for
patterns; :mod:`.broker` for the broker, the handles readers carry and the process's broker;
:mod:`.relay` for dask workers.
"""

from __future__ import annotations

from .._log import RedactingFilter, redact
from .broker import Access, Broker, broker_from, configure, get_broker, reset
from .config import PRESETS, config_path
from .earthdata import EarthdataLogin
from .material import Material
from .oidc import OidcPassword, OidcRefreshToken
from .providers import Anonymous, BearerToken, Provider, S3Credentials, SasSigner
from .rules import Rule
from .secrets import Secret

__all__ = [
    "PRESETS", "Access", "Anonymous", "BearerToken", "Broker", "EarthdataLogin", "Material",
    "OidcPassword", "OidcRefreshToken", "Provider", "RedactingFilter", "Rule", "S3Credentials",
    "SasSigner", "Secret", "broker_from", "config_path", "configure", "get_broker", "redact",
    "reset",
]  # fmt: skip
