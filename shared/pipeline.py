"""The step every input blob goes through: bytes -> checked audio -> embedding.

Shared by enrolment and identification so both see exactly the same front end.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

import numpy as np

from . import audio
from .embedding import ModelInfo, get_embedder
from .errors import PermanentError
from .settings import Settings


@dataclass(frozen=True)
class BlobInput:
    """A triggering blob: which one, which version (ETag), and its bytes."""

    container: str
    blob: str
    etag: str
    data: bytes = field(repr=False)

    @property
    def request_id(self) -> str:
        """Stable per blob version: a redelivered trigger maps to the same request."""
        return hashlib.sha256(f"{self.container}/{self.blob}|{self.etag}".encode()).hexdigest()[:24]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Embedded:
    """An input's embedding with what it took to get it."""

    vector: np.ndarray = field(repr=False)
    model: ModelInfo
    audio_s: float
    decode_ms: float
    embed_ms: float


def embed_input(inp: BlobInput, settings: Settings) -> Embedded:
    """Decode, gate and embed one input; bad audio raises :class:`PermanentError`."""
    if len(inp.data) > settings.max_audio_bytes:
        raise PermanentError(
            f"the file is {len(inp.data)} bytes; the limit is {settings.max_audio_bytes}",
            code="audio.too_large", hint="Upload a shorter recording or a compressed format.")
    t0 = time.perf_counter()
    clip = audio.decode(inp.data, max_seconds=settings.max_audio_seconds, timeout_s=settings.ffmpeg_timeout_s)
    audio.check_duration(clip, min_seconds=settings.min_audio_seconds, max_seconds=settings.max_audio_seconds)
    t1 = time.perf_counter()
    embedder = get_embedder(settings)
    vector = embedder.embed(clip)
    t2 = time.perf_counter()
    return Embedded(vector=vector, model=embedder.info, audio_s=round(clip.duration_s, 3),
                    decode_ms=round((t1 - t0) * 1000, 1), embed_ms=round((t2 - t1) * 1000, 1))
