"""``POST /api/challenge/{name}``: a one-time digit string for a text-prompted verification of ``name``."""

from __future__ import annotations

from urllib.parse import urlencode

from shared.api.http import ApiRequest, ApiResponse, path_speaker_key
from shared.core.settings import Settings
from shared.pipeline import challenge
from shared.storage.base import Storage


def post_challenge(req: ApiRequest, name: str, storage: Storage, settings: Settings) -> ApiResponse:
    """201 with the nonce, the digits to speak, the expiry and where to send the recording."""
    path_speaker_key(name)
    issued = challenge.issue(storage, name, settings)
    body = {**issued.public(name),
            "post": f"{req.base_url}/identify?{urlencode({'claim': name, 'challenge': issued.nonce})}"}
    return ApiResponse(201, body, {"Cache-Control": "no-store"})
