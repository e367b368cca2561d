"""Which band an input came through: read off its spectrum, through the product's own decoder."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from shared.audio.bandwidth import NARROW, NARROW_BELOW_DB, WIDE, band_of, high_band_db
from shared.audio.decode import decode, ffmpeg_exe


def harmonics(seconds: float = 2.0, top_hz: float = 7_000.0, rate: int = 16_000) -> np.ndarray:
    """A voiced-speech-like test signal: harmonics of 150 Hz up to ``top_hz``, falling 6 dB per octave."""
    t = np.arange(int(seconds * rate)) / rate
    x = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, int(top_hz // 150) + 1))
    return (0.5 * x / np.max(np.abs(x))).astype(np.float32)


def through_ffmpeg(samples: np.ndarray, *args: str) -> bytes:
    """``samples`` (16 kHz float) encoded by ffmpeg with ``args`` (a WAV or other container, to stdout)."""
    pcm = np.clip(samples * 32767, -32768, 32767).astype("<i2").tobytes()
    return subprocess.run([ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-f", "s16le", "-ar", "16000", "-ac", "1",
                           "-i", "pipe:0", *args, "pipe:1"], input=pcm, capture_output=True, check=True).stdout


def test_wide_band_speech_has_a_high_band_and_is_wide():
    level = high_band_db(harmonics())
    assert level is not None and level > NARROW_BELOW_DB + 20
    assert band_of(level, 16_000) == WIDE


@pytest.mark.parametrize("codec", [["-c:a", "pcm_mulaw", "-f", "wav"], ["-c:a", "pcm_s16le", "-f", "wav"]])
def test_audio_that_went_through_8_khz_is_narrow_even_when_handed_over_at_16_khz(codec):
    """A contact centre may resample its 8 kHz calls to 16 kHz: the spectrum still says narrow-band."""
    at_8k = decode(through_ffmpeg(harmonics(), "-ar", "8000", *codec), max_seconds=60, timeout_s=30)
    assert at_8k.source.sample_rate == 8000 and band_of(high_band_db(at_8k.samples), at_8k.source.sample_rate) == NARROW
    wav16 = through_ffmpeg(at_8k.samples, "-ar", "16000", "-c:a", "pcm_s16le", "-f", "wav")
    again = decode(wav16, max_seconds=60, timeout_s=30)
    assert again.source.sample_rate == 16000
    level = high_band_db(again.samples)
    assert level is not None and level < NARROW_BELOW_DB
    assert band_of(level, again.source.sample_rate) == NARROW


def test_the_speech_mask_decides_which_frames_shape_the_spectrum():
    """Wide-band hiss in the pauses of a narrow-band call must not make it wide: only speech frames count."""
    rng = np.random.default_rng(0)
    call = decode(through_ffmpeg(harmonics(), "-ar", "8000", "-c:a", "pcm_s16le", "-f", "wav"), max_seconds=60,
                  timeout_s=30).samples
    pause = (0.05 * rng.standard_normal(len(call))).astype(np.float32)
    mixed = np.concatenate([call, pause])
    mask = np.concatenate([np.ones(len(call), bool), np.zeros(len(pause), bool)])
    assert high_band_db(mixed, mask) < NARROW_BELOW_DB < high_band_db(mixed)


def test_a_source_at_8_khz_or_less_is_narrow_and_nothing_to_measure_counts_as_wide():
    assert band_of(-10.0, 8_000) == NARROW
    assert high_band_db(np.zeros(100, np.float32)) is None
    assert high_band_db(np.zeros(16_000, np.float32)) is None
    assert band_of(None, None) == WIDE
