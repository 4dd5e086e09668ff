"""The Starlette app: routes, error shapes, request logs, and the lifespan that owns Services."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
import uuid
from datetime import datetime

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL

from gateway import admin, graphiql, rest, rest_people, squash
from gateway.auth import authenticate, presented_key
from gateway.capture import capture_endpoint, decide_endpoint
from gateway.clock import Clock
from gateway.config import Settings
from gateway.disconnect import CancelOnDisconnect
from gateway.errors import AuthenticationError, PayloadTooLarge, SpyglassError, ValidationError
from gateway.migrations import pending_migrations
from gateway.openapi import schema_endpoint
from gateway.schema import Context, schema
from gateway.services import Services

log = logging.getLogger("spyglass.http")


class RequestLog:
    """ASGI middleware: a request id on every response and one JSON log line per request."""

    def __init__(self, app, dev_clock: bool = False):
        self.app = app
        self.dev_clock = dev_clock

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request_id = uuid.uuid4().hex[:16]
        started = time.perf_counter()
        status = {"code": 500}
        token = None
        if self.dev_clock:
            header = dict(scope["headers"]).get(b"x-spyglass-now")
            if header:
                token = Clock.override(datetime.fromisoformat(header.decode()))

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if token is not None:
                Clock.reset(token)
            route = scope.get("route")
            log.info("request", extra={"fields": {
                "request_id": request_id, "method": scope["method"], "path": scope["path"],
                "route": getattr(route, "path", scope["path"]), "status": status["code"],
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            }})  # fmt: skip


async def spyglass_error(request: Request, exc: SpyglassError):
    response = JSONResponse(exc.to_json(), status_code=exc.status)
    if getattr(exc, "retry_after", None) is not None:
        response.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    return response


async def routing_error(request: Request, exc: HTTPException):
    """No route (404) or method (405): PostHog's error JSON, not Starlette's plain text."""
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
    detail = {404: "Not found.", 405: f'Method "{request.method}" not allowed.'}
    body = {"type": "invalid_request", "code": code,
            "detail": detail.get(exc.status_code, str(exc.detail)), "attr": None}  # fmt: skip
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def unexpected_error(request: Request, exc: Exception):
    log.exception("unhandled error on %s", request.url.path)
    return JSONResponse(
        {
            "type": "server_error",
            "code": "error",
            "detail": "A server error occurred.",
            "attr": None,
        },
        status_code=500,
    )


async def healthz(request: Request):
    return JSONResponse({"status": "ok"})


async def readyz(request: Request):
    services: Services = request.app.state.spyglass
    try:
        await services.store.query("SELECT 1")
        pending = await pending_migrations(services.store)
    except SpyglassError as exc:
        return JSONResponse({"status": "unavailable", "detail": exc.detail}, status_code=503)
    if pending:
        return JSONResponse({"status": "migrating", "pending": pending}, status_code=503)
    return JSONResponse({"status": "ready", "store": services.store.kind})


async def users_me(request: Request):
    services: Services = request.app.state.spyglass
    caller = await authenticate(request, services)
    return JSONResponse(caller.user)


async def admin_command(request: Request):
    """The CLI's door into a running server: a local admin token from server.json."""
    expected = request.app.state.admin_token
    header = request.headers.get("authorization", "")
    if not expected or not secrets.compare_digest(header, f"Bearer {expected}"):
        raise AuthenticationError("admin token required")
    body = await request.json()
    if not isinstance(body, dict) or not isinstance(body.get("argv"), list):
        raise ValidationError("argv must be a list", attr="argv")
    result = await admin.run(request.app.state.spyglass, [str(a) for a in body["argv"]])
    # Results may hold dates and UUIDs (sql, import summaries): written as text.
    return Response(json.dumps({"result": result}, default=str), media_type="application/json")


_LIMITS = (("aliases found. Allowed", "too_many_aliases"),
           ("tokens. Parsing aborted", "too_many_tokens"),
           ("exceeds maximum operation depth", "too_deep"))  # fmt: skip


def limit_code(message: str) -> str | None:
    return next((code for text, code in _LIMITS if text in message), None)


