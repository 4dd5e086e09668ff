"""A live Spyglass for tests: uvicorn on a free port in a background thread with its own loop.

chDB binds one data path per process, so the suite shares one engine (one data directory);
tests isolate themselves by creating fresh projects. `run(coro)` executes a coroutine on the
server's loop, for direct access to the Store and Services.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import httpx
import uvicorn

from gateway.app import create_app
from gateway.clock import Clock
from gateway.config import Settings
from gateway.services import Services
from gateway.squash import squash


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Harness:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.clock = Clock()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        self.services: Services | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._server: uvicorn.Server | None = None

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.services = self.loop.run_until_complete(Services.open(self.settings, clock=self.clock))
        app = create_app(self.settings, services=self.services, dev_clock=True)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_config=None, lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self.loop.run_until_complete(self._server.serve())

    def start(self) -> None:
        self._thread.start()
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("test server did not start")

    def stop(self) -> None:
        if self._server:
            self._server.should_exit = True
        self._thread.join(timeout=10)
        if self.services:
            self.loop.run_until_complete(self.services.close())

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=300)

    def query(self, sql: str, params: dict | None = None):
        return self.run(self.services.store.query(sql, params))

    def capture(self, tenant: dict, messages: list[dict], *, squash_midway: bool = False) -> None:
        """POST a log to /batch/. With `squash_midway` it goes in two halves, the merges so far
        squashed into events after each (gateway/squash.py): later merges, of persons whose
        events were already rewritten among them, land above the mark, and queries must give
        the same answers as over an unsquashed log."""
        halves = [messages[: len(messages) // 2], messages[len(messages) // 2 :]]
        for part in halves if squash_midway else [messages]:
            r = httpx.post(self.url + "/batch/", json={"api_key": tenant["token"], "batch": part},
                           timeout=60)  # fmt: skip
            assert r.status_code == 200 and "rejected" not in r.json(), r.text
            if squash_midway:
                self.run(squash(self.services.store, tenant["id"], grace_s=0))

    def new_project(self, *, scopes: list[str] | None = None, timezone: str = "UTC") -> dict:
        """A fresh organisation, project, user and personal key: each test's own tenant."""
        tenancy = self.services.tenancy

        async def make():
            org = await tenancy.create_organization("Test org", "example.com")
            project = await tenancy.create_project(
                org["id"], "Test", timezone=timezone, company_domain="example.com"
            )
            user = await tenancy.create_user(org["id"], f"user{org['id']}@example.com")
            key, _ = await tenancy.create_key(user["id"], "test", scopes or [])
            return {
                "project": project,
                "user": user,
                "key": key,
                "id": project["id"],
                "token": project["api_token"],
            }

        return self.run(make())
