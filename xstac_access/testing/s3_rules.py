"""AWS-like answers of the local S3 store, per bucket: region, requester pays, who may read.

moto serves every bucket to anyone with any key. Real stores do not, and a library that works
against moto alone can be wrong against them. :class:`AwsRules` is a WSGI middleware in front of
moto's app that, for a bucket with a :class:`BucketRule`, answers as the real service documents
(Amazon S3 API reference, "Error responses"; "Using Requester Pays buckets"; Signature
Version 4, "Authenticating requests"):

- a SigV4 request signed for another region than the bucket's: the store stands for the endpoint
  the client addressed, which for a ``us-east-1`` credential scope is the global endpoint
  (``s3.amazonaws.com``: 400 ``AuthorizationHeaderMalformed`` naming the right ``Region``) and
  for any other region ``s3.<region>.amazonaws.com`` (301 ``PermanentRedirect`` with
  ``x-amz-bucket-region`` and AWS's ``<Endpoint>``, which is not this store);
- an anonymous request to a bucket that needs keys or a requester-pays bucket: 403
  ``AccessDenied``; a signed one without ``x-amz-request-payer: requester``: 403 ``AccessDenied``;
- a bucket with its own keys (CDSE ``eodata``, an Earthdata DAAC bucket): an unknown key id is
  403 ``InvalidAccessKeyId``, a wrong secret 403 ``SignatureDoesNotMatch`` (the SigV4 signature is
  recomputed), an expired temporary key 400 ``ExpiredToken``, a missing or wrong session token
  400 ``InvalidToken``; an expired presigned URL 403 ``AccessDenied``.

Request times are not checked against the clock (``RequestTimeTooSkewed``): tests move the
servers' shared clock hours ahead of the clients' signing clocks. Every request to a bucket with
a rule is logged (``GET /__rules__/log``, cleared by ``DELETE``): method, bucket, key, status,
AWS error code, signing region, whether it was signed and said it pays; never a key or secret.
It also lets ``tenant:bucket`` names through path-style, as Ceph RGW does: botocore sends the
colon as ``%3A``, which moto would take literally.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from xstac_access import _clock
from xstac_access.testing import s3credentials

ADMIN_LOG = "/__rules__/log"
_MESSAGES = {
    "AccessDenied": "Access Denied",
    "AuthorizationHeaderMalformed": "The authorization header is malformed; the region '{got}' "
    "is wrong; expecting '{region}'",
    "ExpiredToken": "The provided token has expired.",
    "InvalidAccessKeyId": "The AWS Access Key Id you provided does not exist in our records.",
    "InvalidToken": "The provided token is malformed or otherwise invalid.",
    "PermanentRedirect": "The bucket you are attempting to access must be addressed using the "
    "specified endpoint. Please send all future requests to this endpoint.",
    "SignatureDoesNotMatch": "The request signature we calculated does not match the signature "
    "you provided. Check your key and signing method.",
}
_STATUS = {
    "AccessDenied": 403, "AuthorizationHeaderMalformed": 400, "ExpiredToken": 400,
    "InvalidAccessKeyId": 403, "InvalidToken": 400, "PermanentRedirect": 301,
    "SignatureDoesNotMatch": 403,
}  # fmt: skip
_REASONS = {301: "Moved Permanently", 400: "Bad Request", 403: "Forbidden"}


@dataclass(frozen=True)
class BucketRule:
    """How the real service treats one bucket.

    ``region``: where it is (``None``: any signing region will do, as on Ceph RGW);
    ``requester_pays``: readers must say they pay; ``keys``: access key id -> secret of the only
    static keys that may read (``None``: any key, as moto); ``temporary_secret``: hex secret of
    the issuer of temporary keys (:mod:`~xstac_access.testing.s3credentials`) the bucket also
    accepts. With ``keys`` or ``temporary_secret`` an anonymous request is refused.
    """

    bucket: str
    region: str | None = None
    requester_pays: bool = False
    keys: Mapping[str, str] | None = None
    temporary_secret: str | None = None

    @property
    def needs_keys(self) -> bool:
        return self.keys is not None or self.temporary_secret is not None

    def to_json(self) -> dict[str, Any]:
        return {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BucketRule:
        return cls(**data)


@dataclass
class _Signed:
    """What a SigV4 request says about itself (header or query-string signing)."""

    key_id: str
    date: str
    region: str
    signed_headers: list[str]
    signature: str
    amz_date: str
    token: str | None
    presigned: bool
    expires: int | None = None


class AwsRules:
    """WSGI middleware answering for the buckets of ``rules`` before moto sees the request."""

    def __init__(self, app: Callable[..., Iterable[bytes]], rules: Iterable[BucketRule]) -> None:
        self.app = app
        self.rules = {rule.bucket: rule for rule in rules}
        self.log: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO", "").startswith(ADMIN_LOG):
            return self._admin(environ, start_response)
        _decode_bucket_colon(environ)
        bucket, _, key = environ.get("PATH_INFO", "/").lstrip("/").partition("/")
        rule = self.rules.get(bucket)
        if rule is None:
            return self.app(environ, start_response)
        signed = _parse_signature(environ)
        entry = {
            "method": environ.get("REQUEST_METHOD"), "bucket": bucket, "key": key,
            "signed": signed is not None, "region": signed.region if signed else None,
            "requester_pays": _pays(environ),
        }  # fmt: skip
        denial = _check(rule, environ, signed)
        if denial is not None:
            self._record(entry, _STATUS[denial.code], denial.code)
            return _error(environ, start_response, denial, rule)

        def recording(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            self._record(entry, int(status.split()[0]), None)
            return start_response(status, headers, *exc)

        return self.app(environ, recording)

    def _record(self, entry: dict[str, Any], status: int, code: str | None) -> None:
        with self._lock:
            self.log.append({**entry, "status": status, "code": code})

    def _admin(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            if environ.get("REQUEST_METHOD") == "DELETE":
                self.log.clear()
            body = json.dumps(self.log).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]


@dataclass(frozen=True)
class _Denial:
    """An AWS error answer: its code, message and the extra XML fields AWS adds."""

    code: str
    fields: Mapping[str, str] = field(default_factory=dict)
    message: str = ""


def _check(rule: BucketRule, environ: dict[str, Any], signed: _Signed | None) -> _Denial | None:
    """The error the real service answers this request with, or ``None`` to serve it."""
    if signed is None:
        return _Denial("AccessDenied") if rule.needs_keys or rule.requester_pays else None
    if rule.region is not None and signed.region != rule.region:
        if signed.region == "us-east-1":  # the global endpoint: it knows where the bucket is
            message = _MESSAGES["AuthorizationHeaderMalformed"].format(
                got=signed.region, region=rule.region
            )
            return _Denial("AuthorizationHeaderMalformed", {"Region": rule.region}, message)
        endpoint = f"{rule.bucket}.s3.{rule.region}.amazonaws.com"
        return _Denial("PermanentRedirect", {"Endpoint": endpoint, "Bucket": rule.bucket})
    if rule.needs_keys:
        code = _check_keys(rule, environ, signed)
        if code is not None:
            key = {"AWSAccessKeyId": signed.key_id} if code == "InvalidAccessKeyId" else {}
            return _Denial(code, key)
    expires = signed.expires if signed.presigned else None
    if expires is not None and _amz_epoch(signed.amz_date) + expires < _clock.now():
        return _Denial("AccessDenied", message="Request has expired")
    if rule.requester_pays and not _pays(environ):
        return _Denial("AccessDenied")
    return None


def _check_keys(rule: BucketRule, environ: dict[str, Any], signed: _Signed) -> str | None:
    """``None`` when the request is signed with a key the bucket accepts, else the error code."""
    secret = (rule.keys or {}).get(signed.key_id)
    if secret is None and rule.temporary_secret is not None:
        issued = s3credentials.check(bytes.fromhex(rule.temporary_secret), signed.key_id)
        if issued is not None:
            if issued.expires_at <= _clock.now():
                return "ExpiredToken"
            if not signed.token or not hmac.compare_digest(signed.token, issued.session_token):
                return "InvalidToken"
            secret = issued.secret_access_key
    if secret is None:
        return "InvalidAccessKeyId"
    if not hmac.compare_digest(_signature(environ, signed, secret), signed.signature):
        return "SignatureDoesNotMatch"
    return None


def _parse_signature(environ: dict[str, Any]) -> _Signed | None:
    """The SigV4 signature of the request (Authorization header or presigned query), if any."""
    header = environ.get("HTTP_AUTHORIZATION", "")
    if header.startswith("AWS4-HMAC-SHA256 "):
        fields = dict(part.strip().split("=", 1) for part in header[17:].split(",") if "=" in part)
        scope = fields.get("Credential", "").split("/")
        if len(scope) != 5:
            return None
        return _Signed(
            key_id=scope[0], date=scope[1], region=scope[2],
            signed_headers=fields.get("SignedHeaders", "").split(";"),
            signature=fields.get("Signature", ""), amz_date=environ.get("HTTP_X_AMZ_DATE", ""),
            token=environ.get("HTTP_X_AMZ_SECURITY_TOKEN"), presigned=False,
        )  # fmt: skip
    query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    if query.get("X-Amz-Algorithm") == "AWS4-HMAC-SHA256":
        scope = query.get("X-Amz-Credential", "").split("/")
        if len(scope) != 5:
            return None
        expires = query.get("X-Amz-Expires", "")
        return _Signed(
            key_id=scope[0], date=scope[1], region=scope[2],
            signed_headers=query.get("X-Amz-SignedHeaders", "host").split(";"),
            signature=query.get("X-Amz-Signature", ""), amz_date=query.get("X-Amz-Date", ""),
            token=query.get("X-Amz-Security-Token"), presigned=True,
            expires=int(expires) if expires.isdigit() else None,
        )  # fmt: skip
    return None


def _signature(environ: dict[str, Any], signed: _Signed, secret: str) -> str:
    """The SigV4 signature the request should carry if it was signed with ``secret``."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
    path = quote(unquote(raw.split("?", 1)[0]), safe="/~")
    pairs = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
        for k, v in sorted(pairs)
        if k != "X-Amz-Signature"
    )
    headers = "".join(f"{name}:{_header(environ, name)}\n" for name in signed.signed_headers)
    payload = (
        "UNSIGNED-PAYLOAD"
        if signed.presigned
        else environ.get("HTTP_X_AMZ_CONTENT_SHA256", "UNSIGNED-PAYLOAD")
    )
    canonical = "\n".join(
        [
            environ.get("REQUEST_METHOD", "GET"),
            path,
            query,
            headers,
            ";".join(signed.signed_headers),
            payload,
        ]
    )
    scope = f"{signed.date}/{signed.region}/s3/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", signed.amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = f"AWS4{secret}".encode()
    for part in (signed.date, signed.region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), "sha256").digest()
    return hmac.new(key, to_sign.encode(), "sha256").hexdigest()


