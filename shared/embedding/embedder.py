"""Speaker embeddings behind one interface, with the model loaded once per process.

Four backends share :class:`Embedder` (``VOICEID_MODEL``, listed in :data:`shared.core.models.MODELS`):

* ``ecapa`` (default): SpeechBrain ECAPA-TDNN, ``speechbrain/spkrec-ecapa-voxceleb``;
* ``xvector``: SpeechBrain x-vector, ``speechbrain/spkrec-xvect-voxceleb`` (same loader);
* ``resemblyzer``: Resemblyzer's GE2E LSTM, whose real weights ship in its PyPI wheel;
* ``fusion``: ECAPA and GE2E side by side in one voiceprint (``shared/embedding/fusion.py``).

A backend only turns 16 kHz samples into a raw vector (:meth:`Embedder.embed_whole`);
windowing of long inputs and L2 normalisation are the same for all of them. Every
voiceprint records the model that made it (:class:`ModelInfo`: a name and a version
taken from the weights' sha256), galleries and their calibration live under that id,
so scores never mix models and every model is calibrated on its own scale.
"""

from __future__ import annotations

import importlib
import logging
import threading
from abc import ABC, abstractmethod
from dataclasses import replace
from pathlib import Path

import numpy as np

from shared.core.digest import file_sha256
from shared.core.errors import TransientError
from shared.core.models import MODELS, ModelInfo
from shared.core.settings import Settings
from shared.embedding import adaptation

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000


def weights_version(path: Path) -> str:
    """First 12 hex digits of a weights file's sha256, or ``unknown`` when it is not on disk."""
    return file_sha256(path)[:12] if path.is_file() else "unknown"


def resolve_device(setting: str) -> str:
    """``auto`` picks CUDA when torch sees a GPU, else the CPU."""
    import torch

    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return setting


class Embedder(ABC):
    """A loaded speaker-embedding model. Thread-safe for inference.

    Subclasses load their weights in ``__init__`` (raising ``TransientError`` with code
    ``model.unavailable`` when they cannot), set :attr:`info` and implement
    :meth:`embed_whole`.
    """

    info: ModelInfo
    device: str

    def __init__(self, settings: Settings):
        import torch

        if settings.torch_threads > 0:
            torch.set_num_threads(settings.torch_threads)
        self.device = resolve_device(settings.device)

    @abstractmethod
    def embed_whole(self, samples: np.ndarray) -> np.ndarray:
        """The model's raw (un-normalised) embedding of the whole 16 kHz signal in one call."""

    def embed(self, samples: np.ndarray, window_s: float = Settings.embed_window_s) -> np.ndarray:
        """L2-normalised float32 embedding of 16 kHz mono samples (so a dot product is a cosine).

        Inputs longer than the window are cut into equal parts, each embedded, and the
        parts averaged by length: the model's memory grows with input length (about
        16 MB per second of audio on CPU for ECAPA), and the averaged embedding agrees
        with the whole-clip one (cosine >= 0.987 on the team kit; docs/audio.md).
        """
        return self.embed_with_taps(samples, window_s)[0]

    def embed_with_taps(self, samples: np.ndarray, window_s: float = Settings.embed_window_s,
                        ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """:meth:`embed`, and what the model computed on the way (``taps``, averaged over windows like the vector).

        The liveness back-end reads some of a speaker model's inner features (its pooled statistics);
        taking them from this pass costs nothing. Models without taps return an empty dict.
        """
        parts = max(1, int(np.ceil(len(samples) / (window_s * SAMPLE_RATE))))
        pieces = np.array_split(samples, parts)
        weights = np.array([len(p) for p in pieces], np.float64)
        outs = [self.embed_whole_with_taps(p) for p in pieces]
        vec = (np.stack([v for v, _ in outs]) * weights[:, None]).sum(axis=0)
        norm = float(np.linalg.norm(vec))
        taps = {name: (np.stack([t[name] for _, t in outs]) * weights[:, None]).sum(axis=0) / weights.sum()
                for name in outs[0][1]}
        return (vec / norm if norm > 0 else vec).astype(np.float32), {k: v.astype(np.float32) for k, v in taps.items()}

    def embed_whole_with_taps(self, samples: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """:meth:`embed_whole` and the model's taps of the same call; none unless a subclass has them."""
        return self.embed_whole(samples), {}

    @property
    def taps_model_id(self) -> str:
        """The model whose taps :meth:`embed_with_taps` returns (a fused model's part, say)."""
        return self.info.id

    def _loaded(self, name: str, version: str) -> None:
        """Record the model's identity; the embedding size is learned from one second of noise."""
        probe = np.random.default_rng(0).standard_normal(SAMPLE_RATE).astype(np.float32) * 0.01
        self.info = ModelInfo(name=name, version=version, dim=int(self.embed_whole(probe).shape[-1]))
        log.info("loaded speaker model %s on %s", self.info.id, self.device)


def backend_class(model: str) -> type[Embedder]:
    """The class behind a ``VOICEID_MODEL`` value (imports its module on first use)."""
    module, _, cls = MODELS[model].backend.partition(":")
    return getattr(importlib.import_module(module), cls)


_lock = threading.Lock()
_cache: dict[tuple[str, str, str], Embedder] = {}


def get_embedder(settings: Settings) -> Embedder:
    """The process-wide model for these settings, loaded on first use and kept warm."""
    key = (settings.model, settings.model_source, settings.device, settings.adaptation)
    with _lock:
        if key not in _cache:
            if settings.adaptation:  # the deployment's learned back-end on top (shared.embedding.adaptation)
                _cache[key] = AdaptedEmbedder(settings)
            else:
                _cache[key] = backend_class(settings.model)(settings)
        return _cache[key]


class AdaptedEmbedder(Embedder):
    """The configured model with the deployment's learned back-end on top (``VOICEID_ADAPTATION``)."""

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.base: Embedder = backend_class(settings.model)(replace(settings, adaptation=""))
        self.adaptation = adaptation.Adaptation.load(settings.adaptation)
        if self.adaptation.base_model != self.base.info.id:
            raise TransientError(
                f"VOICEID_ADAPTATION was learned for {self.adaptation.base_model}, but VOICEID_MODEL loads "
                f"{self.base.info.id}", code="model.unavailable",
                hint="Use the adaptation made for this model ('voiceid adapt' with the same VOICEID_MODEL), or unset it.")
        if self.adaptation.projection.shape[0] != self.base.info.dim:
            raise TransientError("VOICEID_ADAPTATION does not fit the model's embedding size", code="model.unavailable")
        self.info = self.adaptation.info()

    def embed_whole(self, samples: np.ndarray) -> np.ndarray:
        return self.adaptation.apply(self.base.embed_whole(samples))

    def embed_with_taps(self, samples: np.ndarray, window_s: float = Settings.embed_window_s,
                        ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The base model's embedding (averaged over windows as always), then the back-end; its taps as they are."""
        vector, taps = self.base.embed_with_taps(samples, window_s)
        return self.adaptation.apply(vector), taps

    @property
    def taps_model_id(self) -> str:
        return self.base.taps_model_id
