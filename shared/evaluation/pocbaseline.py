"""The original PoC's way of scoring, kept as the baseline every accuracy figure is compared with.

SpeechBrain's ``SpeakerRecognition.verify_files``: read the file, resample with
SpeechBrain's ``AudioNormalizer``, embed with ``encode_batch`` and compare with
plain cosine (its default threshold is 0.25). No VAD, no gates, no normalisation.
torchaudio 2.11 reads files through torchcodec, which is not installed, so the file
is read with soundfile (the same samples for the lossless formats of the team kit).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from shared.core.settings import Settings
from shared.embedding.embedder import get_embedder

POC_THRESHOLD = 0.25


def baseline_settings(settings: Settings) -> Settings:
    """The settings of the baseline: the PoC's model (ECAPA) whatever ``VOICEID_MODEL`` says."""
    return settings if settings.model == "ecapa" else replace(settings, model="ecapa", model_source="")


def poc_cosine(enrol: Sequence[np.ndarray], test: np.ndarray) -> float:
    """Plain cosine of the enrol files' mean embedding (re-normalised; one file: itself) with the test file's."""
    mean = np.mean(np.stack(enrol), axis=0)
    return float(mean @ test / max(float(np.linalg.norm(mean)), 1e-12))


def poc_embedding(data: bytes, settings: Settings) -> np.ndarray:
    """The L2-normalised embedding SpeechBrain's own loading path gives for these file bytes."""
    import soundfile
    import torch
    from speechbrain.dataio.preprocess import AudioNormalizer

    samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    wav = AudioNormalizer(sample_rate=16_000)(torch.from_numpy(samples), rate)
    emb = get_embedder(settings).embed_whole(wav.numpy().astype(np.float32))
    return (emb / np.linalg.norm(emb)).astype(np.float32)
