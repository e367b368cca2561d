"""``POST /api/enroll/{name}``, ``POST /api/identify`` and ``GET /api/results/{path}``: uploads and their results.

A POST stores the body as a blob in ``enroll/`` or ``identify/`` and answers 202 with the URL
of the result document; the blob triggers do the work exactly as for a Storage Explorer upload.
"""

from __future__ import annotations

import logging
import mimetypes
import re
import secrets
from datetime import datetime, timezone
from urllib.parse import quote, urlencode

from shared.api.http import (
    HTTP_BODY_LIMIT,
    ApiError,
    ApiRequest,
    ApiResponse,
    path_speaker_key,
)
from shared.core import contract
from shared.core.names import parse_enroll, parse_identify
from shared.core.settings import Settings
from shared.pipeline import challenge
from shared.storage.base import Storage

log = logging.getLogger(__name__)
AUDIO_TYPES = {"audio/wav": ".wav", "audio/x-wav": ".wav", "audio/wave": ".wav", "audio/flac": ".flac",
               "audio/x-flac": ".flac", "audio/mpeg": ".mp3", "audio/mp4": ".m4a", "audio/aac": ".aac",
               "audio/ogg": ".ogg", "audio/opus": ".opus", "audio/webm": ".webm", "video/mp4": ".mp4",
               "video/webm": ".webm", "video/quicktime": ".mov", "audio/amr": ".amr"}
SAFE_FILENAME = re.compile(r"^[\w][\w .()+,=@-]{0,120}$", re.ASCII)  # as the OpenAPI pattern (ECMA \w is ASCII)


def upload_filename(params: dict[str, str], headers: dict[str, str], now: datetime | None = None) -> str:
    """The blob's file name: ``?filename=`` when given (safe characters only), else a unique one.

    A generated name is ``api-<UTC stamp>-<6 hex><ext>``, the extension taken from Content-Type
    (ffmpeg reads the bytes, the extension only helps people browsing the container).
    """
    given = params.get("filename")
    if given is not None:
        if not SAFE_FILENAME.fullmatch(given) or given in (".", ".."):
            raise ApiError(400, "name.invalid", f"filename {given!r} is not allowed",
                           "Use ASCII letters, digits, spaces and . - _ ( ) + , = @ only, at most 121 characters.")
        return given
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    ext = AUDIO_TYPES.get(ctype) or mimetypes.guess_extension(ctype or "x/none") or ".bin"
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    return f"api-{stamp}-{secrets.token_hex(3)}{ext}"


def check_body(req: ApiRequest, settings: Settings) -> None:
    if not req.body:
        raise ApiError(400, "audio.empty", "the request body is empty",
                       "Send the audio file as the body, e.g. curl --data-binary @call.wav.")
    limit = min(settings.max_audio_bytes, HTTP_BODY_LIMIT)
    if len(req.body) > limit:
        raise ApiError(413, "audio.too_large", f"the body is {len(req.body)} bytes; the limit is {limit}",
                       "Upload large files straight to the container (az storage blob upload) instead.")


def accepted(req: ApiRequest, storage: Storage, container: str, blob: str, kind: str) -> ApiResponse:
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
    path_speaker_key(name)
    check_body(req, settings)
    blob = f"{name}/{upload_filename(req.params, req.headers)}"
    parse_enroll(blob)  # a reserved or over-long name is refused now, not after the upload
    return accepted(req, storage, contract.ENROLL, blob, "enroll")


def post_identify(req: ApiRequest, storage: Storage, settings: Settings) -> ApiResponse:
    claim, nonce = req.params.get("claim"), req.params.get("challenge")
    if claim is not None:
        path_speaker_key(claim)
    if nonce is not None and not re.fullmatch(r"[0-9a-f]{32}", nonce):
        raise ApiError(400, "challenge.invalid", "challenge= must be the nonce POST /api/challenge/{name} gave",
                       "Ask for a challenge first, then POST /api/identify?claim=<name>&challenge=<nonce>.")
    check_body(req, settings)
    name = upload_filename(req.params, req.headers)
    if nonce is not None and claim is not None:  # the file name carries it (a 1:N search has no claim to check)
        name = f"challenge-{nonce}-{name}"
    blob = f"{claim}/{name}" if claim is not None else name
    target = parse_identify(blob)
    return accepted(req, storage, contract.IDENTIFY, blob, target.kind)


def get_result(path: str, storage: Storage, etag: str | None = None) -> ApiResponse:
    """The result document (200); 202 while its upload is still being processed; 404 when neither exists."""
    container, _, blob = path.partition("/")
    if container not in (contract.ENROLL, contract.IDENTIFY, contract.WATCHLIST) or not blob.endswith(".json") \
            or any(p in ("", ".", "..") for p in blob.split("/")):
        raise ApiError(404, "result.not_found", f"no result {path!r}",
                       "Use the 'result' URL a POST answered, e.g. /api/results/identify/<file>.json.")
    doc = storage.read_json(contract.RESULTS, path)
    if doc is not None and (etag is None or doc.get("etag") == etag):
        return ApiResponse(200, challenge.with_open_digits(storage, doc), {"Cache-Control": "no-store"})
    source = blob[: -len(".json")]
    current = storage.etag(container, source)
    if current is not None and (etag is None or current == etag):
        return ApiResponse(202, {"status": "pending", "blob": f"{container}/{source}"}, {"Retry-After": "1"})
    raise ApiError(404, "result.not_found", f"no result for {container}/{source}",
                   "The upload is gone (erased, expired or replaced by a newer one); upload it again.")
