"""The HTTP API: the same containers as every other uploader, behind REST routes.

``POST /api/enroll/{name}`` and ``POST /api/identify[?claim=]`` store the body as a blob
in ``enroll/`` or ``identify/`` and answer 202 with the URL of the result document; the
blob triggers do the work exactly as for a Storage Explorer upload. Reads come from the
gallery and ``results/``; ``DELETE /api/speakers/{name}`` is :func:`shared.erasure.erase`.

Routing is plain Python over :class:`ApiRequest` records, so it is tested without a server;
:mod:`shared.entrypoints` turns Azure's ``HttpRequest`` into one and the answer back.
Keys are checked before this code runs (by Azure, or by the local host), as for any function.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import quote, urlencode

from . import contract
from .errors import PermanentError, TransientError, VoiceIdError
from .gallery import shard_of, stored_galleries
from .names import MAX_SPEAKER_CHARS, parse_enroll, parse_identify, speaker_key, unprintable
from .settings import Settings
from .storage import Storage

log = logging.getLogger(__name__)

API_VERSION = "1"
HTTP_BODY_LIMIT = 100 * 1024 * 1024  # FUNCTIONS_REQUEST_BODY_SIZE_LIMIT's default on Azure
PAGE_DEFAULT, PAGE_MAX = 100, 1000
AUDIO_TYPES = {"audio/wav": ".wav", "audio/x-wav": ".wav", "audio/wave": ".wav", "audio/flac": ".flac",
               "audio/x-flac": ".flac", "audio/mpeg": ".mp3", "audio/mp4": ".m4a", "audio/aac": ".aac",
               "audio/ogg": ".ogg", "audio/opus": ".opus", "audio/webm": ".webm", "video/mp4": ".mp4",
               "video/webm": ".webm", "video/quicktime": ".mov", "audio/amr": ".amr"}
SAFE_FILENAME = re.compile(r"^[\w][\w .()+,=@-]{0,120}$")


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


def handle(req: ApiRequest, storage: Storage, settings: Settings) -> ApiResponse:
    """Answer one request; every failure becomes a JSON error (a 5xx only when storage fails)."""
    try:
        return _dispatch(req, storage, settings)
    except ApiError as err:
        return err.response
    except PermanentError as err:
        return ApiResponse(400, {"error": err.as_dict()})
    except TransientError as err:
        log.warning("api %s %s: storage failed: %s", req.method, req.route.split("/", 1)[0], err.message)
        return ApiResponse(503, {"error": err.as_dict()}, {"Retry-After": "5"})
    except VoiceIdError as err:
        log.error("api %s %s: %s: %s", req.method, req.route.split("/", 1)[0], err.code, err.message)
        return ApiResponse(500, {"error": err.as_dict()})


def _dispatch(req: ApiRequest, storage: Storage, settings: Settings) -> ApiResponse:
    parts = req.route.strip("/").split("/", 1)
    head, rest = parts[0], (parts[1] if len(parts) > 1 else "")
    routes = {
        ("speakers", False): {"GET": lambda: list_speakers(req, storage, settings)},
        ("speakers", True): {"GET": lambda: get_speaker(rest, storage, settings),
                             "DELETE": lambda: delete_speaker(rest, storage, settings)},
        ("enroll", True): {"POST": lambda: post_enroll(req, rest, storage, settings)},
        ("identify", False): {"POST": lambda: post_identify(req, storage, settings)},
        ("results", True): {"GET": lambda: get_result(rest, storage, req.params.get("etag"))},
        ("openapi.json", False): {"GET": openapi_document},
        ("health", False): {"GET": lambda: health(storage, settings)},  # served keyless by http_health
    }
    methods = routes.get((head, bool(rest)))
    if methods is None:
        raise ApiError(404, "api.not_found", f"no route /{req.route}",
                       "See GET /api/openapi.json for the routes.")
    if req.method not in methods:
        raise ApiError(405, "api.method", f"{req.method} is not allowed on /{head}",
                       f"Use {' or '.join(methods)}.", {"Allow": ", ".join(methods)})
    return methods[req.method]()


# ---- speakers ------------------------------------------------------------------------------------------------

def _entries(storage: Storage, settings: Settings, key: str | None = None) -> list[tuple[str, dict]]:
    """(model id, index entry) of every voiceprint (of ``key`` only: the speaker's shard alone is read)."""
    out = []
    for gallery in stored_galleries(storage, settings.shard_count, settings.keyring()):
        shards = gallery.load_all() if key is None else [gallery.load(shard_of(key, gallery.shard_count))]
        out += [(gallery.model.id, e) for sh in shards for e in sh.entries if key is None or e["key"] == key]
    return out


def summarize(entries: list[tuple[str, dict]]) -> dict:
    """A speaker's record: counts, speech and dates over their voiceprints (one per enrolment blob)."""
    by_blob: dict[str, dict] = {}
    models: set[str] = set()
    for model_id, e in entries:
        by_blob.setdefault(e["voiceprint_id"], e)
        models.add(model_id)
    enrolments = sorted(by_blob.values(), key=lambda e: e.get("created_at", ""))
    dates = [e["created_at"] for e in enrolments if e.get("created_at")]
    return {
        "speaker": enrolments[-1]["speaker"],
        "voiceprints": len(enrolments),
        "net_speech_s": round(sum(float(e.get("net_speech_s", 0.0)) for e in enrolments), 2),
        "first_enrolled": dates[0] if dates else None,
        "last_enrolled": dates[-1] if dates else None,
        "models": sorted(models),
    }


def list_speakers(req: ApiRequest, storage: Storage, settings: Settings) -> ApiResponse:
    """One page of speakers in key order; ``next`` is the URL of the following page (null on the last)."""
    limit = _int_param(req.params, "limit", PAGE_DEFAULT, 1, PAGE_MAX)
    after = req.params.get("after", "")
    grouped: dict[str, list[tuple[str, dict]]] = {}
    for model_id, e in _entries(storage, settings):
        grouped.setdefault(e["key"], []).append((model_id, e))
    keys = sorted(k for k in grouped if k > after)
    page = keys[:limit]
    more = len(keys) > limit
    nxt = f"{req.base_url}/speakers?{urlencode({'limit': limit, 'after': page[-1]})}" if more else None
    return ApiResponse(200, {"speakers": [{"key": k, **summarize(grouped[k])} for k in page],
                             "total": len(grouped), "next": nxt})


def _speaker_key(name: str) -> str:
    key = speaker_key(name)
    if not key or "/" in name or unprintable(name) is not None or len(name) > MAX_SPEAKER_CHARS:
        raise ApiError(400, "name.invalid", f"{name!r} is not a speaker name",
                       "Use the name as enrolled, URL-encoded, e.g. /api/speakers/Ann%20Lee.")
    return key


def get_speaker(name: str, storage: Storage, settings: Settings) -> ApiResponse:
    """The speaker's summary and enrolments (source blob, speech, date); never an embedding."""
    key = _speaker_key(name)
    entries = _entries(storage, settings, key)
    if not entries:
        raise ApiError(404, "speaker.not_enrolled", f"{name!r} is not enrolled",
                       "Enrol them with POST /api/enroll/{name}; GET /api/speakers lists who is.")
    enrolments = {e["voiceprint_id"]: e for _, e in entries}
    rows = [{"blob": e["blob"], "duration_s": e.get("duration_s"),
             "net_speech_s": e.get("net_speech_s"), "created_at": e.get("created_at")}
            for e in sorted(enrolments.values(), key=lambda e: e.get("created_at", ""))]
    return ApiResponse(200, {"key": key, **summarize(entries), "enrolments": rows})


def delete_speaker(name: str, storage: Storage, settings: Settings) -> ApiResponse:
    """Erasure (voiceprints, enrolment audio, results, receipts); idempotent, ``found`` says if anything was there."""
    from .erasure import erase

    _speaker_key(name)
    report = erase(storage, settings, name, actor="http-api")
    return ApiResponse(200, {"speaker": name, "found": report.found, "removed": report.counts()})


# ---- uploads ------------------------------------------------------------------------------------------------

def upload_filename(params: dict[str, str], headers: dict[str, str], now: datetime | None = None) -> str:
    """The blob's file name: ``?filename=`` when given (safe characters only), else a unique one.

    A generated name is ``api-<UTC stamp>-<6 hex><ext>``, the extension taken from Content-Type
    (ffmpeg reads the bytes, the extension only helps people browsing the container).
    """
    given = params.get("filename")
    if given is not None:
        if not SAFE_FILENAME.fullmatch(given) or given in (".", ".."):
            raise ApiError(400, "name.invalid", f"filename {given!r} is not allowed",
                           "Use letters, digits, spaces and . - _ ( ) only, at most 121 characters.")
        return given
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    ext = AUDIO_TYPES.get(ctype) or mimetypes.guess_extension(ctype or "x/none") or ".bin"
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    return f"api-{stamp}-{secrets.token_hex(3)}{ext}"


def _check_body(req: ApiRequest, settings: Settings) -> None:
    if not req.body:
        raise ApiError(400, "audio.empty", "the request body is empty",
                       "Send the audio file as the body, e.g. curl --data-binary @call.wav.")
    limit = min(settings.max_audio_bytes, HTTP_BODY_LIMIT)
    if len(req.body) > limit:
        raise ApiError(413, "audio.too_large", f"the body is {len(req.body)} bytes; the limit is {limit}",
                       "Upload large files straight to the container (az storage blob upload) instead.")


def _accepted(req: ApiRequest, storage: Storage, container: str, blob: str, kind: str) -> ApiResponse:
    etag = storage.write(container, blob, req.body, content_type=stored_content_type(req.headers))
    url = result_url(req.base_url, container, blob, etag)
    log.info("api: stored a %s upload (%d bytes)", kind, len(req.body))
    return ApiResponse(202, {"status": "accepted", "kind": kind, "blob": f"{container}/{blob}", "etag": etag,
                             "result": url}, {"Location": url})


def stored_content_type(headers: dict[str, str]) -> str:
    """The blob's Content-Type: a known audio or video type, else octet-stream (never the client's free text:
    a ``multipart/form-data`` without boundary, echoed back by storage, breaks HTTP clients' header parsing)."""
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    return ctype if ctype in AUDIO_TYPES else "application/octet-stream"


def result_url(base_url: str, container: str, blob: str, etag: str) -> str:
    """Where the result of this upload will be: GET it until it answers 200."""
    path = quote(contract.result_blob_name(container, blob))
    return f"{base_url}/results/{path}?{urlencode({'etag': etag})}"


def post_enroll(req: ApiRequest, name: str, storage: Storage, settings: Settings) -> ApiResponse:
    _speaker_key(name)
    _check_body(req, settings)
    blob = f"{name}/{upload_filename(req.params, req.headers)}"
    parse_enroll(blob)  # a reserved or over-long name is refused now, not after the upload
    return _accepted(req, storage, contract.ENROLL, blob, "enroll")


def post_identify(req: ApiRequest, storage: Storage, settings: Settings) -> ApiResponse:
    claim = req.params.get("claim")
    if claim is not None:
        _speaker_key(claim)
    _check_body(req, settings)
    name = upload_filename(req.params, req.headers)
    blob = f"{claim}/{name}" if claim is not None else name
    target = parse_identify(blob)
    return _accepted(req, storage, contract.IDENTIFY, blob, target.kind)


# ---- results ------------------------------------------------------------------------------------------------

def get_result(path: str, storage: Storage, etag: str | None = None) -> ApiResponse:
    """The result document (200); 202 while its upload is still being processed; 404 when neither exists."""
    container, _, blob = path.partition("/")
    if container not in (contract.ENROLL, contract.IDENTIFY) or not blob.endswith(".json") \
            or any(p in ("", ".", "..") for p in blob.split("/")):
        raise ApiError(404, "result.not_found", f"no result {path!r}",
                       "Use the 'result' URL a POST answered, e.g. /api/results/identify/<file>.json.")
    doc = storage.read_json(contract.RESULTS, path)
    if doc is not None and (etag is None or doc.get("etag") == etag):
        return ApiResponse(200, doc)
    source = blob[: -len(".json")]
    current = storage.etag(container, source)
    if current is not None and (etag is None or current == etag):
        return ApiResponse(202, {"status": "pending", "blob": f"{container}/{source}"}, {"Retry-After": "1"})
    raise ApiError(404, "result.not_found", f"no result for {container}/{source}",
                   "The upload is gone (erased, expired or replaced by a newer one); upload it again.")


def openapi_document() -> ApiResponse:
    from .openapi import document

    return ApiResponse(200, document())


# ---- health -------------------------------------------------------------------------------------------------

def health(storage: Storage, settings: Settings) -> ApiResponse:
    """Anonymous liveness: can this app reach its storage? (No names, counts or settings values.)"""
    try:
        storage.etag(contract.RESULTS, ".health")
    except TransientError as err:
        return ApiResponse(503, {"status": "unavailable", "storage": err.code}, {"Retry-After": "5"})
    return ApiResponse(200, {"status": "ok", "storage": "ok", "model": settings.model, "api_version": API_VERSION})


def _int_param(params: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError(400, "api.bad_parameter", f"{name}={raw!r} is not a number from {low} to {high}",
                       f"Pass {name} between {low} and {high}, or leave it out (default {default}).")
    return int(raw)
