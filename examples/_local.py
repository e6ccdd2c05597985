"""What every example shares: ``--local`` / ``--online``, the local world, and reporting.

Each example is one function, ``workflow(site, run)``: the seed notebook's steps as a few calls of
xstac-access against whatever catalogue ``site`` names. :func:`main` gives it one:

``--local`` (the default, and what ``tests/test_examples.py`` runs)
    starts a :class:`~xstac_access.testing.world.LocalWorld` on 127.0.0.1 (STAC API, file
    server, S3 store and token server serving the replica of the five catalogues), or borrows
    the running one whose state file ``$XSTAC_WORLD`` names (the test session's), builds the
    example's site from ``world.endpoints`` and configures the credentials a user configures
    (``credentials.configure(**world.credentials())``: the MAAP, CDSE and Earthdata presets with
    the local token endpoints). Nothing leaves the machine.
``--online``
    uses the example's ``ONLINE`` site, the real catalogue, and the library's normal credential
    configuration: ``XSTAC_<PRESET>_<OPTION>`` environment variables or
    ``~/.config/xstac-access/config.toml`` (see ``docs/credentials.md``). Nothing is configured
    here: the workflow runs exactly as in ``--local``, only the endpoints differ.

Every step prints what it produced; pictures and files go to ``--out`` (default
``examples-out/<example>``), with ``summary.json`` holding the printed values and ``output.txt``
the printed lines.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from xstac_access.errors import XStacError

if TYPE_CHECKING:
    from xstac_access.testing.world import LocalWorld

HERE = Path(__file__).resolve().parent


@dataclass
class Run:
    """Where an example writes, its options, and what its steps produced."""

    out: Path
    options: argparse.Namespace = field(default_factory=argparse.Namespace)
    online: bool = False
    values: dict[str, Any] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)

    def say(self, step: str, value: Any) -> Any:
        """Print ``step: value`` and keep ``value`` for ``summary.json``; returns ``value``."""
        self.values[step] = _plain(value)
        self.lines.append(f"{step}: {_text(value)}")
        print(self.lines[-1], flush=True)
        return value

    def path(self, name: str) -> Path:
        """A file (or folder) in the output folder, which is created on first use."""
        self.out.mkdir(parents=True, exist_ok=True)
        return self.out / name

    def picture(self, step: str, ql: Any) -> None:
        """Report a ``Quicklook``: file, kind, pixels read, overview, limits per layer."""
        self.say(
            step,
            {
                "file": ql.path.name,
                "kind": ql.kind,
                "shape": list(ql.shape),
                "overview_level": ql.overview_level,
                "limits": {k: [round(lo, 3), round(hi, 3)] for k, (lo, hi) in ql.limits.items()},
            },
        )

    def downloaded(self, step: str, report: Any) -> None:
        """Report a ``DownloadReport``: the summary line and each file."""
        files = [
            {"asset": e.asset, "path": str(e.path.relative_to(self.out)), "status": e.status,
             "size": e.size}
            for e in report.entries
            if e.path is not None
        ]  # fmt: skip
        self.say(step, {"summary": report.summary(), "files": files})

    def write_summary(self) -> Path:
        """Write ``summary.json`` (the values) and ``output.txt`` (the printed lines)."""
        self.path("output.txt").write_text("\n".join(self.lines) + "\n")
        path = self.path("summary.json")
        path.write_text(json.dumps(self.values, indent=1))
        return path


Workflow = Callable[[Any, Run], None]


def main(
    doc: str,
    workflow: Workflow,
    *,
    online: Any,
    local: Callable[[LocalWorld], Any],
    name: str,
    options: Callable[[argparse.ArgumentParser], None] | None = None,
    argv: list[str] | None = None,
) -> int:
    """Parse ``--local``/``--online``/``--out`` (and the example's own ``options``), then run
    ``workflow`` on the local world or on the real catalogue. Returns the exit code: 0, or 2
    after an error of xstac-access (printed as one line: which asset or host, what to do)."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--local", dest="online", action="store_false", help="the local replica (default)"
    )
    mode.add_argument(
        "--online",
        dest="online",
        action="store_true",
        help="the real catalogue (see above for credentials)",
    )
    parser.set_defaults(online=False)
    parser.add_argument(
        "--out", type=Path, default=Path("examples-out") / name, help="where files go"
    )
    if options is not None:
        options(parser)
    args = parser.parse_args(argv)
    run = Run(out=args.out, options=args, online=args.online)
    began = time.perf_counter()
    try:
        with site_for(args.online, online, local) as site:
            workflow(site, run)
    except XStacError as exc:  # one line that names the asset or host and what to do
        print(f"error: {exc}", file=sys.stderr)
        return 2
    run.say("seconds", round(time.perf_counter() - began, 2))
    print(f"files in {run.write_summary().parent.resolve()}")
    return 0


@contextmanager
def site_for(online: bool, real: Any, local: Callable[[LocalWorld], Any]) -> Iterator[Any]:
    """The real site as it is, or a local world for the time of the block (started, or
    borrowed from ``$XSTAC_WORLD``), its site and its credentials configured (and forgotten
    afterwards)."""
    if online:
        yield real
        return
    from xstac_access import credentials
    from xstac_access.testing.shared import world_from_env

    with world_from_env() as world:
        print(f"local world up in {world.start_seconds:.1f} s: STAC API {world.endpoints.stac}")
        credentials.configure(**world.credentials())
        try:
            yield local(world)
        finally:
            credentials.reset()


def load_examples() -> dict[str, ModuleType]:
    """Every example module of this folder by file stem (``000_maap_biomass`` ...), imported
    without running it (the docs' picture generator runs their workflows on one world)."""
    modules = {}
    for path in sorted(HERE.glob("[0-9][0-9][0-9]_*.py")):
        spec = importlib.util.spec_from_file_location(f"xstac_example_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        modules[path.stem] = module
    return modules


def _plain(value: Any) -> Any:
    """``value`` as JSON can hold it (tuples as lists, numpy scalars as numbers, paths as str)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return str(value)


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_text(v)}" for k, v in value.items())
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        return "; ".join(f"({_text(v)})" for v in value)
    return str(value)
