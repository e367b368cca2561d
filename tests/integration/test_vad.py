"""silero-vad through the product's wrapper."""

from __future__ import annotations

import numpy as np
import torch

from shared.audio.decode import decode
from shared.audio.vad import detect_speech
from tests.helpers import clips


def test_vad_finds_speech_and_leaves_torch_threads_alone(kit):
    threads = torch.get_num_threads()
    audio = decode(clips("1688")[1].read_bytes(), max_seconds=600, timeout_s=60)
    speech = detect_speech(audio.samples)
    assert torch.get_num_threads() == threads  # silero's import sets 1 thread globally; we undo that
    assert 0.6 * audio.duration_s < speech.net_s < audio.duration_s
    assert len(speech.only_speech(audio.samples)) == int(speech.net_s * 16000)


def test_vad_finds_nothing_in_silence():
    assert detect_speech(np.zeros(16000 * 3, dtype=np.float32)).net_s == 0
