"""What the liveness back-end sees of a clip: AASIST's read-out and logits, and the speaker model's inner features.

The published AASIST is kept as a feature extractor: its 5 x 32 read-out (``hidden``) and its two
logits, on its fixed 4.04 s input (the first 64,600 samples, tiled when shorter). The speaker model
(ECAPA) embeds the whole clip, as the pipeline does, and gives its unit embedding, its attentive
pooled statistics and the mean and spread of its log-mel input (:data:`SPEAKER_PARTS`, from the
same pass). Which of these the shipped back-end uses is
decided by measurement (docs/security.md, ``bench/liveness_backend.py``); extraction is cached per
file content, so a study or a retraining pays for each clip once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import torch

from shared.liveness import aasist

PARTS = {"aasist_hidden": slice(0, 160), "aasist_logits": slice(160, 162), "ecapa": slice(162, 354),
         "ecapa_stats": slice(354, 6498), "logmel": slice(6498, 6658)}
SPEAKER_PARTS = ("ecapa", "ecapa_stats", "logmel")  # from the speaker model's pass; the rest from AASIST
WIDTH = 6658


def aasist_features(samples: np.ndarray, model: aasist.AASIST) -> np.ndarray:
    """AASIST read-out (160) and logits [spoof, bona fide] (2) of the clip's fixed 4.04 s crop."""
    with torch.inference_mode():
        wave = torch.from_numpy(aasist.crop(samples)).unsqueeze(0).to(next(model.parameters()).device)
        hidden, logits = model(wave)
    return np.concatenate([hidden[0].cpu().numpy(), logits[0].cpu().numpy()])


def speaker_features(samples: np.ndarray, embedder) -> np.ndarray:
    """ECAPA's unit embedding (192), pooled statistics (6,144) and log-mel mean/std (160), from one pass.

    The pooled statistics (attentive mean and spread of the last frame-level layer) are what the
    embedding is projected from; they keep what the speaker projection throws away, such as a
    vocoder's or a loudspeaker's traces. ``embedder``: the pipeline's ECAPA
    (:meth:`~shared.embedding.embedder.Embedder.embed_with_taps`), so training sees what the product sees.
    """
    _, taps = embedder.embed_with_taps(samples)
    return np.concatenate([taps[p] for p in SPEAKER_PARTS])


def clip_features(samples: np.ndarray, model: aasist.AASIST, embedder) -> np.ndarray:
    """One row of every part in ``PARTS``, in that order."""
    return np.concatenate([aasist_features(samples, model), speaker_features(samples, embedder)]).astype(np.float32)


def select(rows: np.ndarray, parts: Iterable[str], layout: dict[str, slice] = PARTS) -> np.ndarray:
    """The columns of the named parts, side by side (``layout``: where each part lies; a study may add columns)."""
    return np.hstack([rows[:, layout[p]] for p in parts])


class FeatureCache:
    """Feature rows by file content (sha256), in one ``.npz`` beside the model cache."""

    def __init__(self, path: Path):
        self.path = path
        self.rows: dict[str, np.ndarray] = {}
        if path.is_file():
            with np.load(path, allow_pickle=False) as npz:
                self.rows = {k: npz[k] for k in npz.files}

    @staticmethod
    def key(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    def get(self, data: bytes, compute: Callable[[], np.ndarray]) -> np.ndarray:
        key = self.key(data)
        if key not in self.rows:
            self.rows[key] = np.asarray(compute(), np.float32)
        return self.rows[key]

    def rows_for(self, files: Iterable[Path], compute: Callable[[bytes], np.ndarray], tag: bytes = b"",
                 save_every: int = 100) -> np.ndarray:
        """One row per file (``compute(file bytes)`` when not cached yet), saved as it goes so a stop loses little.

        ``tag`` tells apart rows computed differently from the same file (a simulated replay of it, say).
        """
        out = []
        for i, path in enumerate(files):
            data = Path(path).read_bytes()
            out.append(self.get(data + tag, lambda data=data: compute(data)))
            if i % save_every == save_every - 1:
                self.save()
        self.save()
        return np.vstack(out)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(self.path, **self.rows)
