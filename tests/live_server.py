"""`spyglass serve` as a real subprocess on a temporary data directory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.harness import free_port

SPYGLASS = [sys.executable, "-m", "gateway.cli"]


class LiveServer:
    def __init__(self, data_dir: Path, *args: str):
        self.data_dir = data_dir
        self.args = args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "SPYGLASS_DATA": str(data_dir)}
        self.env.pop("CLICKHOUSE_URL", None)
        self.proc: subprocess.Popen | None = None
        self.log = data_dir.parent / f"server-{self.port}.log"

    def start(self, timeout: float = 180) -> LiveServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log, "ab")  # noqa: SIM115 - the child keeps writing after we return
        self.proc = subprocess.Popen(
            [*SPYGLASS, "serve", "--port", str(self.port), *self.args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not become ready")

    def cli(self, *argv: str):
        out = subprocess.run(
            [*SPYGLASS, *argv, "--json"], env=self.env, capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    def kill(self, sig=signal.SIGKILL) -> None:
        self.proc.send_signal(sig)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.kill(signal.SIGTERM)


def query_offline(data_dir: Path, sql: str, params: dict) -> list:
    """Query a data directory no server holds (a fresh process: chDB binds one path each)."""
    code = (
        "import asyncio, json, sys\n"
        "from pathlib import Path\n"
        "from gateway.store_chdb import ChdbStore\n"
        "async def main():\n"
        f"    store = ChdbStore(Path({str(data_dir)!r}))\n"
        "    result = await store.query(sys.argv[1], json.loads(sys.argv[2]))\n"
        "    print(json.dumps(result.rows, default=str))\n"
        "    await store.close()\n"
        "asyncio.run(main())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, sql, json.dumps(params)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)
