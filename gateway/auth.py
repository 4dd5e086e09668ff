"""Who is calling: personal API keys read as PostHog reads them.

The key comes from `Authorization: Bearer`, then the JSON body's `personal_api_key`, then the
query string. A key reaches the projects of its user's organisation, narrowed to its
`scoped_teams` when set; scopes follow PostHog (`x:write` implies `x:read`; no scopes = all).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from gateway.errors import AuthenticationError, NotFound, PermissionDenied
from gateway.services import Services


@dataclass(frozen=True)
class Caller:
    user: dict
    key: dict

    def allows(self, scope: str) -> bool:
        scopes = self.key.get("scopes") or []
        if not scopes or "*" in scopes:
            return True
        obj, _, action = scope.partition(":")
        return scope in scopes or (action == "read" and f"{obj}:write" in scopes)


async def presented_key(request: Request) -> str | None:
    return (await _found_key(request))[0]


async def _found_key(request: Request) -> tuple[str | None, str]:
    """The key, and where it was found (PostHog names the place when the key is bad)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip(), "Authorization header"
    if request.method in ("POST", "PATCH", "PUT") and "json" in request.headers.get(
        "content-type", ""
    ):
        try:
            body = await request.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("personal_api_key"), str):
            return body["personal_api_key"], "body"
    return request.query_params.get("personal_api_key"), "query string"


async def authenticate(request: Request, services: Services) -> Caller:
    key, where = await _found_key(request)
    if not key:
        raise AuthenticationError(
            "Authentication credentials were not provided.", code="not_authenticated"
        )
    try:
        record = await services.tenancy.key_record(key)
    except AuthenticationError:
        raise AuthenticationError(f"Personal API key found in request {where} is invalid.",
                                  code="authentication_failed") from None  # fmt: skip
    services.rate_limiter.check(record["id"], record.get("rate_limit_per_minute"))
    user = await services.metadata.get("user", record["user_id"])
    if user is None:
        raise AuthenticationError("Personal API key is invalid.", code="authentication_failed")
    return Caller(user.document, record)


async def project_for(caller: Caller, services: Services, raw_id: str, scope: str) -> dict:
    """The project a path names, if this caller may act on it with `scope`."""
    if raw_id == "@current":
        scoped = caller.key.get("scoped_teams") or []
        candidates = [p for p in await services.tenancy.projects()
                      if p["organization"] == caller.user["organization"]
                      and (not scoped or p["id"] in scoped)]  # fmt: skip
        if not candidates:
            raise NotFound("No project for this key.")
        project = candidates[0]
    else:
        try:
            project_id = int(raw_id)
        except ValueError:
            raise NotFound("Not found.") from None
        project = await services.tenancy.project(project_id)
        if project is None:
            raise NotFound("Not found.")
    if project["organization"] != caller.user["organization"]:
        raise PermissionDenied("You don't have access to the project.")
    scoped = caller.key.get("scoped_teams") or []
    if scoped and project["id"] not in scoped:
        raise PermissionDenied(
            f"API key does not have access to the requested project: ID {project['id']}."
        )
    if not caller.allows(scope):
        raise PermissionDenied(
            f"API key missing required scope '{scope}'", attr="scope", code="permission_denied"
        )
    return project
