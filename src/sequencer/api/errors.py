"""One error shape for the whole API.

Every 4xx answer is ``{"error": {"code", "message", "field"}}``: ``field`` is the dotted
name of the offending input (``steps.1.delay_days``) so a client can put the message
next to the right box.
"""

from __future__ import annotations

from typing import Any

from django.db import DataError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from sequencer.domain.errors import InvalidInput
from sequencer.inputs import PYDANTIC_UNSTORABLE, UNSTORABLE_TEXT
from sequencer.sequences.access import InsufficientAccess, NoAccess


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


class NotFound(ApiError):
    """Also the answer for an object the user may not see: its existence is not disclosed."""

    def __init__(self, what: str = "object") -> None:
        super().__init__(404, "not_found", f"No {what} with that id exists, or you have no access.")


class Forbidden(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(403, "forbidden", message)


class ErrorDetail(Schema):
    code: str
    message: str
    field: str | None


class ErrorOut(Schema):
    error: ErrorDetail


# What any operation may answer besides its own success, all in the one shape above.
# The spec documents them once here rather than on each of the hundred operations.
ERROR_ANSWERS = {
    400: "Invalid input: `field` names what to fix and `message` says how.",
    401: "No valid API token (or signed-in session) was sent.",
    403: "The caller may see this but not do this (too low a role or access level, or a "
    "read-only token on an operation that changes data: code `read_only_token`).",
    404: "No such object, or one the caller may not see.",
}
_UNAUTHENTICATED_ANSWERS = (400,)


def document_errors(spec: dict[str, Any]) -> dict[str, Any]:
    """Add the error answers to every operation of an OpenAPI ``spec``."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    ref_template = "#/components/schemas/{model}"
    error_schema = ErrorOut.model_json_schema(ref_template=ref_template)
    schemas.update(error_schema.pop("$defs", {}))
    schemas["ErrorOut"] = error_schema
    content = {"application/json": {"schema": {"$ref": ref_template.format(model="ErrorOut")}}}
    for path in spec.get("paths", {}).values():
        for operation in path.values():
            codes = ERROR_ANSWERS if operation.get("security") else _UNAUTHENTICATED_ANSWERS
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(code, {"description": ERROR_ANSWERS[code], "content": content})
    return spec


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def _field_of(loc: list[Any] | tuple[Any, ...]) -> str | None:
    # Ninja prefixes locations with where the input came from ("body", "query",
    # "path") and with the parameter's name; the client only knows its own fields.
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "form", "file", "header", "cookie"}:
        parts = parts[1:]
    if len(parts) > 1 and parts[0] in {"payload", "data", "body"}:
        parts = parts[1:]
    return ".".join(parts) or None


def _field_of_error(error: dict[str, Any]) -> str | None:
    field = _field_of(error.get("loc", ()))
    # Unstorable text inside a free-form value (``attributes``) says where it is.
    inner = (error.get("ctx") or {}).get("path") if error.get("type") == UNSTORABLE_TEXT else None
    if inner:
        return f"{field}.{inner}" if field else str(inner)
    return field


def _validation_message(error: dict[str, Any], field: str | None) -> str:
    kind = error.get("type", "")
    name = field or "the request"
    if kind == "missing":
        return f"{name} is required."
    if kind == "extra_forbidden":
        return f"{name} is not a known field; remove it."
    if kind == PYDANTIC_UNSTORABLE:
        return f"{name}: the text contains a lone UTF-16 surrogate (not a character); remove it"
    raw = str(error.get("msg", "is invalid"))
    raw = raw.removeprefix("Value error, ")
    return f"{name}: {raw}"


def _out_of_range() -> dict[str, Any]:
    return error_body(
        "out_of_range",
        "A number in the request is too large or too small to be an id or a value here; "
        "check the ids and numbers you sent.",
    )


def install(api: NinjaAPI) -> None:
    @api.exception_handler(ApiError)
    def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return api.create_response(
            request, error_body(exc.code, exc.message, exc.field), status=exc.status
        )

    # Access to a sequence (and to everything in it) is decided in one place, the
    # sequences' access service; every router answers its verdict the same way.
    @api.exception_handler(NoAccess)
    def on_no_access(request: HttpRequest, exc: NoAccess) -> HttpResponse:
        found = NotFound("sequence")
        return api.create_response(request, error_body(found.code, found.message), status=404)

    @api.exception_handler(InsufficientAccess)
    def on_insufficient_access(request: HttpRequest, exc: InsufficientAccess) -> HttpResponse:
        return api.create_response(request, error_body("forbidden", str(exc)), status=403)

    @api.exception_handler(InvalidInput)
    def on_invalid_input(request: HttpRequest, exc: InvalidInput) -> HttpResponse:
        return api.create_response(
            request, error_body(exc.code, exc.message, exc.field), status=400
        )

    @api.exception_handler(NinjaValidationError)
    def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        first = exc.errors[0] if exc.errors else {}
        field = _field_of_error(first)
        if first.get("type") == "json_invalid" or (field is None and "JSON" in str(first)):
            return api.create_response(
                request,
                error_body("invalid_json", "The request body is not valid JSON."),
                status=400,
            )
        unstorable = first.get("type") in {UNSTORABLE_TEXT, PYDANTIC_UNSTORABLE}
        code = UNSTORABLE_TEXT if unstorable else "invalid"
        return api.create_response(
            request,
            error_body(code, _validation_message(first, field), field),
            status=400,
        )

    @api.exception_handler(AuthenticationError)
    def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return api.create_response(
            request,
            error_body(
                "unauthenticated",
                "Send a valid API token as 'Authorization: Bearer <token>' "
                "(create one with `sequencer token create EMAIL`).",
                "Authorization",
            ),
            status=401,
        )

    # A number past what the database stores (an id of 2**100) fails in the driver:
    # SQLite raises OverflowError, PostgreSQL a DataError. Either is the caller's input.
    @api.exception_handler(OverflowError)
    def on_overflow(request: HttpRequest, exc: OverflowError) -> HttpResponse:
        return api.create_response(request, _out_of_range(), status=400)

    @api.exception_handler(DataError)
    def on_data_error(request: HttpRequest, exc: DataError) -> HttpResponse:
        return api.create_response(request, _out_of_range(), status=400)

    @api.exception_handler(HttpError)
    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if exc.status_code == 400 and "parse" in str(exc).lower():
            body = error_body(
                "invalid_json", "The request body is not valid JSON; check quotes and commas."
            )
        else:
            body = error_body("http_error", str(exc))
        return api.create_response(request, body, status=exc.status_code)
