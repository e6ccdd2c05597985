"""The benchmarks stay runnable: quick mode end to end, and the counts that do not depend on time.

``benchmarks/run.py --quick`` runs in a subprocess on the session's local world (``XSTAC_WORLD``;
ci-scale data) and writes into a temporary directory, never over the committed results. Wall
times on a shared CI machine mean nothing, so nothing here asserts one: only that every
benchmark reported its figures, and that the byte and request targets, which are
deterministic, hold.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EVERY = {"B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9", "B10", "B11"}


#: Two runs side by side, of about equal length: most of the benchmarks on the local world,
#: which mostly wait on its servers, and those that only compute (B5, B6: no world) with B11,
#: whose 50 opens are mostly CPU.
PARTS = ("B1,B2,B3,B4,B7,B8,B9,B10", "B5,B6,B11")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, world_env: dict[str, str]) -> dict:
    runs = []
    for only in PARTS:
        out = tmp_path_factory.mktemp("bench-results")
        argv = [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--only", only,
                "--out", str(out)]  # fmt: skip
        runs.append((subprocess.Popen(argv, cwd=ROOT, env=world_env), out))
    reports = []
    for proc, out in runs:
        assert proc.wait(timeout=540) == 0
        assert (out / "RESULTS.md").is_file()
        reports.append(json.loads((out / "latest.json").read_text()))
    assert {r["mode"] for r in reports} == {"quick"}
    return {**reports[0], "results": [row for r in reports for row in r["results"]]}


def rows(report: dict, bench: str, case: str = "") -> list[dict]:
    found = [r for r in report["results"] if r["id"] == bench and r["case"] == case]
    assert found, (bench, case, [(r["id"], r["case"]) for r in report["results"]])
    return found


def target(row: dict, key: str) -> dict:
    (found,) = [t for t in row["targets"] if t["key"] == key]
    return found


@pytest.mark.timeout(600)
def test_quick_mode_reports_every_benchmark_with_its_counts(report):
    assert report["mode"] == "quick"
    assert {r["id"] for r in report["results"]} == EVERY
    for row in report["results"]:
        assert row["variants"] and row["targets"], row["id"]
        for variant in row["variants"].values():
            assert variant["median_s"] > 0, (row["id"], variant)
            if row.get("counted", True):
                assert variant["requests"] > 0 and variant["bytes"] > 0, (row["id"], variant)
        if row["floor"] is not None:
            assert row["floor"]["seconds"] > 0 and row["floor"]["requests_min"] > 0


@pytest.mark.timeout(600)
def test_deterministic_byte_and_request_targets_hold(report):
    deterministic = [
        (r["id"], r["case"], t)
        for r in report["results"]
        for t in r["targets"]
        if t["deterministic"]
    ]
    assert {bench for bench, _, _ in deterministic} == EVERY
    missed = [
        (bench, case, t["what"], t["value"]) for bench, case, t in deterministic if not t["met"]
    ]
    assert not missed, missed


@pytest.mark.timeout(600)
def test_named_byte_targets(report):
    (b7,) = rows(report, "B7", "loopback")
    assert target(b7, "bytes")["value"] <= 1.0  # MB beyond the three members
    assert b7["same_values"]  # the TCI read by range equals the one unzipped
    (b3,) = rows(report, "B3")
    assert target(b3, "bytes")["value"] <= 1.05
    (b4,) = rows(report, "B4")
    assert target(b4, "bytes")["value"] <= 1.2
    for case in ("", "LocalCluster 2 workers"):  # threads; dask on 2 worker processes
        (b9,) = rows(report, "B9", case)
        ours, odc = b9["variants"]["ours"], b9["variants"]["odc"]
        assert (ours["requests"], ours["bytes"]) == (odc["requests"], odc["bytes"]), case
        assert b9["same_values"] and b9["ratios"]["ours/odc paired"] > 0, case
    (b2,) = rows(report, "B2")
    assert target(b2, "metadata")["value"] == 1
    (b10,) = rows(report, "B10")  # the window read by range equals the one unzipped
    assert b10["same_values"] and b10["variants"]["ours"]["info"]["shape"] == [512, 512]
    assert target(b10, "bytes")["value"] <= 1.0 and target(b10, "requests")["value"] <= 12
    assert b10["variants"]["ours"]["bytes"] < b10["zip_bytes"] / 10
    (resume,) = rows(report, "B8", "resume")
    info = resume["variants"]["ours"]["info"]
    assert info["victim_bytes"] == info["missing_bytes"] > 0
