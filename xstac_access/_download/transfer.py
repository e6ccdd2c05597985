"""One file of a download: a ``.part`` file, resume, verification, then an atomic rename.

Bytes go to ``<name>.part``; ``<name>.part.json`` beside it records where they come from (safe
href, total size, ``ETag``/``Last-Modified``, never a credential). The final name appears only
by ``os.replace`` once the size is complete and the checksum verified, so a crash or a cut
connection leaves at most the ``.part`` pair (and, after a crash, its unlocked ``.part.lock``),
which the next call resumes:

* HTTP: ``Range: bytes=<have>-`` with ``If-Range`` (the recorded ETag, else Last-Modified). The
  answer is used only if it is a 206 whose ``Content-Range`` starts at ``<have>`` and ends at the
  recorded size, with the same validators; a 200 (file changed, or ranges not supported) is
  written from byte 0 instead, anything else restarts from zero.
* S3: the object's size and ETag (from one ``HEAD``) must match the record; reads are ranged.

A job whose href names no file (``server_named``) takes the name the server gives in
``Content-Disposition`` (:func:`.filenames.disposition_name`), known only once the
first response is in: the ``.part`` pair and its lock keep the planned name (so resume and
concurrent downloads meet in one place), the record keeps the server's name (a resumed 206 need
not repeat the header), and the final rename publishes the file under it. When a file of that
name is already there, the response is closed and that file checked as an existing one.

Streams come from :func:`xstac_access.http.stream` (per-hop credentials, redirects, one
refresh on 401, busy servers retried) and s3fs filesystems from
:func:`~xstac_access.credentials.filesystems.filesystem_for`; this module only decides what to
ask for and what to keep. One retry budget covers a file (:func:`xstac_access.http.policy.
budget`): the statuses its requests retried and the attempts that resumed a cut transfer.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import errors
from .._hrefs import host_of, safe_href, scheme_of
from .._log import get_logger
from .._s3 import s3_errors
from ..credentials.broker import Broker
from ..http import login_page_error, looks_like_html, stream
from ..http.limits import slot
from ..http.policy import budget
from .filenames import disposition_name
from .partfile import Interrupted, PartFile, hash_file
from .types import Job, Outcome, Progress

log = get_logger(__name__)

HTTP_CHUNK = 1 << 20  # bytes per read from a stream: few syscalls, smooth progress bars
S3_CHUNK = 8 << 20  # bytes per ranged S3 GET
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


@dataclass
class _Body:
    """An opened source: total size, the offset it starts at, its validators and its bytes."""

    total: int | None
    start: int
    validators: dict[str, Any]
    chunks: Iterator[bytes]
    close: Callable[[], None]
    filename: str | None = None  # the safe name of the server's Content-Disposition, if any


def fetch_file(
    job: Job,
    broker: Broker,
    *,
    resume: bool,
    overwrite: bool,
    retries: int | None,
    progress: Progress,
    stop: threading.Event,
) -> Outcome:
    """Fetch one file to ``job.path`` (see the module docstring); raise a typed error on failure.

    ``retries`` (``None``: the retry policy's) more requests follow a transient status (429,
    503...) or a cut connection, the attempts after a cut resuming from the ``.part`` when
    ``resume``. An existing final file is checked instead of fetched unless ``overwrite``.
    """
    source = _source(job, broker)
    if job.path.exists() and not overwrite:
        return _skip(job, job.path, source.probe_size, progress)
    part = PartFile(job.path, job.href)
    with (
        part.exclusive(stop),  # one download of this file at a time, across processes too
        budget(job.label, job.href, retries=retries, stop=stop) as spent,
    ):
        if job.path.exists() and not overwrite:  # another one published it while we waited
            return _skip(job, job.path, source.probe_size, progress)

        def attempt() -> tuple[int, int, Any, Path] | Outcome:
            with slot(broker.access(job.href)):  # the attempt's requests, one connection
                return _attempt(job, source, part, resume, overwrite, progress, stop)

        got = spent.run(attempt)
        if isinstance(got, Outcome):  # the server's name is taken by a complete file
            return got
        start, size, hasher, final = got
        _verify(job, part, size, hasher)
        part.commit(final)
    return Outcome("resumed" if start > 0 else "fetched", size, spent.attempts, final)


def _skip(job: Job, path: Path, size: Callable[[], int], progress: Progress) -> Outcome:
    """An existing final file at ``path``, checked (``size``: the remote size, if needed)."""
    outcome = _check_existing(job, path, size)
    progress.start(outcome.size, outcome.size)  # complete already: count it as done
    return outcome


def _source(job: Job, broker: Broker) -> _HttpSource | _S3Source:
    scheme = scheme_of(job.href)
    if scheme in ("http", "https"):
        return _HttpSource(job, broker)
    if scheme == "s3":
        return _S3Source(job, broker)
    raise errors.AccessError(
        f"{job.label}: download reads http(s):// and s3:// hrefs, not {safe_href(job.href)}",
        href=safe_href(job.href),
        host=host_of(job.href),
    )


def _attempt(
    job: Job,
    source: _HttpSource | _S3Source,
    part: PartFile,
    resume: bool,
    overwrite: bool,
    progress: Progress,
    stop: threading.Event,
) -> tuple[int, int, Any, Path] | Outcome:
    """One try: open from the resume point, append to the ``.part``.

    Returns ``(offset it started at, bytes now in the .part, the hasher fed all of them, the
    final path)``, or the outcome of skipping when the server names a file already there.
    """
    offset, saved = part.resume_point() if resume else (0, {})
    body = source.open(offset, saved)
    name = (body.filename or saved.get("name")) if job.server_named else None
    final = job.path.with_name(name) if isinstance(name, str) else job.path
    try:
        if final != job.path and final.exists() and not overwrite:
            known = body.total if body.start == 0 else saved.get("size")
            size = (lambda: known) if isinstance(known, int) else source.probe_size
            return _skip(job, final, size, progress)
        if job.size is not None and body.total is not None and body.total != job.size:
            part.discard()
            raise errors.ChecksumError(
                f"{job.label}: the server has {body.total} bytes but the catalogue's file:size "
                f"says {job.size}; not downloaded (the catalogue or the file is out of date)"
            )
        if body.start == 0:
            named = {"name": final.name} if final != job.path else {}
            part.begin({"size": body.total, **body.validators, **named})
        hasher = job.checksum.new() if job.checksum is not None else None
        if hasher is not None and body.start:
            part.hash_prefix(body.start, hasher)
        progress.start(body.total, body.start)
        have = body.start + part.append(body.start, body.chunks, hasher, progress, stop)
    finally:
        body.close()
    if body.total is not None and have != body.total:
        raise Interrupted(
            f"{job.label}: the transfer stopped at {have} of {body.total} bytes",
            href=safe_href(job.href),
            host=host_of(job.href),
        )
    return body.start, have, hasher, final


def _verify(job: Job, part: PartFile, size: int, hasher: Any) -> None:
    """Check the complete ``.part`` against file:size and file:checksum; discard it if wrong."""
    problem = None
    if job.size is not None and size != job.size:
        problem = f"has {size} bytes where the catalogue's file:size says {job.size}"
    elif hasher is not None and job.checksum is not None and not job.checksum.matches(hasher):
        problem = f"does not match the catalogue's file:checksum ({job.checksum.name})"
    if problem is not None:
        part.discard()
        raise errors.ChecksumError(
            f"{job.label}: the downloaded file {problem}; it was not kept. Try again; if it "
            f"persists, the catalogue or the copy at {host_of(job.href)} is wrong."
        )


def _check_existing(job: Job, path: Path, remote_size: Callable[[], int]) -> Outcome:
    """An existing final file: skipped when size (and checksum) match, else an error."""
    size = path.stat().st_size
    expected = job.size if job.size is not None else remote_size()
    if size != expected:
        raise errors.ChecksumError(
            f"{job.label}: {path} exists with {size} bytes but the asset has {expected}; "
            "pass overwrite=True to replace it"
        )
    if job.checksum is not None and (hasher := job.checksum.new()) is not None:
        hash_file(path, size, hasher)
        if not job.checksum.matches(hasher):
            raise errors.ChecksumError(
                f"{job.label}: {path} exists but does not match the catalogue's "
                f"file:checksum ({job.checksum.name}); pass overwrite=True to replace it"
            )
    return Outcome("skipped", size, 0, path)


class _HttpSource:
    """An http(s) href through the HTTP layer: streamed, ranged, with the broker's credential."""

    def __init__(self, job: Job, broker: Broker) -> None:
        self.job = job
        self.broker = broker
        self.access = broker.access(job.href)

    def probe_size(self) -> int:
        """The remote size, from a one-byte ranged GET (what a HEAD would say, redirects and
        credentials included)."""
        from ..http.ranged import remote_size

        return remote_size(self.job.href, access=self.access, broker=self.broker,
                           what=self.job.label)  # fmt: skip

    def open(self, offset: int, saved: dict[str, Any]) -> _Body:
        headers = {"Accept-Encoding": "identity"}  # byte offsets must be the file's own
        if offset:
            headers["Range"] = f"bytes={offset}-"
            validator = _if_range(saved)
            if validator:
                headers["If-Range"] = validator
        try:
            resp, landing = stream(
                self.job.href,
                headers=headers,
                access=self.access,
                broker=self.broker,
                what=self.job.label,
            )
        except errors.AccessError as exc:
            if offset and exc.status == 416:  # the .part is not a prefix of this file
                return self.open(0, {})
            raise
        validators = {
            name: resp.headers[header]
            for name, header in (("etag", "ETag"), ("last_modified", "Last-Modified"))
            if header in resp.headers
        }
        start, total = 0, _int(resp.headers.get("Content-Length"))
        if offset and resp.status_code == 206:
            if not _continues(resp.headers.get("Content-Range", ""), offset, saved, validators):
                log.info("%s changed since the .part was written; starting over", self.job.label)
                resp.close()
                return self.open(0, {})
            start, total = offset, int(saved["size"])
        elif offset:
            log.info(
                "%s: no ranged answer (HTTP %d); starting over", self.job.label, resp.status_code
            )
        chunks = _stream_chunks(resp, self.job.label)
        try:
            first = next(chunks, b"")
            if not self.job.html_ok and (
                is_html_type(resp.headers.get("Content-Type"))
                or (start == 0 and looks_like_html(first))
            ):
                advice = self.broker.advice(self.job.href)
                raise login_page_error(landing.href, self.job.label, advice)
        except BaseException:
            resp.close()
            raise
        name = disposition_name(resp.headers.get("Content-Disposition"))
        body = itertools.chain((first,), chunks)
        return _Body(total, start, validators, body, resp.close, name)


