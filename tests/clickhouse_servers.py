"""Throwaway ClickHouse servers for tests: real `clickhouse-server` processes on loopback.

Each server lives in its own directory (config.xml, users.xml, data/, tmp/, log/) with TCP
and HTTP ports found free at runtime, so tests never touch a system server or each other.
`ClickHouseServer` starts, stops (SIGTERM, then SIGKILL) and restarts one process on the
same ports and data; `start_cluster` starts several named as the shards of one cluster in
`remote_servers` (no ZooKeeper: Distributed tables over plain MergeTree locals).

Written against Debian's 18.16 and kept to settings that newer servers also accept.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from xml.sax.saxutils import escape

CLUSTER_NAME = "spyglass_test"
# A second user with a password full of URL-reserved characters: the Store must unquote it.
PASSWORD_USER = "spyglass"
PASSWORD = "p@ss:w/rd%20?#"

# Started processes not yet stopped: killed at interpreter exit if a test run ends abruptly.
_RUNNING: set[subprocess.Popen] = set()

# Debian and the ClickHouse packages put the server in sbin, which a non-root PATH may lack.
_CANDIDATES = ("/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server")


def find_clickhouse_server() -> str | None:
    """The server binary: $SPYGLASS_CLICKHOUSE_SERVER, then PATH, then the usual places."""
    explicit = os.environ.get("SPYGLASS_CLICKHOUSE_SERVER")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    found = shutil.which("clickhouse-server")
    if found:
        return found
    return next((path for path in _CANDIDATES if os.access(path, os.X_OK)), None)


def free_ports(count: int) -> list[int]:
    """`count` distinct free loopback ports (all held open while choosing, then released)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _settings_xml(settings: dict) -> str:
    return "".join(f"<{name}>{escape(str(value))}</{name}>" for name, value in settings.items())


def _cluster_xml(name: str, shards: list[tuple[str, int]]) -> str:
    shard_xml = "".join(
        "<shard><internal_replication>false</internal_replication>"
        f"<replica><host>{host}</host><port>{port}</port></replica></shard>"
        for host, port in shards
    )
    return f"<remote_servers><{name}>{shard_xml}</{name}></remote_servers>"


