"""PostHog-compatible capture endpoints: /capture/, /batch/, /e/, /i/v0/e/, /track/, /engage/.

Accepts what the SDKs send: JSON bodies (one event, a list, or `{"batch": [...]}`), gzip
bodies (header or posthog-js's `compression=gzip-js`), form-encoded `data=` holding JSON or
base64 JSON, the token under any of PostHog's names, and `sent_at`/`sentAt`/`_` for clock-skew
correction. Replies `{"status": 1}` only after the events are stored. Good events of a batch
are stored even when others are bad; the reply names the rejected ones.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import zlib
from urllib.parse import parse_qs

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse

from gateway.errors import AuthenticationError, PayloadTooLarge, SpyglassError, ValidationError
from gateway.events import normalise, parse_time, prepare

_GZIP_MAGIC = b"\x1f\x8b"


def _decompress(body: bytes, request: Request) -> bytes:
    encoding = request.headers.get("content-encoding", "").lower()
    compression = request.query_params.get("compression", "").lower()
    if "gzip" in encoding or compression in ("gzip", "gzip-js") or body[:2] == _GZIP_MAGIC:
        try:
            return gzip.decompress(body)
        except (OSError, EOFError, zlib.error):
            raise ValidationError(
                "body is not valid gzip", attr="body", code="invalid_payload"
            ) from None
    return body


def loads_json(data: bytes | str):
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)  # what orjson refuses but JSON allows (huge integers)


def _decode_data(value: str):
    """posthog-js form posts carry `data=` as JSON or as base64 of JSON."""
    text = value.strip()
    if text[:1] not in ("{", "["):
        try:
            text = base64.b64decode(text + "=" * (-len(text) % 4)).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise ValidationError(
                "data is neither JSON nor base64 JSON", attr="data", code="invalid_payload"
            ) from None
    return loads_json(text)


def parse_body(body: bytes, request: Request) -> tuple[object, dict]:
    """The decoded payload, and the form fields (empty for JSON bodies)."""
    body = _decompress(body, request)
    content_type = request.headers.get("content-type", "")
    form: dict = {}
    try:
        if "application/x-www-form-urlencoded" in content_type:
            form = {k: v[0] for k, v in parse_qs(body.decode("utf-8")).items()}
            payload = _decode_data(form.get("data", "")) if "data" in form else {}
        elif not body.strip():
            payload = (
                _decode_data(request.query_params["data"])
                if "data" in request.query_params
                else None
            )
        else:
            payload = loads_json(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValidationError(
            "malformed JSON in request body", attr="body", code="invalid_payload"
        ) from None
    if payload is None:
        raise ValidationError("request body is empty", attr="body", code="no_data")
    return payload, form


def _messages(payload) -> tuple[list, dict]:
    """(the raw messages, the envelope that may carry token and sent_at)."""
    if isinstance(payload, list):
        return payload, {}
    if not isinstance(payload, dict):
        raise ValidationError(
            "body must be a JSON object or list", attr="body", code="invalid_payload"
        )
    if "batch" in payload:
        batch = payload["batch"]
        if not isinstance(batch, list):
            raise ValidationError("batch must be a list", attr="batch", code="invalid_payload")
        return batch, payload
    if "data" in payload and isinstance(payload["data"], list | dict):
        inner = payload["data"]
        return (inner if isinstance(inner, list) else [inner]), payload
    return [payload], payload


def find_token(form: dict, envelope: dict, messages: list, request: Request) -> str | None:
    """PostHog's order: form api_key, token; body $token, token, api_key; properties.token."""
    candidates = [
        form.get("api_key"),
        form.get("token"),
        envelope.get("$token"),
        envelope.get("token"),
        envelope.get("api_key"),
        request.query_params.get("token"),
        request.query_params.get("api_key"),
    ]
    for message in messages[:1]:
        if isinstance(message, dict):
            props = message.get("properties") if isinstance(message.get("properties"), dict) else {}
            candidates += [
                message.get("$token"),
                message.get("token"),
                message.get("api_key"),
                props.get("token"),
            ]
    for value in candidates:
        if isinstance(value, str) and value:
            return value
    return None


async def capture_endpoint(request: Request):
    app = request.app.state.spyglass
    if request.method == "GET" and not request.query_params.get("data"):
        return JSONResponse({"status": 1})
    if int(request.headers.get("content-length") or 0) > app.settings.max_body_bytes:
        raise PayloadTooLarge(f"body exceeds {app.settings.max_body_bytes} bytes", attr="body")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > app.settings.max_body_bytes:
            raise PayloadTooLarge(f"body exceeds {app.settings.max_body_bytes} bytes", attr="body")
    payload, form = parse_body(body, request)
    raw_messages, envelope = _messages(payload)
    token = find_token(form, envelope, raw_messages, request)
    if not token:
        raise AuthenticationError(
            "API key not provided. You can find your project API key in your settings.",
            attr="token",
            code="missing_api_key",
        )
    project_id = await app.tenancy.project_for_token(token)
    if project_id is None:
        raise AuthenticationError("Project API key invalid.", attr="token", code="invalid_api_key")

    now = app.clock.now()
    sent_at = parse_time(
        envelope.get("sent_at") or envelope.get("sentAt"), "sent_at"
    ) or parse_time(_epoch_ms(request.query_params.get("_")), "_")
    engage = request.url.path.rstrip("/").endswith("/engage")
    messages, rejected = [], []
    for index, raw in enumerate(raw_messages):
        if engage and isinstance(raw, dict):
            raw = {**raw, "event": "$identify"}
        try:
            messages.append(normalise(raw, now=now, sent_at=sent_at))
        except SpyglassError as exc:
            rejected.append({"index": index, "attr": exc.attr, "detail": exc.detail})
    if not messages:
        first = rejected[0] if rejected else {"attr": "batch", "detail": "no events in request"}
        raise ValidationError(first["detail"], attr=first["attr"], code="invalid_payload")

    state = await app.identity.project(project_id)
    batch = prepare(state, messages, now)
    await app.writer.submit(batch)
    if envelope.get("historical_migration") in (True, "true"):
        # An SDK's backfill of past data: cached results of the project may be missing it
        # (new events never evict a result; a bulk import of the past does, as `import` does).
        await app.cache.bump_data_version(project_id)
    reply: dict = {"status": 1}
    if rejected:
        reply["rejected"] = rejected
    return JSONResponse(reply)


def _epoch_ms(value: str | None):
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return None


async def decide_endpoint(request: Request):
    """posthog-js asks for flags on start; we have none, and say so in the shapes it reads."""
    return JSONResponse({
        "featureFlags": {}, "featureFlagPayloads": {}, "flags": {},
        "errorsWhileComputingFlags": False,
        "sessionRecording": False, "supportedCompression": ["gzip", "gzip-js"],
        "config": {"enable_collect_everything": True}, "toolbarParams": {},
        "isAuthenticated": False, "capturePerformance": False, "autocapture_opt_out": False,
        "surveys": False, "heatmaps": False, "siteApps": [],
    })  # fmt: skip
