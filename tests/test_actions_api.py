"""Actions over PostHog's REST paths: stored definitions insights can reference."""

import httpx
import pytest

from tests.test_insights_api import client


def test_action_crud(spyglass, tenant):
    with client(spyglass, tenant) as c:
        base = f"/api/projects/{tenant['id']}/actions/"
        made = c.post(
            base,
            json={
                "name": "Signed up",
                "steps": [
                    {"event": "$pageview", "url": "/signup", "url_matching": "contains"},
                    {"event": "signed_up", "properties": [{"key": "plan", "value": "pro"}]},
                ],
            },
        )
        assert made.status_code == 201, made.text
        action = made.json()
        assert action["name"] == "Signed up" and len(action["steps"]) == 2
        assert c.get(base).json()["count"] == 1
        url = f"{base}{action['id']}/"
        assert c.patch(url, json={"name": "Sign-ups"}).json()["name"] == "Sign-ups"
        assert c.delete(url).status_code == 405
        assert c.patch(url, json={"deleted": True}).status_code == 200
        assert c.get(url).status_code == 404
    other = spyglass.new_project()
    with client(spyglass, other) as c:
        assert c.get(f"/api/projects/{other['id']}/actions/{action['id']}/").status_code == 404


@pytest.mark.parametrize(
    ("body", "attr"),
    [({"steps": []}, "name"), ({"name": "x", "steps": "no"}, "steps"),
     ({"name": "x", "steps": [{"url": "(", "url_matching": "regex"}]}, "steps[0].url"),
     ({"name": "x", "steps": [{"url_matching": "fuzzy"}]}, "steps[0].url_matching"),
     ({"name": "x", "steps": [{"properties": [{"key": "a", "operator": "bad"}]}]},
      "steps[0].properties[0].operator")],
)  # fmt: skip
def test_bad_actions_are_400_naming_the_field(spyglass, tenant, body, attr):
    r = httpx.post(f"{spyglass.url}/api/projects/{tenant['id']}/actions/", json=body,
                   headers={"Authorization": f"Bearer {tenant['key']}"})  # fmt: skip
    assert r.status_code == 400 and r.json()["attr"] == attr


def test_actions_need_action_scopes(spyglass):
    reader = spyglass.new_project(scopes=["insight:write"])
    r = httpx.get(f"{spyglass.url}/api/projects/{reader['id']}/actions/",
                  headers={"Authorization": f"Bearer {reader['key']}"})  # fmt: skip
    assert r.status_code == 403 and "action:read" in r.json()["detail"]
