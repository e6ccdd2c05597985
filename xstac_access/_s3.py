"""S3 in one place: which region a bucket is in and who pays, and the s3fs filesystems.

Where a bucket is, from the most to the least specific source:

1. the item, through the STAC storage extension: v1 ``storage:region`` /
   ``storage:requester_pays`` on the asset or in the item's properties (Earth Search's
   ``sentinel-1-grd`` and ``landsat-c2-l2`` items), v2 ``storage:refs`` on the asset naming an
   entry of the item's ``storage:schemes`` (CMR-STAC, the CDSE STAC API)
   (https://github.com/stac-extensions/storage);
2. the credential's own ``region``;
3. :data:`REGISTRY`: the buckets of the AWS open-data registry that the catalogues point at
   (https://registry.opendata.aws: ``sentinel-s1-l1c``, ``sentinel-s2-l1c`` and
   ``sentinel-s2-l2a`` are requester-pays buckets in ``eu-central-1``, ``usgs-landsat`` one in
   ``us-west-2``, ``sentinel-cogs`` is public in ``us-west-2``).

A request signed for the wrong region is answered with a redirect to another endpoint (301
``PermanentRedirect``) or a 400 ``AuthorizationHeaderMalformed``; botocore retries it at the cost
of a round trip, GDAL follows the redirect to AWS's endpoint (so a custom endpoint is left).

s3fs filesystems (:func:`filesystem`) address a custom endpoint path-style, which Ceph's tenant
buckets (``<tenant>:<bucket>``, the EOPF object store at ``objects.eodc.eu``) and CDSE's
``eodata`` need, and accept such bucket names: botocore refuses a name with a colon before any
request is made (``ParamValidationError``), so its client-side bucket-name check is switched off
on each client the filesystem makes (never on botocore as a whole); the server judges the name.
A filesystem made for a credential's :class:`~xstac_access.credentials.broker.Access` pickles
as that handle (no key in a dask graph) and is made again, with the material the worker gets,
where it is unpickled. s3fs itself is imported only when a filesystem is made. Errors of s3fs
and botocore become typed errors naming the bucket (:func:`s3_errors`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import errors
from ._hrefs import host_of, safe_href

if TYPE_CHECKING:
    from .credentials.broker import Access


@dataclass(frozen=True)
class Location:
    """Where a bucket is and whether its readers pay (``None``: not known here)."""

    region: str | None = None
    requester_pays: bool | None = None

    def __bool__(self) -> bool:
        return self.region is not None or self.requester_pays is not None


#: Buckets of the AWS open-data registry that STAC catalogues point at.
REGISTRY: Mapping[str, Location] = {
    "sentinel-s1-l1c": Location("eu-central-1", True),
    "sentinel-s2-l1c": Location("eu-central-1", True),
    "sentinel-s2-l2a": Location("eu-central-1", True),
    "usgs-landsat": Location("us-west-2", True),
    "sentinel-cogs": Location("us-west-2", False),
}
#: Storage-extension v2 scheme types that describe an S3 API.
_S3_SCHEMES = ("aws-s3", "custom-s3")


def bucket_of(href: str) -> str:
    """The bucket of an ``s3://`` href, Ceph tenant included (``tenant:bucket``)."""
    return host_of(href)


def registry_location(href: str) -> Location:
    """What :data:`REGISTRY` says of the href's bucket (an empty location when unknown)."""
    return REGISTRY.get(bucket_of(href), Location())


def item_location(asset: Mapping[str, Any], item: Mapping[str, Any] | None) -> Location:
    """Where the catalogue says an asset's bucket is (storage extension v1 or v2).

    Asset fields first, then the schemes the asset refers to, then the item's own v1 fields.
    A scheme's ``platform`` (its endpoint) is not taken: which host receives the user's keys
    is the user's configuration, never the catalogue's.
    """
    properties = (item or {}).get("properties") or {}
    v1 = _v1(asset)
    if v1:
        return v1
    schemes = properties.get("storage:schemes") or (item or {}).get("storage:schemes") or {}
    refs = asset.get("storage:refs") or []
    for ref in [refs] if isinstance(refs, str) else refs:
        scheme = schemes.get(ref) if isinstance(schemes, Mapping) else None
        if isinstance(scheme, Mapping) and scheme.get("type") in _S3_SCHEMES:
            pays = scheme.get("requester_pays")
            return Location(scheme.get("region"), pays if isinstance(pays, bool) else None)
    return _v1(properties)


def _v1(fields: Mapping[str, Any]) -> Location:
    region, pays = fields.get("storage:region"), fields.get("storage:requester_pays")
    return Location(
        region if isinstance(region, str) and region else None,
        pays if isinstance(pays, bool) else None,
    )


