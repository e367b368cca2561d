"""The OpenAPI 3.0 document of the HTTP API (served at ``GET /api/openapi.json``, copied in docs/openapi.json).

Built in Python next to the routes so the limits and names it states are the code's own.
Result documents are described by ``shared/schemas/*.schema.json``; here they are objects.
"""

from __future__ import annotations

from shared.api.http import API_VERSION, HTTP_BODY_LIMIT, PAGE_DEFAULT, PAGE_MAX
from shared.core.names import MAX_SPEAKER_CHARS


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(description: str, schema: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


NO_CONTROL = "\\u0000-\\u001f\\u007f-\\u009f\\ufffe\\uffff"  # what names.unprintable refuses
NAME_SCHEMA = {"type": "string", "minLength": 1, "maxLength": MAX_SPEAKER_CHARS,
               "pattern": "^[^/" + NO_CONTROL + "]*[^/\\s" + NO_CONTROL + "][^/" + NO_CONTROL + "]*$"}
NAME = {"name": "name", "in": "path", "required": True, "schema": NAME_SCHEMA,
        "description": "speaker name as enrolled (URL-encoded); not 'unknown', no '/' or control characters"}
CASE = {"name": "case", "in": "path", "required": True, "schema": NAME_SCHEMA,
        "description": "a fraud case id (URL-encoded), e.g. FR-2026-0042; the same rules as a speaker name"}
FILENAME = {"name": "filename", "in": "query", "required": False,
            "description": "file name for the stored blob (ASCII letters, digits, space, . - _ ( ) + , = @); "
                           "default: a unique api-<UTC stamp>-<hex> name. Re-using a name replaces that upload.",
            "schema": {"type": "string", "pattern": r"^[\w][\w .()+,=@-]{0,120}$"}}
AUDIO_BODY = {"required": True, "description": f"the audio or video file itself (at most {HTTP_BODY_LIMIT} bytes, "
                                               "and VOICEID_MAX_AUDIO_BYTES); ffmpeg reads any common format",
              "content": {t: {"schema": {"type": "string", "format": "binary", "minLength": 1}}
                          for t in ("application/octet-stream", "audio/wav", "audio/flac", "audio/mpeg", "video/mp4")}}
UPLOAD_ANSWERS = {
    "202": {"description": "stored; the pipeline is working on it. GET the `result` URL (also `Location`) until it "
                           "answers 200.",
            "headers": {"Location": {"schema": {"type": "string"}, "description": "the result URL"}},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}}},
    "400": _error("empty body, or a name the pipeline would refuse (reserved, too long, bad characters)"),
    "401": {"description": "no valid function key"},
    "413": _error("the body is over the limit"),
}
ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message", "hint"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "hint": {"type": "string"}}}}}
SPEAKER = {"type": "object", "required": ["key", "speaker", "voiceprints", "net_speech_s", "models"], "properties": {
    "key": {"type": "string", "description": "the normalised name voiceprints are filed under"},
    "speaker": {"type": "string"}, "voiceprints": {"type": "integer", "minimum": 1},
    "net_speech_s": {"type": "number", "description": "speech (after voice activity detection) over all enrolments"},
    "first_enrolled": {"type": "string", "nullable": True}, "last_enrolled": {"type": "string", "nullable": True},
    "models": {"type": "array", "items": {"type": "string"}}}}