def _stream_chunks(resp: Any, label: str) -> Iterator[bytes]:
    """The body as it arrives (``read1``: what the socket has, up to a chunk), so a cut
    connection loses nothing already received; a broken stream becomes :class:`Interrupted`."""
    from urllib3.exceptions import HTTPError

    try:
        while chunk := resp.raw.read1(HTTP_CHUNK):
            yield chunk
    except HTTPError as exc:
        host = host_of(resp.url)
        raise Interrupted(
            f"{label}: the connection to {host} broke off ({exc.__class__.__name__})",
            href=safe_href(resp.url),
            host=host,
        ) from None


def _if_range(saved: dict[str, Any]) -> str | None:
    """The validator for ``If-Range``: a strong ETag, else Last-Modified (RFC 9110 13.1.5)."""
    etag = saved.get("etag")
    if isinstance(etag, str) and not etag.startswith("W/"):
        return etag
    modified = saved.get("last_modified")
    return modified if isinstance(modified, str) else None


def _continues(
    content_range: str, offset: int, saved: dict[str, Any], validators: dict[str, Any]
) -> bool:
    """True when a 206 is the rest of the very file the ``.part`` holds the start of."""
    match = _CONTENT_RANGE.fullmatch(content_range.strip())
    if match is None or not isinstance(saved.get("size"), int):
        return False
    first, last, total = (int(g) for g in match.groups())
    if (first, last, total) != (offset, saved["size"] - 1, saved["size"]):
        return False
    return all(saved.get(k) == v for k, v in validators.items() if saved.get(k) is not None)


