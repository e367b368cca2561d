"""Resemblyzer's GE2E speaker encoder (a 3-layer LSTM on 40 mel bands), the third backend.

Its real weights ship inside the ``resemblyzer`` wheel (``pretrained.pt``), so this
backend works offline and proves that the product's pluggable path carries a model
that is not SpeechBrain's. ``VOICEID_MODEL_SOURCE`` may name another ``.pt`` file of
the same architecture. The product's front end has already decoded, resampled and
gated the audio; GE2E only needs the loudness it was trained at (-30 dBFS), because
its features are linear-power mel bands rather than logarithmic ones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shared.core.errors import TransientError
from shared.core.settings import Settings, resolve_model_source
from shared.embedding.embedder import Embedder, weights_version

TARGET_DBFS = -30.0  # resemblyzer.hparams.audio_norm_target_dBFS


def at_loudness(samples: np.ndarray, dbfs: float = TARGET_DBFS) -> np.ndarray:
    """Scale to a mean power of ``dbfs``; silence stays silence instead of becoming NaN."""
    power = float(np.mean(np.square(samples, dtype=np.float64))) if len(samples) else 0.0
    if power <= 0:
        return samples
    return (samples * 10 ** ((dbfs - 10 * np.log10(power)) / 20)).astype(np.float32)


class ResemblyzerEmbedder(Embedder):
    """``VOICEID_MODEL=resemblyzer``: 256-dimensional GE2E embeddings."""

    NAME = "resemblyzer-ge2e"

    def __init__(self, settings: Settings):
        super().__init__(settings)
        try:
            import resemblyzer
            from resemblyzer import VoiceEncoder
        except ImportError as exc:
            raise TransientError(f"the resemblyzer backend is not installed: {exc}", code="model.unavailable",
                                 hint="pip install -r requirements.txt (resemblyzer, librosa, webrtcvad)") from exc
        source = resolve_model_source(settings)
        weights = Path(source).expanduser() if source else Path(resemblyzer.__file__).parent / "pretrained.pt"
        if not weights.is_file():
            raise TransientError(f"no GE2E weights at {str(weights)!r}", code="model.unavailable",
                                 hint="Leave VOICEID_MODEL_SOURCE empty to use the weights inside the wheel.")
        self._model = VoiceEncoder(self.device, verbose=False, weights_fpath=weights)
        self._model.eval()
        self._loaded(self.NAME, weights_version(weights))

    def embed_whole(self, samples: np.ndarray) -> np.ndarray:
        return self._model.embed_utterance(at_loudness(np.asarray(samples, np.float32)))
