"""Shared bits of the benchmark protocol: a server subprocess, its peak memory, JSON output."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def git_commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                         text=True)  # fmt: skip
    return out.stdout.strip() or "unknown"


def vm_hwm_mib(pid: int) -> float:
    """Peak resident memory of a process (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (from /proc/PID/stat), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "SPYGLASS_DATA": str(data_dir), "SPYGLASS_LOG_LEVEL": "warning"}
        self.env.pop("CLICKHOUSE_URL", None)

    def __enter__(self) -> Server:
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "serve", "--port", str(self.port)],
            env=self.env, stdout=subprocess.DEVNULL, stderr=self.log,
        )  # fmt: skip
        deadline = time.time() + 120
        while time.time() < deadline and self.proc.poll() is None:
            try:
                # a generous timeout: on a busy machine /readyz may take seconds to answer
                if httpx.get(self.url + "/readyz", timeout=10).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.proc.kill()
        self.log.seek(0)
        raise RuntimeError("server did not start: " + self.log.read().decode()[-2000:])

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)
        self.log.close()

    def cli(self, *argv: str):
        out = subprocess.run([sys.executable, "-m", "gateway.cli", *argv, "--json"],
                             env=self.env, capture_output=True, text=True, check=True)  # fmt: skip
        return json.loads(out.stdout)

    def peak_mib(self) -> float:
        return vm_hwm_mib(self.proc.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.proc.pid)


# The protocol's median of 5; the CI smoke test (tests/test_bench_smoke.py) sets 1, as it
# checks that the scripts run, not how fast.
REPEATS = int(os.environ.get("SPYGLASS_BENCH_REPEATS", "5"))


def report(name: str, rows: list[dict], out_dir: Path = ROOT / "bench" / "results") -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = {"bench": name, "commit": git_commit(), "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
           "cpus": os.cpu_count(), "repeats": REPEATS, "results": rows}  # fmt: skip
    (out_dir / f"{name}.json").write_text(json.dumps(doc, indent=2))
    print(json.dumps(doc))
    keys = list(rows[0])
    widths = [max(len(k), *(len(f"{r[k]}") for r in rows)) for k in keys]
    print("  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True)))
    for r in rows:
        print("  ".join(f"{r[k]}".ljust(w) for k, w in zip(keys, widths, strict=True)))


def median_ms(run, repeats: int = REPEATS) -> float:
    """One warm-up, then the median of `repeats` timed runs, in milliseconds."""
    import statistics

    run()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


class InsightBench:
    """Insight requests over HTTP with the cache bypassed, beside baseline SQL in the same run."""

    def __init__(self, server: Server, info: dict):
        self.server, self.info = server, info
        self.client = httpx.Client(
            base_url=server.url,
            timeout=600,
            headers={"Authorization": f"Bearer {info['personal_api_key']}"},
        )

    def insight(self, path: str, body: dict) -> float | str:
        """Median milliseconds, or the error (e.g. a 504 past the query time limit): a case
        that fails is reported, not allowed to hide the others' figures."""
        url = f"/api/projects/{self.info['project_id']}/insights/{path}/"

        def run():
            r = self.client.post(url, json={**body, "refresh": True})
            r.raise_for_status()

        try:
            return median_ms(run)
        except httpx.HTTPStatusError as exc:
            return f"error {exc.response.status_code}"

    def floor(self, sql: str) -> float:
        """A baseline query run by the server itself (its own elapsed time, median of 5)."""
        import statistics

        def once() -> float:
            out = self.server.cli("sql", sql, "--project", str(self.info["project_id"]))
            return out["elapsed_ms"]

        once()
        return round(statistics.median(once() for _ in range(REPEATS)), 1)


def scale_from_args(default: int = 10_000_000) -> int:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=default)
    return parser.parse_args().events


def ratio(value, base) -> float | None:
    """value / base, or None when either is missing or an error."""
    if isinstance(value, float) and isinstance(base, float) and base:
        return round(value / base, 2)
    return None


# The floor for per-person insights (retention, paths): every event of 90 days grouped by person.
PERSON_FLOOR = """SELECT person_id, count() FROM events
WHERE project_id = {project_id:UInt64} AND timestamp >= now() - INTERVAL 90 DAY
GROUP BY person_id"""


def run_beside_floor(name: str, cases: list[tuple[str, str, dict, str]]) -> None:
    """Time each (case, insight path, body, target) at the scale given on the command line,
    beside PERSON_FLOOR measured by the same server in the same run; report as `name-N`."""
    from bench.data import data_dir, ensure

    events = scale_from_args()
    info = ensure(events)
    with Server(data_dir(events) / "data") as server:
        bench = InsightBench(server, info)
        floor = bench.floor(PERSON_FLOOR)
        rows = []
        for case, path, body, target in cases:
            ms = bench.insight(path, body)
            rows.append({"case": case, "median_ms": ms, "floor_ms": floor,
                         "x_floor": ratio(ms, floor), "target": target})  # fmt: skip
        peak = round(server.peak_mib())
        for row in rows:
            row["server_peak_mib"] = peak
    report(f"{name}-{events}", rows)
