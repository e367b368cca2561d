"""``/api/speakers``: who is enrolled (paged), one speaker's record, and erasure. Never an embedding."""

from __future__ import annotations

from urllib.parse import urlencode

from shared.api.http import (
    PAGE_DEFAULT,
    PAGE_MAX,
    ApiError,
    ApiRequest,
    ApiResponse,
    int_param,
    path_speaker_key,
)
from shared.core.settings import Settings
from shared.gallery.shards import shard_of
from shared.gallery.store import stored_galleries
from shared.storage.base import Storage
from shared.storage.sealing import keyring


def _entries(storage: Storage, settings: Settings, key: str | None = None) -> list[tuple[str, dict]]:
    """(model id, index entry) of every voiceprint (of ``key`` only: the speaker's shard alone is read)."""
    out = []
    for gallery in stored_galleries(storage, settings.shard_count, keyring(settings.voiceprint_keys)):
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
    limit = int_param(req.params, "limit", PAGE_DEFAULT, 1, PAGE_MAX)
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


def get_speaker(name: str, storage: Storage, settings: Settings) -> ApiResponse:
    """The speaker's summary and enrolments (source blob, speech, date); never an embedding."""
    key = path_speaker_key(name)
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
    from shared.privacy.erasure import erase

    path_speaker_key(name)
    report = erase(storage, settings, name, actor="http-api")
    return ApiResponse(200, {"speaker": name, "found": report.found, "removed": report.counts()})
