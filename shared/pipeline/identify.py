"""Identification: ``identify/<file>`` (1:N) or ``identify/<claimed>/<file>`` (1:1) -> match jobs.

The trigger embeds the probe once, stores the embedding in ``match-state`` and
returns one match job per shard to score (every shard for 1:N, the claimed
speaker's shard for 1:1). The jobs leave through the function's queue output
binding, so they are sent only if the function succeeds.
"""

from __future__ import annotations

import io
import time
from datetime import datetime, timezone

import numpy as np

from shared.core import contract, faults, telemetry
from shared.core.errors import PermanentError
from shared.core.names import IdentifyTarget, parse_identify, speaker_key
from shared.core.records import BlobInput, MatchJob
from shared.core.settings import Settings
from shared.embedding.frontend import embed_input
from shared.gallery.shards import shard_of
from shared.gallery.store import Gallery
from shared.pipeline import challenge, gallery_model, liveness_check, lockout, watchlist
from shared.results import documents as results
from shared.storage import sealing
from shared.storage.azure import get_storage
from shared.storage.base import Storage

# refusals of a voice, not of a request's form: they count against the claim like a reject
COUNTED_FAILURES = ("liveness.attack", "challenge.mismatch", "challenge.expired", "challenge.used", "verify.watchlist")


def refuse_if_locked(storage: Storage, claimed: str, settings: Settings) -> None:
    """A claim locked by repeated failures is refused before any scoring (:mod:`shared.pipeline.lockout`)."""
    until = lockout.locked_until(storage, speaker_key(claimed), settings)
    if until is not None:
        when = datetime.fromtimestamp(until, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
        raise PermanentError(f"verifications of {claimed!r} are locked until {when} after repeated failures",
                             code="verify.locked",
                             hint="Try again after the lock ends; an operator can see the lockout in the audit log.")


def handle_identify(inp: BlobInput, settings: Settings) -> list[str]:
    """Embed the probe and return the match-job messages; bad input ends as a ``rejected`` result."""
    start = time.time()
    storage = get_storage(settings.storage_connection)
    target: IdentifyTarget | None = None
    try:
        target = parse_identify(inp.blob)
        if target.claimed is not None:
            refuse_if_locked(storage, target.claimed, settings)
        with telemetry.span("front_end", **{"voiceid.kind": target.kind}):
            emb = embed_input(inp, settings, min_speech_s=settings.min_speech_identify_s)
        spoken = None
        if target.claimed is not None:  # a text-prompted verification: the digits first (shared.pipeline.challenge)
            spoken = challenge.answer(storage, inp.blob.rsplit("/", 1)[-1], target.claimed, inp.request_id,
                                      emb.samples, emb.audio, settings)
        with telemetry.span("liveness"):
            live, live_ms = liveness_check.check(emb, settings, target.kind)
        # with step-up on, a verification is refused by the detector alone only at the strict point (stepup.py)
        liveness_check.refuse_attack(live, emb, target.kind, strict_only=target.kind == "verify"
                                     and settings.challenge != "off")
        with telemetry.span("watchlist"):
            listed = watchlist.screen_probe(storage, settings, emb.model, emb.vector, emb.audio.get("band", ""))
        if target.claimed is not None:  # identification reports a match; verification may refuse on it
            watchlist.refuse_if_listed(listed, settings.watchlist_verify, "verify.watchlist", {"audio": emb.audio})
        gallery = Gallery(storage, emb.model, settings.shard_count, sealing.keyring(settings.voiceprint_keys))
        gallery_model.require_own_gallery(gallery, settings.model)
    except PermanentError as err:
        kind = target.kind if target else ("verify" if "/" in inp.blob else "identify")
        if err.code in COUNTED_FAILURES and target.claimed is not None:  # counts against the claim like a reject
            lockout.note_outcome(storage, speaker_key(target.claimed), target.claimed, inp.request_id, False,
                                 settings)
        doc = results.failure(kind, contract.IDENTIFY, inp.blob, inp.etag, err, status=err.status,
                              timings_ms={"total": results.ms_since(start)}, request_id=inp.request_id)
        results.write(storage, contract.IDENTIFY, inp.blob, doc)
        return []
    faults.pause("identify.embedded")
    buf = io.BytesIO()
    np.save(buf, emb.vector, allow_pickle=False)
    probe = contract.probe_blob(inp.request_id)
    sealing.write_blob(storage, sealing.keyring(settings.voiceprint_keys), contract.MATCH_STATE, probe, buf.getvalue())
    count = gallery.shard_count
    if target.claimed is None:
        shards = tuple(range(count))
    else:
        shards = (shard_of(speaker_key(target.claimed), count),)
    return [
        MatchJob(request_id=inp.request_id, kind=target.kind, blob=inp.blob, etag=inp.etag, shard=s,
                 shards=shards, model_id=emb.model.id, probe=probe,
                 claimed=target.claimed, received_at=start, audio=emb.audio,
                 timings_ms={**emb.timings_ms, "liveness": live_ms}, liveness=live and live.to_json(),
                 challenge=spoken, watchlist=listed.public(), trace=telemetry.carrier()).to_json()
        for s in shards
    ]
