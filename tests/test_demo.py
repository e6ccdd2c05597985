"""The README's main job: ``xstac demo`` runs end to end and reports what it measured."""

from __future__ import annotations

import re
import subprocess
import sys


def test_demo_command_runs_offline_and_reports_costs():
    proc = subprocess.run(
        [sys.executable, "-m", "xstac_access.cli", "demo"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "S2A_13TDE_20231008_0_L2A" in out
    assert "CRS EPSG:32613" in out
    assert "210 GCPs in EPSG:4326" in out
    cost = re.search(r"in all (\d+) requests, ([\d.]+) MB of a ([\d.]+) MB file", out)
    assert cost, out
    requests, moved, size = int(cost[1]), float(cost[2]), float(cost[3])
    assert requests <= 4 and moved < size / 5
    assert "bands ['HH', 'HV', 'VH', 'VV']" in out and "121 GCPs" in out
    assert "token requests: {'maap:refresh_token': 1}" in out
    assert "groups ['conditions', 'measurements', 'quality']" in out
    assert "footprint: POLYGON ((" in out
    assert out.rstrip().endswith("Done: every server was stopped.")