class ClickHouseServer:
    """One `clickhouse-server` process in `root`, listening on 127.0.0.1 only."""

    host = "127.0.0.1"

    def __init__(
        self,
        root: Path,
        *,
        binary: str,
        tcp_port: int | None = None,
        http_port: int | None = None,
        settings: dict | None = None,
        remote_servers_xml: str = "",
    ):
        self.root = Path(root)
        self.binary = binary
        if tcp_port is None or http_port is None:
            tcp_port, http_port = free_ports(2)
        self.tcp_port = tcp_port
        self.http_port = http_port
        # Settings of the default profile. poll_interval=1: an idle client connection holds
        # up a graceful shutdown for up to poll_interval seconds (10 by default on 18.16).
        self.settings = {"poll_interval": 1, **(settings or {})}
        self.remote_servers_xml = remote_servers_xml
        self.process: subprocess.Popen | None = None
        self.write_config()

    # -- configuration ---------------------------------------------------------------------

    @property
    def config_path(self) -> Path:
        return self.root / "config.xml"

    @property
    def log_dir(self) -> Path:
        return self.root / "log"

    def write_config(self) -> None:
        for sub in ("data", "tmp", "user_files", "format_schemas", "log"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        root = escape(str(self.root))
        self.config_path.write_text(
            f"""<?xml version="1.0"?>
<yandex>
  <logger>
    <level>information</level>
    <log>{root}/log/clickhouse-server.log</log>
    <errorlog>{root}/log/clickhouse-server.err.log</errorlog>
    <size>50M</size>
    <count>1</count>
  </logger>
  <listen_host>{self.host}</listen_host>
  <tcp_port>{self.tcp_port}</tcp_port>
  <http_port>{self.http_port}</http_port>
  <path>{root}/data/</path>
  <tmp_path>{root}/tmp/</tmp_path>
  <user_files_path>{root}/user_files/</user_files_path>
  <format_schema_path>{root}/format_schemas/</format_schema_path>
  <users_config>{root}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  {self.remote_servers_xml}
</yandex>
"""
        )
        networks = "<networks><ip>127.0.0.1</ip><ip>::1</ip></networks>"
        user_tail = f"{networks}<profile>default</profile><quota>default</quota>"
        (self.root / "users.xml").write_text(
            f"""<?xml version="1.0"?>
<yandex>
  <profiles><default>{_settings_xml(self.settings)}</default></profiles>
  <users>
    <default><password></password>{user_tail}</default>
    <{PASSWORD_USER}><password>{escape(PASSWORD)}</password>{user_tail}</{PASSWORD_USER}>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
  </interval></default></quotas>
</yandex>
"""
        )

    # -- addresses -------------------------------------------------------------------------

    def url(self, user: str = "default", password: str = "", database: str = "default") -> str:
        """A CLICKHOUSE_URL for this server (user and password percent-quoted)."""
        from urllib.parse import quote

        auth = quote(user, safe="") + ":" + quote(password, safe="")
        return f"clickhouse://{auth}@{self.host}:{self.tcp_port}/{database}"

    def client(self, **kwargs):
        """A plain clickhouse-driver client, for setting up and checking behind the Store."""
        from clickhouse_driver import Client

        return Client(host=self.host, port=self.tcp_port, connect_timeout=2, **kwargs)

    def execute(self, sql: str, *args, **kwargs):
        """One statement on a fresh connection, closed afterwards."""
        return self._execute_on(self.client(), sql, *args, **kwargs)

    @staticmethod
    def _execute_on(client, sql: str, *args, **kwargs):
        try:
            return client.execute(sql, *args, **kwargs)
        finally:
            client.disconnect()

    # -- process ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 30) -> None:
        if self.running:
            return
        with open(self.log_dir / "stdout.log", "ab") as out:
            self.process = subprocess.Popen(
                [self.binary, f"--config-file={self.config_path}"],
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        _RUNNING.add(self.process)
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.kill()
            raise

    def wait_ready(self, timeout: float) -> None:
        """Until the server answers `SELECT 1` over the native protocol."""
        from clickhouse_driver import errors

        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(
                    f"clickhouse-server exited with {self.process and self.process.returncode}"
                    f" before answering\n{self.log_tail()}"
                )
            try:
                # Short socket timeouts: a port that accepts but never answers (someone else's
                # listener) must not hold us for the driver's default 300 s.
                probe = self.client(send_receive_timeout=2, sync_request_timeout=2)
                if self._execute_on(probe, "SELECT 1") == [(1,)]:
                    return
            except (errors.Error, OSError, EOFError) as exc:
                last_error = exc
            time.sleep(0.05)
        raise TimeoutError(
            f"clickhouse-server on port {self.tcp_port} not ready after {timeout}s"
            f" ({last_error})\n{self.log_tail()}"
        )

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM and wait; SIGKILL if it has not exited after `timeout` seconds."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        _RUNNING.discard(self.process)
        self.process = None

    def kill(self) -> None:
        """SIGKILL: a crash, as far as the data and the clients can tell."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        _RUNNING.discard(self.process)
        self.process = None

    def restart(self, *, hard: bool = False, timeout: float = 30) -> None:
        """Stop (SIGTERM, or SIGKILL if `hard`) and start again on the same ports and data."""
        if hard:
            self.kill()
        else:
            self.stop()
        self.start(timeout)

    def log_tail(self, lines: int = 30) -> str:
        out = []
        for name in ("stdout.log", "clickhouse-server.err.log"):
            path = self.log_dir / name
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"--- {path}\n" + "\n".join(text))
        return "\n".join(out)

    def __enter__(self) -> ClickHouseServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<ClickHouseServer {self.host}:{self.tcp_port} {state} in {self.root}>"


def start_server(root: Path, *, binary: str, settings: dict | None = None) -> ClickHouseServer:
    server = ClickHouseServer(root, binary=binary, settings=settings)
    server.start()
    return server


def start_cluster(
    root: Path,
    *,
    binary: str,
    shards: int = 2,
    name: str = CLUSTER_NAME,
    settings: dict | None = None,
) -> list[ClickHouseServer]:
    """`shards` servers in root/shard1, root/shard2, ..., each naming all as cluster `name`."""
    ports = free_ports(2 * shards)
    tcp_ports, http_ports = ports[:shards], ports[shards:]
    remote_servers = _cluster_xml(name, [(ClickHouseServer.host, port) for port in tcp_ports])
    servers = [
        ClickHouseServer(
            Path(root) / f"shard{index + 1}",
            binary=binary,
            tcp_port=tcp_ports[index],
            http_port=http_ports[index],
            settings=settings,
            remote_servers_xml=remote_servers,
        )
        for index in range(shards)
    ]
    try:
        for server in servers:
            server.start()
    except BaseException:
        stop_all(servers)
        raise
    return servers


def stop_all(servers: list[ClickHouseServer]) -> None:
    for server in servers:
        server.stop()


@atexit.register
def _kill_leftovers() -> None:
    for process in list(_RUNNING):
        if process.poll() is None:
            process.kill()
