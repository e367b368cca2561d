"""Two models in one voiceprint: ECAPA-TDNN and GE2E, fused by concatenation.

``VOICEID_MODEL=fusion`` embeds every input with both models and stores the two
L2-normalised embeddings side by side, each scaled by 1/sqrt(2). The voiceprint is
then a unit vector whose cosine with another is the mean of the two models' cosines,
so the whole scoring path (gallery mean-centering, adaptive S-norm, calibration) works
on it under its own model id and gallery; mean-centering re-normalises each part on its
own (``FUSED_PARTS``), so the fused cosine stays the mean of the two centred cosines. Equal weights are not tuned on
any data. The two models fail differently (ECAPA on sub-second speech, GE2E on
read speech), which is why fusing them lowers error rates on every development
corpus (docs/accuracy.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np

from shared.core.models import FUSED_PARTS, ModelInfo
from shared.core.settings import Settings
from shared.embedding.embedder import Embedder
from shared.embedding.ge2e import ResemblyzerEmbedder
from shared.embedding.speechbrain_model import SpeechBrainEmbedder

PART_WEIGHT = 1 / np.sqrt(2)


class FusionEmbedder(Embedder):
    """ECAPA (the chosen SpeechBrain source) + Resemblyzer GE2E (the weights in its wheel)."""

    NAME = "fusion-ecapa-ge2e"

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.parts: tuple[Embedder, ...] = (SpeechBrainEmbedder(replace(settings, model="ecapa", model_source="")),
                                            ResemblyzerEmbedder(replace(settings, model="resemblyzer",
                                                                        model_source="")))
        version = hashlib.sha256("+".join(p.info.id for p in self.parts).encode()).hexdigest()[:12]
        self.info = ModelInfo(name=self.NAME, version=version, dim=sum(p.info.dim for p in self.parts))
        if tuple(p.info.dim for p in self.parts) != FUSED_PARTS[self.NAME]:
            raise RuntimeError(f"{self.NAME}: part sizes {[p.info.dim for p in self.parts]} differ from "
                               f"FUSED_PARTS {FUSED_PARTS[self.NAME]}; update shared/core/models.py")

    @property
    def part_ids(self) -> list[str]:
        """The models inside, as ``name@version`` (their weights' hashes make up this model's version)."""
        return [p.info.id for p in self.parts]

    def embed_whole(self, samples: np.ndarray) -> np.ndarray:
        return self._join([p.embed_whole(samples) for p in self.parts])

    def embed(self, samples: np.ndarray, window_s: float = Settings.embed_window_s) -> np.ndarray:
        return self._join([p.embed(samples, window_s) for p in self.parts])

    def embed_with_taps(self, samples: np.ndarray, window_s: float = Settings.embed_window_s,
                        ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The fused vector, and the ECAPA part's taps (:attr:`taps_model_id` names it)."""
        ecapa, taps = self.parts[0].embed_with_taps(samples, window_s)
        return self._join([ecapa, self.parts[1].embed(samples, window_s)]), taps

    @property
    def taps_model_id(self) -> str:
        return self.parts[0].info.id

    @staticmethod
    def _join(vectors: list[np.ndarray]) -> np.ndarray:
        unit = [v / max(float(np.linalg.norm(v)), 1e-12) for v in vectors]
        return (np.concatenate(unit) * PART_WEIGHT).astype(np.float32)