def document() -> dict:
    """The API's OpenAPI 3.0.3 document."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "voiceid", "version": API_VERSION,
                 "description": "Self-hosted voice biometrics. Uploads go to the same containers as any other "
                                "uploader; results are the documents of results/. Keys: an Azure Functions "
                                "function key in the x-functions-key header or the code query parameter "
                                "(locally: `voiceid api key`)."},
        "servers": [{"url": "/api"}],
        "security": [{"functionKey": []}, {"functionKeyQuery": []}],
        "paths": {
            "/health": {"get": {
                "summary": "liveness: can the app reach its storage (no key needed)", "security": [],
                "operationId": "health",
                "responses": {"200": _json("up", "Health"), "503": _json("storage unreachable", "Health")}}},
            "/speakers": {"get": {
                "summary": "enrolled speakers, a page at a time (in key order)", "operationId": "listSpeakers",
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": PAGE_MAX,
                                                               "default": PAGE_DEFAULT}},
                    {"name": "after", "in": "query", "description": "the last key of the previous page (the `next` "
                                                                    "URL carries it)", "schema": {"type": "string"}}],
                "responses": {"200": _json("a page", "SpeakerPage"), "400": _error("bad limit"),
                              "401": {"description": "no valid function key"}}}},
            "/speakers/{name}": {
                "get": {"summary": "one speaker: voiceprint count, net speech, dates (never an embedding)",
                        "operationId": "getSpeaker", "parameters": [NAME],
                        "responses": {"200": _json("the speaker", "SpeakerDetail"), "400": _error("not a name"),
                                      "401": {"description": "no valid function key"},
                                      "404": _error("not enrolled")}},
                "delete": {"summary": "erase the speaker: voiceprints, enrolment audio, their results (idempotent)",
                           "operationId": "deleteSpeaker", "parameters": [NAME],
                           "responses": {"200": _json("erased (found says whether anything was there)", "Erased"),
                                         "400": _error("not a name"),
                                         "401": {"description": "no valid function key"}}}},
            "/enroll/{name}": {"post": {
                "summary": "enrol the body's audio for the speaker (stored as enroll/{name}/{filename})",
                "operationId": "enroll", "parameters": [NAME, FILENAME], "requestBody": AUDIO_BODY,
                "responses": UPLOAD_ANSWERS}},
            "/identify": {"post": {
                "summary": "who is speaking (1:N, may answer unknown); with claim, accept or reject that claim (1:1)",
                "operationId": "identify",
                "parameters": [{"name": "claim", "in": "query", "required": False,
                                "description": "the claimed speaker: verification instead of identification",
                                "schema": NAME_SCHEMA},
                               {"name": "challenge", "in": "query", "required": False,
                                "description": "with claim: the nonce of a challenge for that name (POST "
                                               "/api/challenge/{name}); the body must say its digits. "
                                               "Ignored without claim",
                                "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"}}, FILENAME],
                "requestBody": AUDIO_BODY, "responses": UPLOAD_ANSWERS}},
            "/challenge/{name}": {"post": {
                "summary": "a one-time digit string to speak for a text-prompted verification of the speaker",
                "operationId": "challenge", "parameters": [NAME],
                "responses": {"201": _json("issued: speak `digits`, then POST the recording to `post` before "
                                           "`expires_at`", "Challenge"),
                              "400": _error("not a name"), "401": {"description": "no valid function key"}}}},
            "/watchlist": {"get": {
                "summary": "the fraud watchlist: every case with its voiceprint count, per model (never an embedding)",
                "operationId": "listWatchlist",
                "responses": {"200": _json("the cases", "Watchlist"), "401": {"description": "no valid function key"}}}},
            "/watchlist/{case}": {
                "post": {"summary": "add the body's audio to a confirmed fraud case (stored as watchlist/{case}/{filename}"
                                    "; audited)", "operationId": "addWatchlistCase", "parameters": [CASE, FILENAME],
                         "requestBody": AUDIO_BODY, "responses": UPLOAD_ANSWERS},
                "delete": {"summary": "remove the case: its voiceprints, uploads and their results (idempotent, "
                                      "audited)", "operationId": "removeWatchlistCase", "parameters": [CASE],
                           "responses": {"200": _json("removed (found says whether anything was there)",
                                                      "WatchlistRemoved"),
                                         "400": _error("not a case id"),
                                         "401": {"description": "no valid function key"}}}},
            "/reviews": {"get": {
                "summary": "enrolments held for an operator: the liveness detector called them attacks below its "
                           "strict point (nothing was enrolled)", "operationId": "listReviews",
                "responses": {"200": {"description": "the held enrolments, oldest first (reviews, total)",
                                      "content": {"application/json": {"schema": {"type": "object"}}}},
                              "401": {"description": "no valid function key"}}}},
            "/reviews/{id}/{answer}": {"post": {
                "summary": "answer a held enrolment: approve enrols the file as uploaded (202, poll result); reject "
                           "deletes its audio (200, the rejected result). Audited; the X-VoiceId-Actor header names "
                           "the operator", "operationId": "answerReview",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                               {"name": "answer", "in": "path", "required": True,
                                "schema": {"enum": ["approve", "reject"]}}],
                "responses": {"202": {"description": "approved: the enrolment runs; `result` is its URL",
                                      "content": {"application/json": {"schema": {"type": "object"}}}},
                              "200": {"description": "rejected: the enrol result (liveness.review_rejected)",
                                      "content": {"application/json": {"schema": {"type": "object"}}}},
                              "404": _error("no such open review (review.not_found), or not approve|reject"),
                              "409": _error("the held file was replaced or deleted since it was held (review.stale; "
                                            "the review is closed)"),
                              "401": {"description": "no valid function key"}}}},
            "/results/{path}": {"get": {
                "summary": "a result document, e.g. results/identify/<file>.json (poll it after a POST)",
                "operationId": "getResult",
                "parameters": [{"name": "path", "in": "path", "required": True,
                                "description": "enroll/..., identify/... or watchlist/... ending in .json "
                                               "(slashes allowed)",
                                "schema": {"type": "string"}},
                               {"name": "etag", "in": "query", "required": False,
                                "description": "only the result of this upload (the POST's URL carries it)",
                                "schema": {"type": "string"}}],
                "responses": {"200": {"description": "the result document (shared/schemas/<kind>.schema.json; not to be "
                                                     "cached). A verification answered decision 'challenge' gets "
                                                     "step_up.digits here while its challenge is open",
                                      "content": {"application/json": {"schema": {"type": "object"}}}},
                              "202": _json("still being processed; ask again after Retry-After seconds", "Pending"),
                              "401": {"description": "no valid function key"},
                              "404": _error("no such upload or result")}}},
            "/openapi.json": {"get": {"summary": "this document", "operationId": "openapi",
                                      "responses": {"200": {"description": "OpenAPI 3.0.3",
                                                            "content": {"application/json": {"schema": {
                                                                "type": "object"}}}},
                                                    "401": {"description": "no valid function key"}}}},
        },
        "components": {
            "securitySchemes": {
                "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
                "functionKeyQuery": {"type": "apiKey", "in": "query", "name": "code"}},
            "schemas": {
                "Error": ERROR,
                "Health": {"type": "object", "required": ["status"], "properties": {
                    "status": {"type": "string", "enum": ["ok", "unavailable"]}, "storage": {"type": "string"},
                    "model": {"type": "string"}, "api_version": {"type": "string"}}},
                "Speaker": SPEAKER,
                "SpeakerPage": {"type": "object", "required": ["speakers", "total", "next"], "properties": {
                    "speakers": {"type": "array", "items": {"$ref": "#/components/schemas/Speaker"}},
                    "total": {"type": "integer"}, "next": {"type": "string", "nullable": True}}},
                "SpeakerDetail": {"allOf": [{"$ref": "#/components/schemas/Speaker"}, {
                    "type": "object", "required": ["enrolments"], "properties": {"enrolments": {
                        "type": "array", "items": {"type": "object", "required": ["blob"], "properties": {
                            "blob": {"type": "string"}, "duration_s": {"type": "number", "nullable": True},
                            "net_speech_s": {"type": "number", "nullable": True},
                            "created_at": {"type": "string", "nullable": True}}}}}}]},
                "Erased": {"type": "object", "required": ["speaker", "found", "removed"], "properties": {
                    "speaker": {"type": "string"}, "found": {"type": "boolean"},
                    "removed": {"type": "object", "additionalProperties": {"type": "integer"}}}},
                "Accepted": {"type": "object", "required": ["status", "kind", "blob", "etag", "result"],
                             "properties": {"status": {"type": "string", "enum": ["accepted"]},
                                            "kind": {"type": "string",
                                                     "enum": ["enroll", "identify", "verify", "watchlist"]},
                                            "blob": {"type": "string"}, "etag": {"type": "string"},
                                            "result": {"type": "string"}}},
                "Challenge": {"type": "object", "required": ["nonce", "digits", "claim", "expires_at", "upload_as",
                                                             "post"], "properties": {
                    "nonce": {"type": "string"}, "digits": {"type": "string", "pattern": "^[0-9]+$"},
                    "claim": {"type": "string"}, "expires_at": {"type": "string", "format": "date-time"},
                    "expires_in_s": {"type": "integer"},
                    "upload_as": {"type": "string", "description": "the blob name for uploaders other than the API"},
                    "post": {"type": "string", "description": "the identify URL with claim and challenge"}}},
                "Watchlist": {"type": "object", "required": ["cases", "total"], "properties": {
                    "cases": {"type": "array", "items": {"type": "object", "required": [
                        "case", "key", "voiceprints", "model_id"], "properties": {
                        "case": {"type": "string"}, "key": {"type": "string"},
                        "voiceprints": {"type": "integer", "minimum": 1}, "model_id": {"type": "string"},
                        "added_at": {"type": "string"}}}},
                    "total": {"type": "integer", "description": "distinct cases"}}},
                "WatchlistRemoved": {"type": "object", "required": ["case", "found", "voiceprints", "uploads",
                                                                    "results"], "properties": {
                    "case": {"type": "string"}, "found": {"type": "boolean"}, "voiceprints": {"type": "integer"},
                    "models": {"type": "array", "items": {"type": "string"}}, "uploads": {"type": "integer"},
                    "results": {"type": "integer"}}},
                "Pending": {"type": "object", "required": ["status", "blob"], "properties": {
                    "status": {"type": "string", "enum": ["pending"]}, "blob": {"type": "string"}}},
            },
        },
    }
