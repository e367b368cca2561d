"""The API's records and limits: a request as the host hands it over, an answer, an error with what to do.

Plain frozen records, so routes are tested without a server; :mod:`shared.entrypoints` turns
Azure's ``HttpRequest`` into an :class:`ApiRequest` and an :class:`ApiResponse` back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from shared.core.names import MAX_SPEAKER_CHARS, speaker_key, unprintable

API_VERSION = "1"
HTTP_BODY_LIMIT = 100 * 1024 * 1024  # FUNCTIONS_REQUEST_BODY_SIZE_LIMIT's default on Azure
PAGE_DEFAULT, PAGE_MAX = 100, 1000


@dataclass(frozen=True)
class ApiRequest:
    """One HTTP request, after the host matched the route and checked the key."""

    method: str
    route: str  # the path after /api/, URL-decoded, e.g. "speakers/Ann Lee"
    base_url: str  # e.g. "http://127.0.0.1:7071/api" (result URLs are built on it)
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""


@dataclass(frozen=True)
class ApiResponse:
    """What the route answers: a status, a JSON document and extra headers."""

    status: int
    doc: dict
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> bytes:
        return json.dumps(self.doc, ensure_ascii=False, indent=1).encode("utf-8")


class ApiError(Exception):
    """An answer other than success: status, stable code, message and what to do."""

    def __init__(self, status: int, code: str, message: str, hint: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.response = ApiResponse(status, {"error": {"code": code, "message": message, "hint": hint}},
                                    headers or {})


def path_speaker_key(name: str) -> str:
    key = speaker_key(name)
    if not key or "/" in name or unprintable(name) is not None or len(name) > MAX_SPEAKER_CHARS:
        raise ApiError(400, "name.invalid", f"{name!r} is not a speaker name",
                       "Use the name as enrolled, URL-encoded, e.g. /api/speakers/Ann%20Lee.")
    return key


def int_param(params: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError(400, "api.bad_parameter", f"{name}={raw!r} is not a number from {low} to {high}",
                       f"Pass {name} between {low} and {high}, or leave it out (default {default}).")
    return int(raw)
