"""Speaker embeddings from a pretrained SpeechBrain model, loaded once per process.

The model source is a setting: a Hugging Face hub id (the default,
``speechbrain/spkrec-ecapa-voxceleb``) or a local folder holding the same files
(the team kit's copy, used automatically when present). ECAPA-TDNN and x-vector
load through the same ``EncoderClassifier`` interface.

Every voiceprint records the model that made it (:class:`ModelInfo`): its name
and a version taken from the weights' sha256, so scores never mix models.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import TransientError
from .settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelInfo:
    """Which weights made an embedding."""

    name: str  # e.g. "spkrec-ecapa-voxceleb"
    version: str  # first 12 hex digits of the embedding weights' sha256
    dim: int

    @property
    def id(self) -> str:
        """The model id written into results and voiceprints: ``name@version``."""
        return f"{self.name}@{self.version}"

    @classmethod
    def from_id(cls, model_id: str, dim: int) -> ModelInfo:
        """Rebuild the info from a job's ``model_id``: match workers never load the model."""
        name, _, version = model_id.partition("@")
        return cls(name=name, version=version, dim=dim)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def resolve_device(setting: str) -> str:
    """``auto`` picks CUDA when torch sees a GPU, else the CPU."""
    import torch

    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return setting


class Embedder:
    """A loaded speaker-embedding model. Thread-safe for inference."""

    def __init__(self, settings: Settings):
        import torch
        from speechbrain.inference.speaker import EncoderClassifier

        if settings.torch_threads > 0:
            torch.set_num_threads(settings.torch_threads)
        self.device = resolve_device(settings.device)
        source = settings.model_source
        local = Path(source).expanduser()
        name = local.name if local.is_dir() else source.rstrip("/").split("/")[-1]
        savedir = Path(settings.model_cache).expanduser() / name
        kwargs: dict = {"source": str(local) if local.is_dir() else source, "savedir": str(savedir),
                        "run_opts": {"device": self.device}}
        if local.is_dir():
            kwargs["overrides"] = {"pretrained_path": str(local)}
        try:
            self._model = EncoderClassifier.from_hparams(**kwargs)
        except OSError as exc:
            raise TransientError(
                f"cannot load the speaker model from {source!r}: {exc}",
                code="model.unavailable",
                hint="Set VOICEID_MODEL_SOURCE to a local model folder or a reachable hub id.",
            ) from exc
        self._model.eval()
        weights = (local if local.is_dir() else savedir) / "embedding_model.ckpt"
        version = _sha256(weights)[:12] if weights.is_file() else "unknown"
        dim = int(self.embed_whole(np.zeros(SAMPLE_PROBE, dtype=np.float32)).shape[-1])
        self.info = ModelInfo(name=name, version=version, dim=dim)
        log.info("loaded speaker model %s on %s", self.info.id, self.device)

    def embed_whole(self, samples: np.ndarray) -> np.ndarray:
        """The model's raw (un-normalised) embedding of the whole signal in one pass, without windowing."""
        import torch

        with torch.inference_mode():
            wav = torch.from_numpy(samples).unsqueeze(0).to(self.device)
            emb = self._model.encode_batch(wav, torch.ones(1, device=self.device))
        return emb.squeeze().float().cpu().numpy()

    def embed(self, samples: np.ndarray, window_s: float = Settings.embed_window_s) -> np.ndarray:
        """L2-normalised float32 embedding of 16 kHz mono samples (so a dot product is a cosine).

        Inputs longer than the window are cut into equal parts, each embedded, and the
        parts averaged by length: the model's memory grows with input length (about
        16 MB per second of audio on CPU), and the averaged embedding agrees with the
        whole-clip one (cosine >= 0.987 on the team kit; docs/audio.md).
        """
        parts = max(1, int(np.ceil(len(samples) / (window_s * 16_000))))
        pieces = np.array_split(samples, parts)
        vecs = np.stack([self.embed_whole(p) for p in pieces])
        vec = (vecs * np.array([len(p) for p in pieces], np.float64)[:, None]).sum(axis=0)
        norm = float(np.linalg.norm(vec))
        return (vec / norm if norm > 0 else vec).astype(np.float32)


SAMPLE_PROBE = 16_000  # one second of silence, to learn the embedding size at load time

_lock = threading.Lock()
_cache: dict[tuple[str, str], Embedder] = {}


def get_embedder(settings: Settings) -> Embedder:
    """The process-wide model for these settings, loaded on first use and kept warm."""
    key = (settings.model_source, settings.device)
    with _lock:
        if key not in _cache:
            _cache[key] = Embedder(settings)
        return _cache[key]
