"""Organisations, projects, users and personal API keys, on top of the metadata log.

Personal keys (`phx_…`) are shown once and stored only as an HMAC of the key under the
server's secret, so a presented key is found by its hash and a leaked table reveals nothing.
Project tokens (`phc_…`) are public: they only let SDKs send events.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from gateway.clock import Clock
from gateway.errors import AuthenticationError, ValidationError
from gateway.metadata import Metadata

DEFAULT_TEST_ACCOUNT_FILTERS_HOSTS = ["localhost", "127.0.0.1"]
# How long a gateway trusts the keys it read: a key revoked through another gateway stops
# working here within this many seconds (monotonic time, not the injectable clock, which a
# dev-clock request may set to any moment).
KEY_CACHE_SECONDS = 5.0
# PostHog's scope objects (posthog/models/scopes.py): a key may name any of them, so a PostHog
# key's scopes carry over, though Spyglass only serves some of these objects.
SCOPE_OBJECTS = frozenset({
    "action", "activity_log", "annotation", "batch_export", "cohort", "dashboard",
    "dashboard_template", "early_access_feature", "event_definition", "experiment", "export",
    "feature_flag", "group", "insight", "notebook", "organization", "organization_member",
    "person", "plugin", "project", "property_definition", "query", "session_recording",
    "session_recording_playlist", "sharing_configuration", "subscription", "survey", "user",
    "webhook",
})  # fmt: skip


def check_scopes(scopes: list[str]) -> list[str]:
    """`object:read`, `object:write` or `*`, as PostHog validates a new key's scopes: a typo
    would otherwise make a key that silently can do nothing."""
    for scope in scopes:
        obj, _, action = scope.partition(":")
        if scope != "*" and (obj not in SCOPE_OBJECTS or action not in ("read", "write")):
            raise ValidationError(f"Invalid scope: {scope}", attr="scopes")
    return scopes


def default_test_account_filters(company_domain: str) -> list[dict]:
    filters = [{"key": "$host", "type": "event", "value": DEFAULT_TEST_ACCOUNT_FILTERS_HOSTS,
                "operator": "is_not"}]  # fmt: skip
    if company_domain:
        filters.insert(0, {"key": "email", "type": "person", "value": f"@{company_domain}",
                           "operator": "not_icontains"})  # fmt: skip
    return filters


def check_project_settings(fields: dict) -> dict:
    """The writable project settings (PostHog's names); anything malformed is a 400."""
    import re

    from gateway.errors import ValidationError
    from resolvers.dates import zone
    from resolvers.properties import parse_properties

    out = {}
    if "name" in fields:
        if not isinstance(fields["name"], str) or not fields["name"].strip():
            raise ValidationError("name must be a non-empty string", attr="name")
        out["name"] = fields["name"]
    if "timezone" in fields:
        if not isinstance(fields["timezone"], str):
            raise ValidationError("timezone must be a string", attr="timezone")
        zone(fields["timezone"])
        out["timezone"] = fields["timezone"]
    if "week_start_day" in fields:
        if isinstance(fields["week_start_day"], bool) or fields["week_start_day"] not in (0, 1):
            raise ValidationError("week_start_day must be 0 (Sunday) or 1 (Monday)",
                                  attr="week_start_day")  # fmt: skip
        out["week_start_day"] = fields["week_start_day"]
    if "test_account_filters" in fields:
        parse_properties(fields["test_account_filters"], "test_account_filters")
        out["test_account_filters"] = fields["test_account_filters"] or []
    if "path_cleaning_filters" in fields:
        rules = fields["path_cleaning_filters"] or []
        if not isinstance(rules, list):
            raise ValidationError("path_cleaning_filters must be a list",
                                  attr="path_cleaning_filters")  # fmt: skip
        for index, rule in enumerate(rules):
            attr = f"path_cleaning_filters[{index}]"
            if not isinstance(rule, dict) or not isinstance(rule.get("regex"), str) or \
                    not isinstance(rule.get("alias"), str):  # fmt: skip
                raise ValidationError(f"{attr} needs a regex and an alias", attr=attr)
            try:
                re.compile(rule["regex"])
            except re.error as exc:
                raise ValidationError(f"{attr}: invalid regex: {exc}", attr=attr) from None
        out["path_cleaning_filters"] = rules
    return out


class Tenancy:
    def __init__(self, metadata: Metadata, clock: Clock, secret: bytes, *,
                 key_cache_seconds: float = KEY_CACHE_SECONDS):  # fmt: skip
        self.metadata = metadata
        self.clock = clock
        self.secret = secret
        self._project_by_token: dict[str, int] = {}
        self._key_cache: dict[str, dict] = {}
        self._key_cache_read = float("-inf")  # time.monotonic() of the last full read
        self.key_cache_seconds = key_cache_seconds

    def hash_key(self, key: str) -> str:
        return "hmac_sha256$" + hmac.new(self.secret, key.encode(), hashlib.sha256).hexdigest()

    async def create_organization(self, name: str, domain: str = "") -> dict:
        entity = await self.metadata.create("organization", 0, {
            "name": name, "domain": domain, "created_at": self.clock.now().isoformat(),
        })  # fmt: skip
        return entity.document

    async def create_project(
        self, organization_id: int, name: str, *, timezone: str = "UTC", company_domain: str = ""
    ) -> dict:
        project_id = await self.metadata.next_id("project")
        document = {
            "id": project_id,
            "organization": organization_id,
            "name": name,
            "api_token": "phc_" + secrets.token_urlsafe(32),
            "timezone": timezone,
            "week_start_day": 0,
            "test_account_filters": default_test_account_filters(company_domain),
            "path_cleaning_filters": [],
            "created_at": self.clock.now().isoformat(),
        }
        await self.metadata.write(
            "project", project_id, project_id, 1, document, activity="created"
        )
        self._project_by_token[document["api_token"]] = project_id
        return document

    async def update_project(self, project_id: int, fields: dict, user_id: int = 0) -> dict:
        """Project settings, validated, as one new version under the project's lock."""
        values = check_project_settings(fields)
        async with self.metadata.lock("project", project_id):
            entity = await self.metadata.get("project", project_id)
            if entity is None:
                from gateway.errors import NotFound

                raise NotFound("Project not found.")
            document = {**entity.document, **values}
            await self.metadata.write("project", project_id, project_id, entity.version + 1,
                                      document, activity="updated", user_id=user_id)  # fmt: skip
            return document

    async def projects(self) -> list[dict]:
        return [e.document for e in await self.metadata.latest("project")]

    async def project(self, project_id: int) -> dict | None:
        entity = await self.metadata.get("project", project_id)
        return entity.document if entity else None

    async def project_for_token(self, token: str) -> int | None:
        if token not in self._project_by_token:
            self._project_by_token = {p["api_token"]: p["id"] for p in await self.projects()}
        return self._project_by_token.get(token)

    async def create_user(self, organization_id: int, email: str, first_name: str = "") -> dict:
        entity = await self.metadata.create("user", 0, {
            "email": email, "first_name": first_name, "organization": organization_id,
            "uuid": secrets.token_hex(16), "date_joined": self.clock.now().isoformat(),
        })  # fmt: skip
        return entity.document

    async def create_key(
        self,
        user_id: int,
        label: str,
        scopes: list[str] | None = None,
        projects: list[int] | None = None,
        rate_limit_per_minute: int | None = None,
    ) -> tuple[str, dict]:
        """Return (the key, shown this once; its stored record)."""
        check_scopes(scopes or [])
        key = "phx_" + secrets.token_urlsafe(32)
        entity = await self.metadata.create("personal_api_key", 0, {
            "user_id": user_id, "label": label, "secure_value": self.hash_key(key),
            "mask_value": f"phx_...{key[-4:]}", "scopes": scopes or [],
            "scoped_teams": projects or [], "created_at": self.clock.now().isoformat(),
            "revoked": False, "rate_limit_per_minute": rate_limit_per_minute,
        })  # fmt: skip
        return key, entity.document

    async def revoke_key(self, key_id: int) -> dict:
        async with self.metadata.lock("personal_api_key", key_id):
            entity = await self.metadata.get("personal_api_key", key_id)
            if entity is None:
                from gateway.errors import NotFound

                raise NotFound(f"key {key_id} does not exist")
            document = {**entity.document, "revoked": True}
            await self.metadata.write(
                "personal_api_key", 0, key_id, entity.version + 1, document, activity="revoked"
            )
        self._key_cache.clear()
        return {k: v for k, v in document.items() if k != "secure_value"}

    async def key_record(self, key: str) -> dict:
        """The stored record of a presented key, or AuthenticationError."""
        digest = self.hash_key(key)
        record = self._key_cache.get(digest)
        stale = time.monotonic() - self._key_cache_read > self.key_cache_seconds
        if record is None or stale:
            keys = await self.metadata.latest("personal_api_key")
            self._key_cache = {e.document["secure_value"]: e.document for e in keys}
            self._key_cache_read = time.monotonic()
            record = self._key_cache.get(digest)
        if record is None or record.get("revoked"):
            raise AuthenticationError("Personal API key is invalid.", code="authentication_failed")
        return record
