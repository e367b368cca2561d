"""``/api/watchlist``: the fraud watchlist's cases (never an embedding), adding a recording, removing a case."""

from __future__ import annotations

from shared.api.http import ApiRequest, ApiResponse, path_speaker_key
from shared.api.uploads import accepted, check_body, upload_filename
from shared.core import contract
from shared.core.names import parse_watchlist
from shared.core.settings import Settings
from shared.gallery.watchlist import cases
from shared.pipeline.watchlist import record_upload, remove_case
from shared.storage.base import Storage
from shared.storage.sealing import keyring

ACTOR = "http-api"


def list_cases(storage: Storage, settings: Settings) -> ApiResponse:
    rows = cases(storage, keyring(settings.voiceprint_keys))
    return ApiResponse(200, {"cases": rows, "total": len({r["key"] for r in rows})})


def post_case(req: ApiRequest, case: str, storage: Storage, settings: Settings) -> ApiResponse:
    """Store the body as ``watchlist/<case>/<file>`` (audited first); 202 with the URL of its result."""
    path_speaker_key(case)
    check_body(req, settings)
    blob = f"{case}/{upload_filename(req.params, req.headers)}"
    parse_watchlist(blob)
    record_upload(storage, case, blob, actor=ACTOR)
    return accepted(req, storage, contract.WATCHLIST, blob, "watchlist")


def delete_case(case: str, storage: Storage, settings: Settings) -> ApiResponse:
    path_speaker_key(case)
    return ApiResponse(200, remove_case(storage, settings, case, actor=ACTOR).to_dict())
