"""Simulated channels: rooms, phone lines, and the channel-degraded enrolment copies bench.adapt_channels measures."""

from __future__ import annotations

import numpy as np
import pytest

from shared.audio.channels import (
    COPY_FAMILIES,
    SAMPLE_RATE,
    channel_copy,
    mu_law,
    power,
    room_response,
    telephone,
)


def speechlike(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    """Harmonics of a moving pitch up to 7 kHz, amplitude-modulated like syllables."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    f0 = 120 + 30 * np.sin(2 * np.pi * 0.5 * t + seed)
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    x = sum(np.sin(k * phase) / k for k in range(1, 50))
    return (0.5 * x * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)) / np.max(np.abs(x))).astype(np.float32)


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


@pytest.mark.parametrize("family", COPY_FAMILIES)
def test_every_copy_is_reproducible_same_length_and_at_the_kits_level(family):
    clip, voices = speechlike(), [speechlike(3.0, seed=s) for s in (1, 2, 3)]
    one = channel_copy(clip, family, np.random.default_rng(4), voices)
    assert one.shape == clip.shape and one.dtype == np.float32
    assert abs(np.max(np.abs(one)) - 0.89) < 1e-3
    assert np.array_equal(one, channel_copy(clip, family, np.random.default_rng(4), voices))
    assert not np.allclose(one, 0.89 * clip / np.max(np.abs(clip)), atol=1e-3)  # it did change the clip


def test_a_phone_copy_is_narrow_band_and_noise_and_babble_copies_add_power_where_the_clip_had_none():
    clip = speechlike()
    clip[SAMPLE_RATE // 2: SAMPLE_RATE] = 0.0  # a pause
    phone = channel_copy(clip, "phone", np.random.default_rng(1))
    spectrum = np.abs(np.fft.rfft(phone))
    assert spectrum[12000] < 0.01 * spectrum[2000]
    voices = [speechlike(3.0, seed=s) for s in (1, 2, 3)]
    for family in ("noise", "babble"):
        out = channel_copy(clip, family, np.random.default_rng(2), voices)
        pause, rest = out[SAMPLE_RATE // 2: SAMPLE_RATE], out[SAMPLE_RATE:]
        snr = 10 * np.log10(power(rest) / power(pause))
        assert -3 < snr < 20  # drawn between 0 and 15 dB (speech power includes the noise, hence the slack)


def test_babble_needs_other_voices_and_an_unknown_family_is_refused():
    with pytest.raises(ValueError, match="two other voices"):
        channel_copy(speechlike(), "babble", np.random.default_rng(0), [speechlike()])
    with pytest.raises(ValueError, match="unknown channel family"):
        channel_copy(speechlike(), "radio", np.random.default_rng(0))
