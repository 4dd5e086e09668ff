"""One exception hierarchy; every error knows its HTTP status and PostHog-style code."""

from __future__ import annotations


class SpyglassError(Exception):
    status = 500
    type = "server_error"
    code = "error"

    def __init__(self, detail: str, *, attr: str | None = None, code: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.attr = attr
        if code:
            self.code = code

    def to_json(self) -> dict:
        return {"type": self.type, "code": self.code, "detail": self.detail, "attr": self.attr}


class ValidationError(SpyglassError):
    status = 400
    type = "validation_error"
    code = "invalid_input"


class AuthenticationError(SpyglassError):
    status = 401
    type = "authentication_error"
    code = "not_authenticated"


class PermissionDenied(SpyglassError):
    status = 403
    type = "authentication_error"
    code = "permission_denied"


class NotFound(SpyglassError):
    status = 404
    type = "invalid_request"
    code = "not_found"


class PayloadTooLarge(SpyglassError):
    status = 413
    type = "invalid_request"
    code = "payload_too_large"


class StoreError(SpyglassError):
    """ClickHouse said no. The message is ClickHouse's, with its numeric code kept."""

    status = 500
    type = "server_error"
    code = "store_error"

    def __init__(self, detail: str, *, clickhouse_code: int | None = None):
        super().__init__(detail)
        self.clickhouse_code = clickhouse_code


class QueryTimeout(StoreError):
    status = 504
    code = "query_timeout"


class StoreUnavailable(StoreError):
    status = 503
    code = "store_unavailable"


class DataDirLocked(SpyglassError):
    code = "data_dir_locked"