def s3fs_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """s3fs keyword arguments for storage ``options``: anonymous when empty, and path-style
    addressing at a custom endpoint (unless the options choose a style themselves)."""
    kwargs = dict(options) or {"anon": True}
    client = dict(kwargs.get("client_kwargs") or {})
    if client.get("endpoint_url") or kwargs.get("endpoint_url"):
        config = dict(kwargs.get("config_kwargs") or {})
        config["s3"] = {"addressing_style": "path", **dict(config.get("s3") or {})}
        kwargs["config_kwargs"] = config
    return kwargs


def filesystem(
    options: Mapping[str, Any], *, asynchronous: bool = False, access: Access | None = None
) -> Any:
    """A new s3fs filesystem for storage ``options`` (see :func:`s3fs_options`) that accepts
    Ceph tenant bucket names. ``asynchronous=True`` gives the coroutine interface zarr drives.
    With ``access`` (the credential the options came from) it pickles as that handle."""
    cls = globals().get("TenantS3FileSystem") or __getattr__("TenantS3FileSystem")
    fs = cls(skip_instance_cache=True, asynchronous=asynchronous, **s3fs_options(options))
    fs.xstac_access = access
    return fs


def _restore(access: Access, asynchronous: bool) -> Any:
    """Unpickling a filesystem: made again with this process's material for its credential."""
    return filesystem(access.material().s3_options(), asynchronous=asynchronous, access=access)


def read_bytes(
    href: str,
    byte_range: tuple[int, int] | None,
    options: Mapping[str, Any],
    what: str,
    advice: Callable[[str], str],
) -> bytes:
    """The bytes of an ``s3://`` href (or of ``byte_range = (start, stop)``, stop exclusive),
    read with the s3fs ``options`` of its credential; failures are typed errors."""
    path = href[len("s3://") :]
    with s3_errors(href, what, advice):
        fs = filesystem(dict(options))
        if byte_range is None:
            return fs.cat_file(path)
        return fs.cat_file(path, start=byte_range[0], end=byte_range[1])


@contextlib.contextmanager
def s3_errors(href: str, what: str, advice: Callable[[str], str]) -> Iterator[None]:
    """Turn the errors of an s3fs call on ``href`` into typed errors naming the bucket: the
    builtin ones s3fs raises, and botocore's own (no credentials found, bad parameters).
    ``advice`` says what to configure for an href, after a refusal."""
    from botocore.exceptions import BotoCoreError

    try:
        yield
    except (OSError, BotoCoreError) as exc:
        raise typed_error(exc, href, what, advice) from None


def typed_error(
    exc: BaseException, href: str, what: str, advice: Callable[[str], str]
) -> errors.AccessError:
    """The typed error for a failed s3fs call on ``href``, naming the bucket and what to do."""
    from botocore.exceptions import NoCredentialsError

    bucket = host_of(href)
    kind: type[errors.AccessError] = errors.AccessError
    status: int | None = None
    if isinstance(exc, FileNotFoundError):
        kind, status, text = errors.HrefNotFoundError, 404, f"does not exist in bucket {bucket}"
    elif isinstance(exc, NoCredentialsError):
        kind, text = errors.AuthError, f"no AWS credentials were found for bucket {bucket}."
        text += f" {advice(href)}"
    elif isinstance(exc, PermissionError):
        kind, status = errors.AuthError, 403
        text = (
            f"bucket {bucket} refused access ({_code(exc)}). {advice(href)} A requester-pays "
            "bucket also wants requester_pays=True (you are billed); temporary keys expire."
        )
    else:
        text = f"cannot read it from bucket {bucket} ({exc.__class__.__name__})"
    shown = safe_href(href)
    return kind(f"{what} at {shown}: {text}", href=shown, host=bucket, status=status)


def _code(exc: BaseException) -> str:
    """The S3 error code behind an s3fs error (``AccessDenied``...), without its message."""
    response = getattr(exc.__cause__ or exc.__context__, "response", None) or {}
    return str((response.get("Error") or {}).get("Code") or "Forbidden")


def __getattr__(name: str) -> Any:
    """``TenantS3FileSystem``, defined on first use (it imports s3fs), and then a module
    attribute like any other: pickles of its filesystems name it by this module."""
    if name != "TenantS3FileSystem":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import s3fs
    from botocore.handlers import validate_bucket_name

    class TenantS3FileSystem(s3fs.S3FileSystem):
        """s3fs whose clients let bucket names with a colon (Ceph tenants) through, and that
        pickles as its credential's handle when it has one (never its keys)."""

        xstac_access: Access | None = None

        async def set_session(self, refresh: bool = False, kwargs: dict | None = None) -> Any:
            client = await super().set_session(refresh, kwargs or {})
            client.meta.events.unregister("before-parameter-build.s3", validate_bucket_name)
            return client

        def __reduce__(self) -> Any:
            if self.xstac_access is None:
                return super().__reduce__()
            return _restore, (self.xstac_access, self.asynchronous)

    TenantS3FileSystem.__module__ = __name__
    globals()["TenantS3FileSystem"] = TenantS3FileSystem
    return TenantS3FileSystem
