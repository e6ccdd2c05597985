"""What the commands share: the global options, JSON options, tables, sizes and credentials.

Only the standard library is imported here: ``xstac --help`` must not pay for xarray's friends.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import errors

if TYPE_CHECKING:
    from ..credentials.broker import Broker, Rule

#: What a provider of each kind holds that must never be shown: named, then masked.
_SECRET_HELD = {
    "oidc-refresh-token": "token",
    "oidc-password": "password",
    "bearer": "token",
    "earthdata": "password",
}
MASK = "****"


class CliError(errors.XStacError):
    """Input only the command line can get wrong (JSON that does not parse, a missing file)."""


def global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """``--debug``, ``-v`` and ``--config``: before the command, or (``suppress``) after it."""

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    parser.add_argument(
        "--debug", action="store_true", default=default(False),
        help="show tracebacks on errors, and debug logs",
    )  # fmt: skip
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=default(False),
        help="log what is done (fallbacks, retries, token refreshes) to stderr",
    )  # fmt: skip
    parser.add_argument(
        "--config", type=Path, metavar="FILE", default=default(None),
        help="credentials TOML file to read instead of $XSTAC_CONFIG or "
        "~/.config/xstac-access/config.toml",
    )  # fmt: skip


class HelpFormatter(argparse.HelpFormatter):
    """Descriptions wrapped to the terminal; the ``examples:`` epilog kept line by line."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("examples:"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def command(
    sub: Any, name: str, summary: str, description: str, examples: Sequence[str]
) -> argparse.ArgumentParser:
    """A subcommand's parser: its description, the global options, examples in the epilog."""
    parser = sub.add_parser(
        name,
        help=summary,
        description=description,
        epilog="examples:\n" + "\n".join(f"  {line}" for line in examples),
        formatter_class=HelpFormatter,
    )
    global_options(parser, suppress=True)
    return parser


def target_arguments(parser: argparse.ArgumentParser, what: str = "ITEM_OR_HREF") -> None:
    """The input of info/open/quicklook: an item URL or path, or an asset href; ``--asset``."""
    parser.add_argument(
        "target", metavar=what, help="STAC item JSON URL or path, or a plain asset href"
    )
    parser.add_argument("--asset", metavar="KEY", help="the asset key in the item")


def storage_options_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--storage-options", metavar="JSON",
        help='s3fs options for s3:// hrefs, e.g. \'{"anon": true, "client_kwargs": '
        '{"endpoint_url": "https://objects.eodc.eu"}}\'',
    )  # fmt: skip


def json_value(text: str, option: str) -> Any:
    """``text`` parsed as JSON; a :class:`CliError` naming ``option`` when it is not JSON."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CliError(f"{option} is not valid JSON ({exc}): {text[:80]!r}") from None


def json_object(text: str | None, option: str) -> dict[str, Any] | None:
    """``text`` parsed as a JSON object (``None`` stays ``None``)."""
    if text is None:
        return None
    value = json_value(text, option)
    if not isinstance(value, dict):
        raise CliError(f"{option} must be a JSON object, not {type(value).__name__}")
    return value


def storage_options(args: argparse.Namespace) -> dict[str, Any] | None:
    return json_object(getattr(args, "storage_options", None), "--storage-options")


def human_size(size: int | None) -> str:
    """``2.6 MB``, ``806 B``; ``""`` for an unknown size."""
    if size is None:
        return ""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Rows under headers, columns padded to their widest cell; numbers right-aligned."""
    cells = [[("" if v is None else str(v), isinstance(v, int | float)) for v in r] for r in rows]
    widths = [max([len(h), *(len(row[i][0]) for row in cells)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    for row in cells:
        pairs = zip(row, widths, strict=True)
        lines.append("  ".join(t.rjust(w) if right else t.ljust(w) for (t, right), w in pairs))
    return "\n".join(line.rstrip() for line in lines)


def write_text(text: str, output: Path | None) -> None:
    """``text`` to the file ``output``, or to stdout."""
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        output.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        print(f"wrote {output}", file=sys.stderr)


# -- credentials, described without their secrets ---------------------------------------------


def credential_summary(rule: Rule) -> str:
    """``maap: oidc-refresh-token (token ****)``: where the rule came from, the kind of provider
    and what it holds, masked."""
    provider = rule.provider
    config = provider.public_config()
    if provider.kind in _SECRET_HELD:
        held = f"{_SECRET_HELD[provider.kind]} {MASK}"
    elif provider.kind == "s3":
        held = _s3_summary(provider, config)
    elif provider.kind == "sas":
        held = "signed URLs"
    else:
        held = "no credential"
    return f"{rule.source or f'rule {rule.pattern}'}: {provider.kind} ({held})"


def _s3_summary(provider: Any, config: dict[str, Any]) -> str:
    if config.get("key"):
        held = f"keys {MASK}"
    elif config.get("profile"):
        held = f"profile {config['profile']}"
    elif getattr(provider, "anon", False):
        held = "anonymous"
    else:
        held = "AWS default credentials"
    extras = [f"endpoint {config['endpoint_url']}"] if config.get("endpoint_url") else []
    return ", ".join([held, *extras, *(["requester pays"] if config.get("requester_pays") else [])])


def credential_settings(rule: Rule) -> dict[str, Any]:
    """The rule's non-secret settings (an S3 access key id is masked all the same)."""
    config = rule.provider.public_config()
    return {k: (MASK if k == "key" else v) for k, v in config.items()}


def credential_info(broker: Broker, href: str) -> dict[str, Any] | None:
    """What applies to ``href``: ``{"summary", "source", "pattern", "kind", "settings"}``; or,
    when no rule does but a preset's own hosts cover it, ``{"summary": "needs …"}``;
    else ``None``."""
    from ..credentials.config import preset_covering

    rule = broker.rule_for(href)
    if rule is not None:
        return {
            "summary": credential_summary(rule),
            "source": rule.source or None,
            "pattern": rule.pattern,
            "kind": rule.provider.kind,
            "settings": credential_settings(rule),
        }
    preset = preset_covering(href)
    if preset is not None:
        return {"summary": f"needs {preset} (not configured)", "source": preset, "kind": None}
    return None
