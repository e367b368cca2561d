"""Embeddings of local files through the product's front end, cached on disk.

The evaluation harness scores thousands of trials over a few hundred files; each
file is decoded, measured and embedded once (exactly as the pipeline does) and the
result kept under ``VOICEID_MODEL_CACHE/../embeddings``, keyed by the file's
content hash, the model id and every setting that changes the embedding. A re-run
therefore costs file hashing only, and a changed setting or model never reuses a
stale vector.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shared.core.errors import PermanentError
from shared.core.settings import Settings
from shared.embedding.frontend import embed_prepared, prepare


@dataclass(frozen=True)
class FileEmbedding:
    """One file's embedding, its speech measure, and why the pipeline would refuse it (if it would)."""

    vector: np.ndarray | None = field(repr=False)
    net_speech_s: float
    duration_s: float
    error: str | None = None  # a front-end error code (e.g. ``audio.undecodable``): no vector at all
    band: str = ""  # "narrow" or "wide", as the pipeline classes the file (shared.audio.bandwidth)

    def gate(self, min_speech_s: float) -> str | None:
        """The error code the pipeline would give this file as input, or None when it would be accepted."""
        if self.error:
            return self.error
        if self.net_speech_s == 0:
            return "audio.no_speech"
        if self.net_speech_s < min_speech_s:
            return "audio.too_little_speech"
        return None


def front_end_key(settings: Settings, model_id: str, front_end: str = "product") -> str:
    """A short hash of everything that changes an embedding besides the audio itself."""
    parts = [model_id, front_end, settings.channel, settings.embed_audio, f"{settings.embed_window_s:g}",
             f"{settings.max_audio_seconds:g}"]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


class EmbeddingCache:
    """Embeds files once per (content, model, front-end settings)."""

    def __init__(self, settings: Settings, model_id: str, root: Path | None = None, front_end: str = "product",
                 parts: tuple[EmbeddingCache, ...] = ()):
        """``front_end`` "poc" embeds the original PoC's way instead (:mod:`shared.evaluation.pocbaseline`).

        ``parts``: the caches of a fused model's parts; its vectors are then joined from theirs (exactly what
        the fused model computes), so fusing two measured models costs no embedding at all.
        """
        self.parts = parts
        self.settings = settings
        self.model_id = model_id
        self.front_end = front_end
        base = Path(settings.model_cache).expanduser().parent / "embeddings" if root is None else root
        self.dir = base / front_end_key(settings, model_id, front_end)
        self.hits = 0
        self.misses = 0

    def _paths(self, digest: str) -> tuple[Path, Path]:
        d = self.dir / digest[:2]
        return d / f"{digest}.npy", d / f"{digest}.json"

    def get(self, path: Path) -> FileEmbedding:
        """The file's embedding, computed through the product's front end on a cache miss."""
        if self.parts:
            return fused([part.get(path) for part in self.parts])
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        vec_path, meta_path = self._paths(digest)
        if meta_path.is_file():
            self.hits += 1
            meta = json.loads(meta_path.read_text())
            if "band" not in meta and self.front_end == "product":  # cached before bands were kept: measure it now
                meta = self._with_band(meta, data, meta_path)
            vector = np.load(vec_path, allow_pickle=False) if vec_path.is_file() else None
            return FileEmbedding(vector=vector, **meta)
        self.misses += 1
        got = self._compute(data)
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        if got.vector is not None:
            np.save(vec_path, got.vector, allow_pickle=False)
        meta_path.write_text(json.dumps({"net_speech_s": got.net_speech_s, "duration_s": got.duration_s,
                                         "error": got.error, "band": got.band}))
        return got

    def _with_band(self, meta: dict, data: bytes, meta_path: Path) -> dict:
        """An older cache entry with the file's band added (decode and VAD only, no embedding)."""
        try:
            band = prepare(data, self.settings).audio["band"]
        except PermanentError:
            band = ""
        meta = {**meta, "band": band}
        meta_path.write_text(json.dumps(meta))
        return meta

    def _compute(self, data: bytes) -> FileEmbedding:
        if self.front_end == "poc":
            from shared.evaluation.pocbaseline import poc_embedding

            return FileEmbedding(vector=poc_embedding(data, self.settings), net_speech_s=float("inf"), duration_s=0.0)
        try:
            prep = prepare(data, self.settings)
        except PermanentError as err:
            return FileEmbedding(vector=None, net_speech_s=0.0, duration_s=0.0, error=err.code)
        emb = embed_prepared(prep, self.settings)
        return FileEmbedding(vector=emb.vector, net_speech_s=prep.net_speech_s,
                             duration_s=prep.audio["duration_s"], band=prep.audio["band"])


def fused(parts: list[FileEmbedding]) -> FileEmbedding:
    """A fused model's embedding of a file from its parts' (the front end, hence the gates, are the same)."""
    from shared.embedding.fusion import join

    first = parts[0]
    if any(p.vector is None for p in parts):
        return FileEmbedding(vector=None, net_speech_s=first.net_speech_s, duration_s=first.duration_s,
                             error=next((p.error for p in parts if p.error), first.error), band=first.band)
    return FileEmbedding(vector=join([p.vector for p in parts]), net_speech_s=first.net_speech_s,
                         duration_s=first.duration_s, error=first.error, band=first.band)


def cache_for(settings: Settings) -> EmbeddingCache:
    """The cache of ``settings.model``; a fused model's is built from its parts' caches."""
    from dataclasses import replace

    from shared.embedding.embedder import backend_class, get_embedder

    parts = tuple(cache_for(replace(settings, model=m, model_source=""))
                  for m in getattr(backend_class(settings.model), "PARTS", ()))
    return EmbeddingCache(settings, get_embedder(settings).info.id, parts=parts)
