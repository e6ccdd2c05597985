"""Download STAC assets to disk: in parallel, resumable, verified, with the broker's credentials.

This package implements :func:`xstac_access.download` (import it, and the report classes, from
``xstac_access``; its docstring says which assets, where and how). Here: choosing the assets
and naming the files; :mod:`.transfer` fetches one file (into a :mod:`.partfile`, verified
against a :mod:`.multihash`, named by :mod:`.filenames`), :mod:`.progress` draws the bars,
:mod:`.report` says what happened, and :mod:`.types` holds the few values they pass each other.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import os
import sys
import threading
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import errors
from .._hrefs import safe_href
from .._item_collections import members
from .._log import get_logger
from .._resolve import Target, item_of, reachable, resolve
from ..credentials import broker_from
from . import multihash
from .filenames import planned_name, safe
from .progress import Bars, shown
from .report import DownloadEntry, DownloadReport
from .transfer import fetch_file, is_html_type
from .types import Job, Outcome

__all__ = ["DownloadEntry", "DownloadReport", "download"]

log = get_logger(__name__)


def download(
    items_or_assets: Any,
    dest: str | os.PathLike[str],
    *,
    assets: str | Iterable[str] | None = None,
    parallel: int = 4,
    resume: bool = True,
    verify: bool = True,
    progress: bool = True,
    overwrite: bool = False,
    retries: int | None = None,
    raise_on_error: bool = False,
    credentials: Any = None,
) -> DownloadReport:
    """Download assets to ``dest``: which, where and how below.

    ``download(items_or_assets, dest)`` accepts what :func:`xstac_access.resolve` accepts (a
    ``pystac.Item`` or ``Asset``, an item dict or URL, an asset href) and also many of them: an
    ``ItemCollection``, a FeatureCollection dict or any list of the above.

    Which assets (``assets=None``): per item, those with role ``data`` that are single files (Zarr
    stores are directories, not files, and are left out); when an item has both, archives (role
    ``archive``: a zip repackaging the other data assets, like a Biomass ``product``) are left out
    too. An item with no ``data`` role anywhere (legacy items without roles) gets all its file
    assets; one whose data assets are all Zarr stores gets a failed entry per store saying so.
    ``assets=`` takes keys or ``fnmatch`` patterns (``"B0*"``; ``"*"`` for every asset); a plain key
    an item lacks is a failed entry naming the keys it has.

    Where: ``dest/<item id>/<file name>``, the file name being the last segment of the href (query
    dropped). An href that names no file (``…/Products(…)/$value``) gets the name the server gives
    in ``Content-Disposition`` (CDSE: ``<NAME>.SAFE.zip``), else ``<item id>.zip`` for a zip or
    archive, else ``<asset key>`` plus the media type's extension. Different files that would get
    one name are prefixed: ``<asset key>-<name>``, or ``<8 hex of the href's sha256>-<name>`` for
    bare hrefs. Unsafe characters in ids and names become ``_``. A bare href goes to
    ``dest/<file name>``. An asset whose own href has no credential configured but one of its
    ``alternate`` hrefs has is fetched from there, under its own href's name.

    How: the bytes go to a ``.part`` file, resumed with ``Range``/``If-Range``, checked, then
    renamed atomically; a name the server gives is known after its first response: the ``.part`` its
    lock keep the planned name, the final rename gives the server's. A file whose bytes fail
    ``file:checksum`` or ``file:size`` is deleted, ``.part`` included, since resuming wrong bytes
    cannot make them right; a cut transfer keeps its ``.part`` for the next call. A final file that
    is already there is skipped when its size (and checksum, if the item gives one) match: no
    request when the item gives ``file:size``, one 1-byte request otherwise (one request to learn
    the name, for a file the server names); when it differs it is left alone and reported as failed
    unless ``overwrite=True``.

    ``parallel`` files move at once (threads). ``resume`` continues a ``.part`` left by an
    earlier call or a cut attempt (``False``: always start from byte 0); ``retries`` more
    requests of a file follow a cut connection or a transient HTTP status (default: the
    library's retry policy, :mod:`xstac_access.http.policy`, as for every other read).
    ``verify`` checks ``file:checksum`` when the item gives one (the size is always checked).
    ``progress`` shows a tqdm bar per file and one for the set, on a terminal or in a notebook.
    ``overwrite`` re-downloads files that already exist. ``credentials`` is what
    ``open_dataset`` takes (a broker, or presets and rules). One file failing does not stop the
    others: the report says which failed and why;
    ``raise_on_error=True`` raises :class:`~xstac_access.errors.DownloadError` afterwards.
    """
    began = time.monotonic()
    broker = broker_from(credentials)
    planned = _plan(items_or_assets, Path(dest), assets, broker, verify)
    jobs = [p for p in planned if isinstance(p, _Planned)]
    bars = Bars([p.job for p in jobs], parallel, enabled=shown(progress, sys.stderr))
    stop = threading.Event()
    options = {"resume": resume, "overwrite": overwrite, "retries": retries, "stop": stop}
    results: dict[int, DownloadEntry] = {}
    with bars, ThreadPoolExecutor(max(1, parallel), thread_name_prefix="download") as pool:
        futures = {id(p): pool.submit(_run, p, broker, bars, options) for p in jobs}
        try:
            for planned_job in jobs:
                results[id(planned_job)] = futures[id(planned_job)].result()
        except BaseException:  # Ctrl-C: stop the transfers, leaving their .part files
            stop.set()
            for future in futures.values():
                future.cancel()
            raise
    entries = tuple(p if isinstance(p, DownloadEntry) else results[id(p)] for p in planned)
    report = DownloadReport(entries, time.monotonic() - began)
    log.info("download: %s", report.summary())
    if raise_on_error:
        report.raise_for_errors()
    return report


@dataclass(frozen=True)
class _Planned:
    """A job and the names the report gives it."""

    job: Job
    item: str | None
    asset: str | None


def _run(planned: _Planned, broker: Any, bars: Bars, options: dict[str, Any]) -> DownloadEntry:
    """Fetch one planned file; any failure becomes a failed entry, never an exception."""
    job, began = planned.job, time.monotonic()
    outcome: Outcome | None = None
    failure: Exception | None = None
    with bars.file(job) as bar:  # the bar also counts the bytes received
        try:
            outcome = fetch_file(job, broker, progress=bar, **options)
        except Exception as exc:  # one file failing must not stop the others
            failure = exc
    entry = functools.partial(DownloadEntry, planned.item, planned.asset, safe_href(job.href))
    seconds = time.monotonic() - began
    if outcome is None:
        assert failure is not None  # no outcome: fetch_file raised
        typed = isinstance(failure, errors.XStacError)  # their messages are secret-free
        error = str(failure) if typed else _describe(failure, job)
        log.info("%s failed: %s", job.label, error)
        return entry(
            path=job.path, status="failed", error=error, seconds=seconds,
            bytes=bar.moved, exception=failure if typed else None,
        )  # fmt: skip
    return entry(
        path=outcome.path,
        status=outcome.status,
        bytes=bar.moved,
        size=outcome.size,
        attempts=outcome.attempts,
        seconds=seconds,
    )


def _describe(exc: Exception, job: Job) -> str:
    """A message for an unexpected error; local I/O errors (disk full) keep their text."""
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{job.label}: {exc.strerror or exc.__class__.__name__} ({exc.filename})"
    return f"{job.label}: {exc.__class__.__name__}"


# -- planning --------------------------------------------------------------------------------


def _plan(
    obj: Any, dest: Path, assets: str | Iterable[str] | None, broker: Any, verify: bool
) -> list[_Planned | DownloadEntry]:
    """Jobs for every selected asset, and failed entries for what cannot be downloaded."""
    patterns = [assets] if isinstance(assets, str) else list(assets) if assets else None
    found: list[Target | DownloadEntry] = []  # in order: what to fetch, what cannot be
    for single in _inputs(obj):
        item = item_of(single, broker=broker)
        if item is None:
            found.append(resolve(single, broker=broker))
            continue
        keys, missing = _select(item, patterns)
        found += [resolve(item, key, broker=broker) for key in keys]
        for key in missing:
            error = f"item {item.get('id')!r} has no asset {key!r}; its assets are: " + ", ".join(
                sorted(item["assets"])
            )
            found.append(DownloadEntry(item.get("id"), key, "", None, "failed", error=error))
    paths = _paths([t for t in found if isinstance(t, Target)], dest)
    planned: list[_Planned | DownloadEntry] = []
    seen: set[Path] = set()
    for target in found:
        if isinstance(target, DownloadEntry):
            planned.append(target)
        elif paths[id(target)] not in seen:  # the same file asked for twice: fetched once
            seen.add(paths[id(target)])
            planned.append(_job(target, paths[id(target)], verify, broker))
    return planned


def _inputs(obj: Any) -> Iterator[Any]:
    """Each single item or asset in ``obj`` (collections, search results and lists flattened)."""
    found = members(obj)
    if found is None:
        yield obj
    for element in found or ():
        yield from _inputs(element)


def _select(item: Mapping[str, Any], patterns: list[str] | None) -> tuple[list[str], list[str]]:
    """``(keys to fetch, plain keys asked for but missing)`` (see the module docstring)."""
    item_assets: Mapping[str, Any] = item.get("assets") or {}
    if patterns is not None:
        keys = [k for k in item_assets if any(fnmatch.fnmatchcase(k, p) for p in patterns)]
        missing = [p for p in patterns if not _is_glob(p) and p not in item_assets]
        return keys, missing
    usable = {k: a for k, a in item_assets.items() if isinstance(a, Mapping)}
    data = [k for k, a in usable.items() if "data" in (a.get("roles") or ())]
    if not data:
        return [k for k, a in usable.items() if not _is_store(a)], []
    files = [k for k in data if not _is_store(usable[k])]
    if not files:
        return data, []  # only Zarr stores: each is reported as one
    plain = [k for k in files if "archive" not in (usable[k].get("roles") or ())]
    return plain or files, []


def _is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def _is_store(asset: Mapping[str, Any]) -> bool:
    """A Zarr store (a directory of objects), which a file download cannot copy."""
    href = str(asset.get("href", ""))
    return "zarr" in str(asset.get("type") or "").lower() or href.rstrip("/").endswith(".zarr")


def _job(target: Target, path: Path, verify: bool, broker: Any) -> _Planned | DownloadEntry:
    item_id = target.item.get("id") if target.item else None
    source = reachable(target, broker)  # named after the asset's own href, fetched from here
    if _is_store(target.asset) or target.href.endswith("/"):
        return DownloadEntry(
            item_id,
            target.key,
            safe_href(target.href),
            path,
            "failed",
            error=f"{target.label} is a Zarr store (a directory): download copies single files; "
            "open it with xarray instead",
        )
    size = target.asset.get("file:size")
    job = Job(
        href=source.href,
        path=path,
        label=source.label,
        size=size if isinstance(size, int) and size >= 0 else None,
        checksum=_checksum(target) if verify else None,
        html_ok=is_html_type(target.media_type) or target.extension in (".html", ".htm"),
        server_named=planned_name(target)[1],
    )
    return _Planned(job, item_id, target.key)


def _checksum(target: Target) -> multihash.Multihash | None:
    """The asset's ``file:checksum`` when it can be verified here; a warning when it cannot."""
    value = target.asset.get("file:checksum")
    if not isinstance(value, str):
        return None
    try:
        parsed = multihash.parse(value)
    except ValueError as exc:
        warnings.warn(
            f"{target.label}: file:checksum is not a multihash ({exc}); only its size is checked",
            stacklevel=5,  # the caller of download()
        )
        return None
    if parsed.new() is None:
        warnings.warn(
            f"{target.label}: file:checksum uses {parsed.name}, which xstac-access cannot "
            "compute; only its size is checked",
            stacklevel=5,  # the caller of download()
        )
        return None
    return parsed


def _paths(targets: list[Target], dest: Path) -> dict[int, Path]:
    """Where each target goes (by ``id``): ``dest/<item id>/<name>``, collisions resolved."""
    wanted: dict[int, Path] = {}
    for target in targets:
        item_id = target.item.get("id") if target.item else None
        folder = dest / safe(str(item_id)) if item_id else dest
        wanted[id(target)] = folder / planned_name(target)[0]
    hrefs: dict[Path, set[str]] = {}
    for target in targets:
        hrefs.setdefault(wanted[id(target)], set()).add(target.href)
    paths = {}
    for target in targets:
        path = wanted[id(target)]
        if len(hrefs[path]) > 1:  # different files, same name: prefix the key (or a hash)
            prefix = target.key or hashlib.sha256(target.href.encode()).hexdigest()[:8]
            path = path.with_name(f"{safe(prefix)}-{path.name}")
        paths[id(target)] = path
    return paths
