"""Simulated replays: reproducible, same length, band-limited, reverberant."""

from __future__ import annotations

import numpy as np

from shared.liveness.augment import (
    SAMPLE_RATE,
    mu_law,
    room_response,
    simulate_replay,
    telephone,
)


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


def test_the_room_decays_by_sixty_decibels_over_its_reverberation_time():
    rir = room_response(np.random.default_rng(2), 0.5)
    early, late = rir[40:800], rir[-800:]
    assert len(rir) == SAMPLE_RATE // 2 and np.argmax(np.abs(rir)) == 0
    assert 20 * np.log10(np.sqrt(np.mean(late ** 2)) / np.sqrt(np.mean(early ** 2))) < -40


def test_a_phone_line_keeps_the_speech_band_and_drops_what_is_above_it():
    t = np.arange(SAMPLE_RATE * 2) / SAMPLE_RATE
    clip = (np.sin(2 * np.pi * 1000 * t) + np.sin(2 * np.pi * 6000 * t)).astype(np.float32) * 0.4
    out = telephone(clip, np.random.default_rng(3))
    spectrum = np.abs(np.fft.rfft(out))
    assert out.shape == clip.shape and out.dtype == np.float32
    assert spectrum[12000] < 0.01 * spectrum[2000]  # 6 kHz is gone, 1 kHz stays (0.5 Hz bins)
    assert np.array_equal(out, telephone(clip, np.random.default_rng(3)))


def test_mu_law_is_the_identity_at_full_scale_and_coarse_near_zero():
    assert np.allclose(mu_law(np.array([-1.0, 0.0, 1.0])), [-1.0, 0.0, 1.0])
    levels = np.unique(mu_law(np.linspace(-1, 1, 100_001)))
    assert len(levels) <= 255  # 8 bits
