"""The benchmark data set: the demo product at a given scale, built once and kept.

    python bench/data.py --events 10000000

Data lives in .spyglass/bench-<events>/ (ignored by git); later runs reuse it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def data_dir(events: int) -> Path:
    return ROOT / ".spyglass" / f"bench-{events}"


def ensure(events: int) -> dict:
    """Build the demo at this scale unless it exists; return its project, token and key."""
    folder = data_dir(events)
    info_file = folder / "bench.json"
    if info_file.exists():
        return json.loads(info_file.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SPYGLASS_DATA": str(folder / "data")}
    env.pop("CLICKHOUSE_URL", None)
    started = time.perf_counter()
    command = [sys.executable, "-m", "gateway.cli", "demo", "--events", str(events), "--json"]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    info = json.loads(out.stdout)
    info["build_seconds"] = round(time.perf_counter() - started, 1)
    info["events"] = events
    info_file.write_text(json.dumps(info))
    return info


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000)
    print(json.dumps(ensure(parser.parse_args().events)))
