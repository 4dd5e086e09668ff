"""The benchmark scripts run end to end at 100k events (a smoke test: timings are printed by
the scripts and recorded in bench/README.md, never asserted here)."""

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow
# One script at a time: each serves the same 100k-event data directory, which one process holds
# at a time, and the suite runs on several pytest-xdist workers.
TURN = ROOT / ".spyglass" / "bench-smoke.lock"


@pytest.mark.parametrize(
    "script", ["trends.py", "filters.py", "retention.py", "paths.py", "funnels.py", "sampling.py"]
)
def test_bench_script_runs(script):
    TURN.parent.mkdir(exist_ok=True)
    with open(TURN, "w") as turn:
        fcntl.flock(turn, fcntl.LOCK_EX)
        out = _run(script)
    assert out.returncode == 0, out.stderr[-2000:]
    document = json.loads(out.stdout.splitlines()[0])
    assert document["repeats"] == 1
    assert document["results"] and all(
        isinstance(r["median_ms"], float) for r in document["results"]
    )


def _run(script: str) -> subprocess.CompletedProcess:
    command = [sys.executable, str(ROOT / "bench" / script), "--events", "100000"]
    return subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=ROOT,
                          env={**os.environ, "SPYGLASS_BENCH_REPEATS": "1"})  # fmt: skip
