"""Replays of live speech, simulated: training data for the attacks a detector must catch but nobody synthesised.

A replay keeps a live voice and adds a playback chain: a small loudspeaker (band-limited, a little
saturated), a room (reverberation), a microphone (its own band limits and noise), often a codec.
:func:`simulate_replay` builds one from a live clip with numpy and SciPy alone, each part drawn at
random from ``rng``; training uses it on the live speech of the training set only, so that no
held-out replay simulator (the kit's ``replay-sim``) or held-out speaker ever reaches training.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, fftconvolve, sosfilt

SAMPLE_RATE = 16_000


def _band(samples: np.ndarray, low: float, high: float) -> np.ndarray:
    sos = butter(4, [low, min(high, SAMPLE_RATE / 2 - 100)], btype="band", fs=SAMPLE_RATE, output="sos")
    return sosfilt(sos, samples)


def room_response(rng: np.random.Generator, rt60_s: float) -> np.ndarray:
    """A synthetic impulse response: the direct sound, then exponentially decaying noise (-60 dB at ``rt60_s``)."""
    length = int(rt60_s * SAMPLE_RATE)
    t = np.arange(length) / SAMPLE_RATE
    tail = rng.standard_normal(length) * np.exp(-6.9 * t / rt60_s) * 0.3
    tail[: int(0.002 * SAMPLE_RATE)] = 0  # the first reflections arrive after the direct sound
    tail[0] = 1.0
    return tail / np.linalg.norm(tail)


def simulate_replay(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One simulated replay of a live 16 kHz clip: loudspeaker, room, microphone and noise, peak-normalised."""
    x = np.asarray(samples, np.float64)
    x = _band(x, rng.uniform(120, 400), rng.uniform(4000, 7500))  # loudspeaker
    x = np.tanh(rng.uniform(1.0, 4.0) * x / (np.max(np.abs(x)) + 1e-9))  # its saturation
    x = fftconvolve(x, room_response(rng, rng.uniform(0.2, 0.9)))[: len(x)]
    x = _band(x, rng.uniform(60, 200), rng.uniform(6000, 7900))  # microphone
    noise = rng.standard_normal(len(x))
    snr_db = rng.uniform(15, 35)
    x = x + noise * np.sqrt(np.mean(x ** 2) / 10 ** (snr_db / 10))
    return (0.89 * x / (np.max(np.abs(x)) + 1e-9)).astype(np.float32)  # -1 dBFS, as the kit's clips
