"""`spyglass`: serve, and the admin commands (run in-process, or through a running server).

In embedded mode the serving process owns the chDB data directory, so `spyglass serve` writes
DATA/server.json (pid, port, a local admin token; mode 0600) and other commands send their
argv to that server when it is alive, instead of failing on chDB's lock.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import urllib.error
import urllib.request
from pathlib import Path

from gateway import admin, config
from gateway.errors import SpyglassError

SERVER_FILE = "server.json"


def server_file(settings: config.Settings) -> Path:
    return Path(settings.chdb_path) / SERVER_FILE


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def live_server(settings: config.Settings) -> dict | None:
    path = server_file(settings)
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return info if _pid_alive(int(info.get("pid", 0))) else None


def write_server_file(settings: config.Settings, host: str, port: int, token: str) -> Path:
    path = server_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"pid": os.getpid(), "host": host, "port": port, "admin_token": token}, f)
    tmp.replace(path)
    return path


def _remote(info: dict, argv: list[str]):
    host = "127.0.0.1" if info["host"] in ("0.0.0.0", "::") else info["host"]
    request = urllib.request.Request(
        f"http://{host}:{info['port']}/_admin/command",
        data=json.dumps({"argv": argv}).encode(),
        headers={
            "Authorization": f"Bearer {info['admin_token']}",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=3600) as response:
            return json.loads(response.read())["result"]
    except urllib.error.HTTPError as exc:
        detail = json.loads(exc.read() or b"{}").get("detail", str(exc))
        raise SystemExit(f"error: {detail}") from None


async def _local(settings: config.Settings, argv: list[str]):
    from gateway.services import Services

    services = await Services.open(settings)
    try:
        return await admin.run(services, argv)
    finally:
        await services.close()


def run_admin(settings: config.Settings, argv: list[str]):
    info = live_server(settings) if settings.embedded else None
    if info:
        return _remote(info, argv)
    try:
        return asyncio.run(_local(settings, argv))
    except SpyglassError as exc:
        raise SystemExit(f"error: {exc.detail}") from None


def _print(result, as_json: bool) -> None:
    if as_json or not isinstance(result, list | dict):
        print(json.dumps(result, indent=None if as_json else 2, default=str))
        return
    rows = result if isinstance(result, list) else [result]
    for row in rows:
        print("  ".join(f"{k}={v}" for k, v in row.items()
                        if not isinstance(v, list | dict)))  # fmt: skip


def serve(args, settings: config.Settings) -> None:
    import uvicorn

    from gateway import logs
    from gateway.app import create_app
    from gateway.clock import Clock

    logs.configure(args.log_level or settings.log_level)
    token = secrets.token_urlsafe(32)

    async def on_ready(services):
        if settings.embedded:
            write_server_file(settings, args.host, args.port, token)
        if args.demo:
            demo = await admin.ensure_demo(services, args.demo_events, 42)
            print(
                f"\nSpyglass demo ready on http://{args.host}:{args.port}\n"
                f"  project id:        {demo['project_id']}\n"
                f"  project api token: {demo['api_token']}  (for SDKs sending events)\n"
                f"  personal API key:  {demo['personal_api_key']}  (user {demo['user']})\n"
                f"  try: curl -H 'Authorization: Bearer {demo['personal_api_key']}' "
                f"http://{args.host}:{args.port}/api/projects/@current/\n",
                flush=True,
            )

    def on_shutdown():
        info = live_server(settings)
        if settings.embedded and info and info.get("pid") == os.getpid():
            server_file(settings).unlink(missing_ok=True)

    app = create_app(
        settings,
        clock=Clock(),
        dev_clock=args.dev_clock,
        admin_token=token,
        on_ready=on_ready,
        on_shutdown=on_shutdown,
    )
    # One worker: in embedded mode this process owns the chDB data directory.
    uvicorn.run(
        app, host=args.host, port=args.port, log_config=None, workers=1, timeout_graceful_shutdown=5
    )


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    settings = config.from_env()
    as_json = "--json" in argv
    argv = [a for a in argv if a != "--json"]
    if argv[:1] == ["serve"]:
        parser = argparse.ArgumentParser(prog="spyglass serve")
        parser.add_argument("--host", default=os.environ.get("SPYGLASS_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--log-level", default="")
        parser.add_argument("--demo", action="store_true", help="load demo data on first start")
        parser.add_argument("--demo-events", type=int, default=200_000)
        parser.add_argument(
            "--dev-clock", action="store_true", help="honour an X-Spyglass-Now header (tests only)"
        )
        serve(parser.parse_args(argv[1:]), settings)
        return
    if not argv or argv[0] in ("-h", "--help"):
        print(
            "usage: spyglass serve [--demo] | demo | projects create|list | users create | "
            "keys create|list|revoke | import FILE   [--json]"
        )
        return
    _print(run_admin(settings, argv), as_json)


if __name__ == "__main__":
    main()
