"""Simulated replays: reproducible, same length, band-limited, reverberant."""

from __future__ import annotations

import numpy as np

from shared.audio.channels import SAMPLE_RATE
from shared.liveness.augment import simulate_replay


def test_a_replay_is_reproducible_from_its_seed_and_keeps_the_length_and_level():
    clip = np.random.default_rng(0).standard_normal(SAMPLE_RATE * 2).astype(np.float32) * 0.1
    one = simulate_replay(clip, np.random.default_rng(7))
    assert np.array_equal(one, simulate_replay(clip, np.random.default_rng(7)))
    assert not np.array_equal(one, simulate_replay(clip, np.random.default_rng(8)))
    assert one.shape == clip.shape and one.dtype == np.float32 and abs(np.max(np.abs(one)) - 0.89) < 1e-3


def test_the_loudspeaker_removes_the_lowest_band():
    t = np.arange(SAMPLE_RATE * 2) / SAMPLE_RATE
    hum = np.sin(2 * np.pi * 50 * t).astype(np.float32)  # 50 Hz: below every simulated loudspeaker
    speech_band = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    out = simulate_replay(hum + speech_band, np.random.default_rng(1))
    spectrum = np.abs(np.fft.rfft(out))
    assert spectrum[100] < 0.1 * spectrum[2000]  # bins of 0.5 Hz: 50 Hz against 1 kHz
