"""What the file server does for CDSE's OData hosts: ``Nodes(...)/$value`` paths and the name of
a download in ``Content-Disposition``.

CDSE's zipper answers one file of a product at ``/odata/v1/Products(<uuid>)/Nodes(<NAME>.SAFE)/
Nodes(GRANULE)/.../Nodes(<file>)/$value`` (CDSE documentation, "OData": product nodes). A config
rule ``{"prefix": ..., "host": ..., "dir": ...}`` (key ``odata_nodes``) maps the nodes after
``prefix`` to the file ``dir/<node>/<node>/...``, so the zipper path and the S3 bucket serve the
very same file. A ``disposition`` rule (``{"prefix": ..., "host": ...}``) makes every file under
``prefix`` go out with ``Content-Disposition: attachment; filename="<file name>"``, as CDSE's
download host names the product zip (``<NAME>.SAFE.zip``) behind an extension-less ``$value``.
"""

from __future__ import annotations

import re
from pathlib import Path

from xstac_access.testing.fileserver_state import ServerState

_NODE = re.compile(r"Nodes\(([^/]+)\)")


def locate(state: ServerState, host: str, path: str) -> tuple[Path | None, dict[str, str]]:
    """The file a request path names (through an ``odata_nodes`` rule, else under the root) and
    the extra headers to send with it."""
    nodes = _rule(state, "odata_nodes", host, path)
    target = _node_file(nodes, path) if nodes is not None else state.resolve(path)
    headers = {}
    if target is not None and _rule(state, "disposition", host, path):
        headers["Content-Disposition"] = f'attachment; filename="{target.name}"'
    return target, headers


def _rule(state: ServerState, key: str, host: str, path: str) -> dict | None:
    for rule in state.config.get(key, []):
        if path.startswith(rule["prefix"]) and rule.get("host") in (None, host):
            return rule
    return None


def _node_file(rule: dict, path: str) -> Path | None:
    """``.../Nodes(a)/Nodes(b)/$value`` -> ``<dir>/a/b`` when that is a file inside ``dir``."""
    *nodes, last = path[len(rule["prefix"]) :].split("/")
    matches = [_NODE.fullmatch(node) for node in nodes]
    if last != "$value" or not nodes or not all(matches):
        return None
    base = Path(rule["dir"]).resolve()
    target = base.joinpath(*(m.group(1) for m in matches if m)).resolve()
    return target if target.is_relative_to(base) and target.is_file() else None
