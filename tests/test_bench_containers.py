"""bench/bench_containers.py runs end to end at a small size and reports
every implementation it was asked for, with all answers checked."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "impls",
    [
        pytest.param([], id="default"),
        pytest.param(["ambervault CSBTree", "ambervault CSBTree no-hash", "ambervault SkipList no-hash", "dict"], id="no-hash"),
    ],
)
def test_small_run_reports_every_impl_and_passes_its_checks(tmp_path, impls):
    out_json = tmp_path / "runs.json"
    cmd = [sys.executable, str(ROOT / "bench" / "bench_containers.py"), "--sizes", "1500",
           "--repeat", "1", "--big-lookups", "1000", "--json", str(out_json)]
    if impls:
        cmd += ["--impls", *impls]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = proc.stdout
    assert "## Throughput" in report
    labels = impls or ["ambervault CSBTree", "ambervault SkipList", "SortedDict", "dict"]
    for label in labels:
        assert f"- {label}:" in report, label
        assert "CHECK FAILED" not in "\n".join(
            line for line in proc.stderr.splitlines() if line.strip().startswith(label + ":")
        ), proc.stderr[-3000:]
    if "ambervault CSBTree no-hash" in labels:
        assert "hash_index=False" in report
    data = json.loads(out_json.read_text())
    assert data  # every run's times were written
