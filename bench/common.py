"""Shared bits of the benchmark protocol: a server subprocess, its peak memory, JSON output."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
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


class Server:
    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "SPYGLASS_DATA": str(data_dir), "SPYGLASS_LOG_LEVEL": "warning"}
        self.env.pop("CLICKHOUSE_URL", None)

    def __enter__(self) -> Server:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "serve", "--port", str(self.port)],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)

    def cli(self, *argv: str):
        out = subprocess.run([sys.executable, "-m", "gateway.cli", *argv, "--json"],
                             env=self.env, capture_output=True, text=True, check=True)  # fmt: skip
        return json.loads(out.stdout)

    def peak_mib(self) -> float:
        return vm_hwm_mib(self.proc.pid)


def report(name: str, rows: list[dict], out_dir: Path = ROOT / "bench" / "results") -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = {"bench": name, "commit": git_commit(), "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
           "cpus": os.cpu_count(), "results": rows}  # fmt: skip
    (out_dir / f"{name}.json").write_text(json.dumps(doc, indent=2))
    print(json.dumps(doc))
    keys = list(rows[0])
    widths = [max(len(k), *(len(f"{r[k]}") for r in rows)) for k in keys]
    print("  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True)))
    for r in rows:
        print("  ".join(f"{r[k]}".ljust(w) for k, w in zip(keys, widths, strict=True)))