class BodyLimit:
    """ASGI middleware: API and GraphQL bodies over the limit are refused with 413 before the
    app reads them — up front from Content-Length, or while reading a chunked body, which
    declares no length."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(("/api/", "/graphql")):
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length and length.isdigit():
            if int(length) > self.limit:
                return await self._refuse(scope, receive, send)
            return await self.app(scope, receive, send)
        first = await self._read_within_limit(receive)
        if first is None:
            return await self._refuse(scope, receive, send)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: the disconnect, when it comes
            replayed = True
            return first

        return await self.app(scope, replay, send)

    async def _read_within_limit(self, receive) -> dict | None:
        """The whole body as one message, or None once it passes the limit."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return message  # the client left: the app sees it as it would have
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                return None
            if not message.get("more_body"):
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

    async def _refuse(self, scope, receive, send):
        error = PayloadTooLarge(f"request body exceeds {self.limit} bytes", attr="body")
        return await JSONResponse(error.to_json(), status_code=413)(scope, receive, send)


class GraphQLApp(GraphQL):
    """/graphql: the caller from the same credentials as REST (none → resolvers answer 401)."""

    async def get_context(self, request, response) -> Context:
        services = request.app.state.spyglass
        caller = await authenticate(request, services) if await presented_key(request) else None
        return Context(services, caller)

    def create_response(self, response_data, sub_response):
        """A request over a limit (depth, aliases, tokens) is a 400 naming the limit."""
        response = super().create_response(response_data, sub_response)
        errors = response_data.get("errors") if isinstance(response_data, dict) else None
        for error in errors or []:
            code = limit_code(error.get("message", ""))
            if code:
                error["extensions"] = {**(error.get("extensions") or {}), "code": code}
                response = super().create_response(response_data, sub_response)
                response.status_code = 400
        return response

    async def render_graphql_ide(self, request):
        return graphiql.page()  # self-hosted assets, never a CDN


def _capture_routes() -> list[Route]:
    paths = ["/capture", "/batch", "/e", "/i/v0/e", "/track", "/engage", "/s"]
    routes = []
    for path in paths:
        for variant in (path, path + "/"):
            routes.append(Route(variant, capture_endpoint, methods=["GET", "POST"]))
    for path in ("/decide", "/decide/", "/flags", "/flags/"):
        routes.append(Route(path, decide_endpoint, methods=["GET", "POST"]))
    return routes


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    dev_clock: bool = False,
    services: Services | None = None,
    admin_token: str = "",
    on_ready=None,
    on_shutdown=None,
) -> Starlette:
    """Build the app. Services are opened in the lifespan unless the caller passes them."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        owned = services is None
        app.state.spyglass = services or await Services.open(settings, clock=clock)
        if on_ready is not None:
            await on_ready(app.state.spyglass)
        squasher = None
        # Not on a cluster: the rewrite is one ALTER of a local table (squash.py); there the
        # merges stay joined at query time, which is always right, only slower.
        if settings.squash_every_s > 0 and not settings.cluster:
            squasher = asyncio.create_task(
                squash.every(app.state.spyglass.store, settings.squash_every_s)
            )
        try:
            yield
        finally:
            if squasher is not None:
                squasher.cancel()
            if on_shutdown is not None:
                on_shutdown()
            if owned:
                await app.state.spyglass.close()

    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/api/users/@me", users_me),
        Route("/api/users/@me/", users_me),
        Route("/api/schema", schema_endpoint),
        Route("/api/schema/", schema_endpoint),
        Route("/_admin/command", admin_command, methods=["POST"]),
        *rest_people.routes(),
        *rest.routes(),
        *graphiql.routes(),
        Route("/graphql", GraphQLApp(schema, graphql_ide="graphiql"), methods=["GET", "POST"]),
        *_capture_routes(),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(RequestLog, dev_clock=dev_clock),
            Middleware(BodyLimit, limit=settings.max_api_body_bytes),
            Middleware(CancelOnDisconnect),
        ],
        exception_handlers={
            SpyglassError: spyglass_error,
            HTTPException: routing_error,
            Exception: unexpected_error,
        },  # fmt: skip
    )
    app.state.admin_token = admin_token
    return app