def is_html_type(content_type: str | None) -> bool:
    """True for an HTML media type (parameters ignored)."""
    return (content_type or "").split(";")[0].strip().lower() in (
        "text/html",
        "application/xhtml+xml",
    )


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


class _S3Source:
    """An ``s3://`` href through the broker's s3fs options: one HEAD, then ranged GETs."""

    def __init__(self, job: Job, broker: Broker) -> None:
        from ..credentials.filesystems import filesystem_for

        self.job = job
        self.fs = filesystem_for(job.href, broker)
        self.key = job.href[len("s3://") :]
        self.advice = broker.advice

    def _info(self) -> dict[str, Any]:
        with s3_errors(self.job.href, self.job.label, self.advice):
            return self.fs.info(self.key)

    def probe_size(self) -> int:
        return int(self._info()["size"])

    def open(self, offset: int, saved: dict[str, Any]) -> _Body:
        info = self._info()
        total = int(info["size"])
        validators = {"etag": str(info["ETag"])} if info.get("ETag") else {}
        if offset and (saved.get("size") != total or saved.get("etag") != validators.get("etag")):
            log.info("%s changed since the .part was written; starting over", self.job.label)
            offset = 0
        return _Body(total, offset, validators, self._chunks(offset, total), lambda: None)

    def _chunks(self, start: int, total: int) -> Iterator[bytes]:
        for begin in range(start, total, S3_CHUNK):
            with s3_errors(self.job.href, self.job.label, self.advice):
                block = self.fs.cat_file(self.key, start=begin, end=min(begin + S3_CHUNK, total))
            yield block
