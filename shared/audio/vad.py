"""Voice activity detection with silero-vad (its model ships in the wheel).

Every input's net speech is measured and reported. The model keeps recurrent
state between chunks, so each thread gets its own instance (loading takes ~50 ms).
It runs the wheel's ONNX copy through ONNX Runtime: silero steps through the signal
in 32 ms windows, one model call each, and ONNX Runtime's per-call overhead is far
lower than TorchScript's (6x faster here, the same segments; docs/performance.md).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from shared.audio.decode import SAMPLE_RATE

_local = threading.local()


@dataclass(frozen=True)
class Speech:
    """Detected speech segments, as sample ranges of the 16 kHz signal."""

    segments: tuple[tuple[int, int], ...]

    @property
    def net_s(self) -> float:
        return sum(end - start for start, end in self.segments) / SAMPLE_RATE

    def mask(self, length: int) -> np.ndarray:
        """Boolean mask of the speech samples."""
        mask = np.zeros(length, dtype=bool)
        for start, end in self.segments:
            mask[start:end] = True
        return mask

    def only_speech(self, samples: np.ndarray) -> np.ndarray:
        """The speech segments joined (what the model sees when trimming is on)."""
        if not self.segments:
            return samples[:0]
        return np.concatenate([samples[s:e] for s, e in self.segments])


def _silero():
    """Import silero_vad without its side effect: its import sets torch's global thread count to 1,
    which would halve the speaker model's speed for the whole process."""
    import torch

    threads = torch.get_num_threads()
    import silero_vad

    torch.set_num_threads(threads)
    return silero_vad


def _model():
    if not hasattr(_local, "model"):
        _local.model = _silero().load_silero_vad(onnx=True)
    return _local.model


def detect_speech(samples: np.ndarray) -> Speech:
    """Speech segments of a 16 kHz mono signal (silero defaults: threshold 0.5, 250 ms minimum speech)."""
    import torch

    model = _model()
    with torch.inference_mode():
        stamps = _silero().get_speech_timestamps(torch.from_numpy(samples), model, sampling_rate=SAMPLE_RATE)
    return Speech(segments=tuple((int(s["start"]), int(s["end"])) for s in stamps))
