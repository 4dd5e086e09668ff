"""Fixtures for tests against real ClickHouse servers (mark such tests `server`).

The servers are subprocesses on loopback in pytest's temporary directories (see
clickhouse_servers.py). Without a `clickhouse-server` binary the tests are skipped, unless
SPYGLASS_REQUIRE_SERVERS=1 (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os

import pytest

from tests.clickhouse_servers import (
    ClickHouseServer,
    find_clickhouse_server,
    start_cluster,
    stop_all,
)

REQUIRE_SERVERS = "SPYGLASS_REQUIRE_SERVERS"


def clickhouse_binary() -> str:
    """The server binary, or skip (fail under SPYGLASS_REQUIRE_SERVERS=1) without one."""
    binary = find_clickhouse_server()
    if binary is None:
        reason = "clickhouse-server is not installed"
        if os.environ.get(REQUIRE_SERVERS) == "1":
            pytest.fail(f"{reason}, and {REQUIRE_SERVERS}=1 requires it", pytrace=False)
        pytest.skip(reason)
    return binary


@pytest.fixture(scope="session")
def clickhouse_server(tmp_path_factory):
    """One server for the whole session: tests create their own uniquely named tables."""
    server = ClickHouseServer(tmp_path_factory.mktemp("clickhouse"), binary=clickhouse_binary())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def clickhouse_server_factory(tmp_path):
    """`make()` → a fresh running server, for tests that stop, kill or restart it."""
    binary = clickhouse_binary()
    servers: list[ClickHouseServer] = []

    def make(**kwargs) -> ClickHouseServer:
        server = ClickHouseServer(
            tmp_path / f"clickhouse{len(servers) + 1}", binary=binary, **kwargs
        )
        servers.append(server)
        server.start()
        return server

    yield make
    stop_all(servers)


@pytest.fixture(scope="session")
def clickhouse_cluster(tmp_path_factory) -> list[ClickHouseServer]:
    """Two servers, the two shards of cluster `spyglass_test` (clickhouse_servers.CLUSTER_NAME).

    insert_distributed_sync=1 in their default profile: an INSERT into a Distributed table
    returns once every shard has its rows, so tests need not wait for background sends.
    """
    servers = start_cluster(
        tmp_path_factory.mktemp("clickhouse-cluster"),
        binary=clickhouse_binary(),
        settings={"insert_distributed_sync": 1},
    )
    yield servers
    stop_all(servers)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A throwaway redis-server on a free loopback port (skip, or fail in CI, without one)."""
    import shutil
    import socket
    import subprocess
    import time

    binary = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None
    )
    if binary is None:
        if os.environ.get(REQUIRE_SERVERS) == "1":
            pytest.fail(
                f"redis-server is not installed, and {REQUIRE_SERVERS}=1 requires it", pytrace=False
            )
        pytest.skip("redis-server is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)