def _header(environ: dict[str, Any], name: str) -> str:
    special = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH"}
    value = environ.get(special.get(name, "HTTP_" + name.upper().replace("-", "_")), "")
    return " ".join(str(value).split())


def _amz_epoch(amz_date: str) -> float:
    from datetime import UTC, datetime

    try:
        return datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return 0.0


def _pays(environ: dict[str, Any]) -> bool:
    """Whether the request says its sender pays (header, or the query of a presigned URL)."""
    if environ.get("HTTP_X_AMZ_REQUEST_PAYER", "").lower() == "requester":
        return True
    query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
    return query.get("x-amz-request-payer", "").lower() == "requester"


def _decode_bucket_colon(environ: dict[str, Any]) -> None:
    """``/tenant%3Abucket/key`` -> ``/tenant:bucket/key`` in the raw URI moto builds its URL
    from (``PATH_INFO`` is decoded already): Ceph RGW's tenant buckets, path-style."""
    for name in ("RAW_URI", "REQUEST_URI"):
        raw = environ.get(name)
        if raw and "%3A" in raw.upper().split("/", 2)[1]:
            head, sep, rest = raw[1:].partition("/")
            environ[name] = "/" + head.replace("%3A", ":").replace("%3a", ":") + sep + rest


def _error(
    environ: dict[str, Any], start_response: Callable[..., Any], denial: _Denial, rule: BucketRule
) -> list[bytes]:
    """An S3 XML error (no body for HEAD, as S3 answers), with ``x-amz-bucket-region`` on the
    answers to a request for the wrong region, as AWS sends it."""
    status = _STATUS[denial.code]
    message = denial.message or _MESSAGES[denial.code]
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{denial.code}</Code><Message>{message}</Message>"
        + "".join(f"<{k}>{v}</{k}>" for k, v in denial.fields.items())
        + f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>"
    ).encode()
    headers = [("Content-Type", "application/xml")]
    if denial.code in ("PermanentRedirect", "AuthorizationHeaderMalformed") and rule.region:
        headers.append(("x-amz-bucket-region", rule.region))
    if environ.get("REQUEST_METHOD") == "HEAD":
        body = b""
    headers.append(("Content-Length", str(len(body))))
    start_response(f"{status} {_REASONS[status]}", headers)
    return [body]
