"""Frozen records that cross process boundaries: the triggering blob, queue messages and shard partials.

Each has ``to_json``/``from_json`` so the wire format is defined in one place.
Unknown fields in incoming JSON are ignored, so a newer producer does not break
an older worker during a rolling deployment.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import asdict, dataclass, field, fields

from shared.core.errors import PermanentError


def _from_dict(cls, data: dict):
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class BlobInput:
    """A triggering blob: which one, which version (ETag), and its bytes."""

    container: str
    blob: str
    etag: str
    data: bytes = field(repr=False)
    size: int = -1  # the blob's size; -1 means len(data)

    @property
    def length(self) -> int:
        return len(self.data) if self.size < 0 else self.size

    @property
    def request_id(self) -> str:
        """Stable per blob version: a redelivered trigger maps to the same request."""
        return hashlib.sha256(f"{self.container}/{self.blob}|{self.etag}".encode()).hexdigest()[:24]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Candidate:
    """One enrolled speaker and how well the probe matches them."""

    speaker: str  # display name, as first enrolled
    score: float  # calibrated: -log10 of the estimated false-accept rate (shared.scoring.calibration)
    key: str = ""  # the matching key (see names.speaker_key)
    cosine: float = 0.0  # raw cosine to the speaker's model, for diagnostics only

    def public(self) -> dict:
        """What result documents carry of a candidate."""
        return {"speaker": self.speaker, "score": round(self.score, 4), "cosine": round(self.cosine, 4)}


@dataclass(frozen=True)
class MatchJob:
    """Score one probe against one gallery shard; the message body on ``match-jobs``."""

    request_id: str
    kind: str  # "identify" or "verify"
    blob: str  # name inside the identify container
    etag: str
    shard: int
    shards: tuple[int, ...]  # every shard this request fans out to (the fan-in waits for all)
    model_id: str
    probe: str  # blob in match-state holding the probe embedding
    claimed: str | None = None
    received_at: float = 0.0  # epoch seconds when the trigger started
    audio: dict = field(default_factory=dict)  # the probe's audio report, copied into the result
    timings_ms: dict = field(default_factory=dict)  # decode, vad, embed, liveness of the probe
    liveness: dict | None = None  # the probe's liveness object (None: the check is off), copied into the result
    challenge: dict | None = None  # whether a text-prompted verification said its digits (None: no challenge)
    watchlist: list | None = None  # the fraud watchlist cases the probe matched (None: sent by a version without)
    trace: dict = field(default_factory=dict)  # the request's trace context (W3C traceparent), for one trace per input

    def to_json(self) -> str:
        data = asdict(self)
        data["shards"] = list(self.shards)
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> MatchJob:
        try:
            data = json.loads(text)
            job = _from_dict(cls, data)
        except (ValueError, TypeError) as exc:
            raise PermanentError(f"match job is not valid JSON of a job: {exc}", code="job.malformed",
                                 hint="Only the identify trigger should put messages on match-jobs.") from exc
        return cls(**{**asdict(job), "shards": tuple(job.shards)})

    @staticmethod
    def trace_of(body: str | bytes) -> dict | None:
        """The trace context in a job's body, or None (not a job, or sent without one)."""
        try:
            found = json.loads(body).get("trace")
        except (ValueError, TypeError, AttributeError):
            return None
        return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) and found else None

    @classmethod
    def from_message(cls, content: str) -> MatchJob | None:
        """A job from a raw queue message body in either of the host's encodings; None when it is not one."""
        try:
            text = base64.b64decode(content, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            text = content
        try:
            return cls.from_json(text)
        except PermanentError:
            return None


@dataclass(frozen=True)
class ShardPartial:
    """What one match worker found in one shard; fan-in merges these."""

    request_id: str
    shard: int
    candidates: tuple[Candidate, ...]
    scored: int  # voiceprints in the shard
    match_ms: float
    calibration: dict = field(default_factory=dict)  # GalleryStats.summary() the scores were made with

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "candidates": [asdict(c) for c in self.candidates]},
                          ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> ShardPartial:
        data = json.loads(text)
        data["candidates"] = tuple(Candidate(**c) for c in data["candidates"])
        return _from_dict(cls, data)
