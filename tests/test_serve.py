"""`spyglass serve` end to end: demo start, the printed key, the CLI beside a live server,
and durability of acknowledged events across SIGKILL."""

import json
import re
import subprocess
import threading
import time
import uuid

import httpx
import pytest

from tests.live_server import SPYGLASS, LiveServer, query_offline

pytestmark = pytest.mark.slow


def test_demo_serve_prints_a_working_key_and_the_cli_goes_through_the_server(tmp_path):
    server = LiveServer(tmp_path / "data", "--demo", "--demo-events", "20000").start()
    try:
        banner = ""
        deadline = time.time() + 60
        while "personal API key" not in banner and time.time() < deadline:
            banner += server.proc.stdout.readline()
        key = re.search(r"personal API key:\s+(phx_\S+)", banner).group(1)
        assert httpx.get(server.url + "/readyz").json()["status"] == "ready"
        me = httpx.get(
            server.url + "/api/projects/@current/", headers={"Authorization": f"Bearer {key}"}
        )
        assert me.status_code == 200 and me.json()["name"] == "Demo"
        assert (
            httpx.get(
                server.url + "/api/projects/@current/",
                headers={"Authorization": "Bearer phx_wrong"},
            ).status_code
            == 401
        )
        info = json.loads((tmp_path / "data" / "server.json").read_text())
        assert info["pid"] == server.proc.pid
        assert (tmp_path / "data" / "server.json").stat().st_mode & 0o777 == 0o600

        # The server holds the data directory; the CLI reaches it through the admin door.
        created = server.cli("projects", "create", "From CLI")
        assert created["api_token"].startswith("phc_")
        names = [p["name"] for p in server.cli("projects", "list")]
        assert names == ["Demo", "From CLI"]
    finally:
        server.stop()
    assert not (tmp_path / "data" / "server.json").exists()
    # Logs: one JSON object per line; each request with its id, route, status and duration.
    entries = [json.loads(line) for line in server.log.read_text().splitlines() if line]
    requests = [e for e in entries if e["message"] == "request"]
    assert {"request_id", "route", "status", "duration_ms"} <= set(requests[-1])
    assert any(e["route"] == "/api/projects/{project_id}/" and e["status"] == 401 for e in requests)
    count = query_offline(tmp_path / "data", "SELECT count() FROM events", {})
    assert count[0][0] > 15_000


def test_every_acknowledged_event_survives_sigkill_exactly_once(tmp_path):
    data = tmp_path / "data"
    server = LiveServer(data).start()
    token = server.cli("projects", "create", "Durability")["api_token"]
    acknowledged: set[str] = set()
    sent: list[list[dict]] = []
    stop = threading.Event()

    def sender(worker: int):
        with httpx.Client(timeout=5) as client:
            while not stop.is_set():
                batch = [
                    {
                        "event": "tick",
                        "distinct_id": f"w{worker}",
                        "uuid": str(uuid.uuid4()),
                        "timestamp": "2026-02-01T00:00:00Z",
                    }
                    for _ in range(50)
                ]
                sent.append(batch)
                try:
                    r = client.post(server.url + "/batch/", json={"api_key": token, "batch": batch})
                except httpx.HTTPError:
                    continue
                if r.status_code == 200:
                    acknowledged.update(e["uuid"] for e in batch)

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    time.sleep(3)
    server.kill()  # SIGKILL mid-stream
    stop.set()
    for t in threads:
        t.join()
    assert len(acknowledged) > 500

    # Restart on the same directory and let the clients retry everything they sent.
    server = LiveServer(data).start()
    try:
        with httpx.Client(timeout=30) as client:
            for batch in sent:
                r = client.post(server.url + "/batch/", json={"api_key": token, "batch": batch})
                assert r.status_code == 200
    finally:
        server.stop()
    rows = query_offline(data, "SELECT toString(uuid), count() FROM events GROUP BY uuid", {})
    counts = dict(rows)
    assert acknowledged <= set(counts)
    assert max(counts.values()) == 1
    assert len(counts) == sum(len(b) for b in sent)


def test_users_and_keys_from_the_cli_while_the_server_runs(tmp_path):
    server = LiveServer(tmp_path / "data").start()
    try:
        project = server.cli("projects", "create", "Keys")
        user = server.cli("users", "create", "ops@example.com", "--organization",
                          str(project["organization"]))  # fmt: skip
        made = server.cli("keys", "create", "--user", str(user["id"]), "--scopes", "insight:read")
        key = made["key"]
        assert key.startswith("phx_") and "secure_value" not in made
        listed = server.cli("keys", "list")
        assert [k["mask_value"] for k in listed] == [made["mask_value"]]
        assert all(key not in json.dumps(k) for k in listed)  # shown once, stored hashed
        # A misspelt scope would make a key that can do nothing: refused, nothing made.
        typo = subprocess.run([*SPYGLASS, "keys", "create", "--user", str(user["id"]),
                               "--scopes", "insight:read,dashbord:read"], env=server.env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert typo.returncode != 0 and "Invalid scope: dashbord:read" in typo.stderr
        assert len(server.cli("keys", "list")) == 1
        url = f"{server.url}/api/projects/{project['id']}/insights/"
        auth = {"Authorization": f"Bearer {key}"}
        assert httpx.get(url, headers=auth).status_code == 200
        assert httpx.post(url, json={"name": "x"}, headers=auth).status_code == 403
        server.cli("keys", "revoke", str(made["id"]))
        assert httpx.get(url, headers=auth).status_code == 401
    finally:
        server.stop()


def test_read_only_sql_through_the_admin_door(spyglass, tenant):
    from gateway.admin import run as admin_run
    from gateway.errors import SpyglassError

    out = spyglass.run(admin_run(spyglass.services, [
        "sql", "SELECT count() FROM events WHERE project_id = {project_id:UInt64}",
        "--project", str(tenant["id"])]))  # fmt: skip
    assert out["rows"] == [[0]] and out["elapsed_ms"] >= 0
    for statement in (
        "DROP TABLE events",
        "SELECT 1; DROP TABLE events",
        "WITH 1 AS x SELECT x FROM events SETTINGS readonly = 0",
    ):
        with pytest.raises(SpyglassError):
            spyglass.run(admin_run(spyglass.services, ["sql", statement, "--project", "1"]))
    assert spyglass.query("SELECT count() FROM system.tables WHERE name = 'events' "
                          "AND database = currentDatabase()").scalar() == 1  # fmt: skip
