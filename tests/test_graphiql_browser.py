"""GraphiQL in a real headless Chromium (Debian's package): the page loads with no request
leaving the gateway, a query runs, and its result is on screen. The screenshot is kept in
tests/artifacts/graphiql.png."""

import json
import os
import shutil
from pathlib import Path

import httpx
import pytest

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]  # fmt: skip


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("SPYGLASS_REQUIRE_SERVERS") == "1":
            pytest.fail("chromium is not installed", pytrace=False)
        pytest.skip("chromium is not installed")
    return path


def test_graphiql_runs_a_query_offline(spyglass, tenant):
    from playwright.sync_api import sync_playwright

    executable = chromium()
    name = "Browser-visible insight"
    created = httpx.post(
        f"{spyglass.url}/api/projects/{tenant['id']}/insights/",
        json={"name": name},
        headers={"Authorization": f"Bearer {tenant['key']}"},
    )
    assert created.status_code == 201
    query = f'query {{ insight(projectId: "{tenant["id"]}", id: {created.json()["id"]}) ' \
            "{ id name shortId } }"  # fmt: skip
    headers = json.dumps({"Authorization": f"Bearer {tenant['key']}"})
    outside: list[str] = []
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        page.on("request", lambda r: None if r.url.startswith(spyglass.url)
                else outside.append(r.url))  # fmt: skip
        # GraphiQL reads its persisted editors from localStorage: the query and our key.
        page.add_init_script(
            f"localStorage.setItem('graphiql:query', {json.dumps(query)});"
            f"localStorage.setItem('graphiql:headers', {json.dumps(headers)});"
        )
        page.goto(f"{spyglass.url}/graphql", wait_until="networkidle")
        page.wait_for_selector(".graphiql-execute-button", timeout=20_000)
        page.click(".graphiql-execute-button")
        page.wait_for_function(
            f"document.body.innerText.includes({json.dumps(name)}) && "
            "document.querySelector('.result-window') !== null",
            timeout=20_000,
        )
        result_text = page.inner_text(".result-window")
        page.screenshot(path=str(ARTIFACTS / "graphiql.png"), full_page=True)
        browser.close()
    assert outside == []
    assert name in result_text and created.json()["short_id"] in result_text
