"""Channels, simulated: replays of live speech, and any clip over a telephone line.

A detector must catch attacks nobody synthesised for it, and must not learn the channel instead of
the attack. :func:`simulate_replay` makes replays from live speech; :func:`telephone` puts a clip,
live or attack, through a narrow-band phone line, so that "sounds like a phone call" stops meaning
"live" (the kit's live speech includes 8 kHz callers; most of its attacks are wide-band).

A replay keeps a live voice and adds a playback chain: a small loudspeaker (band-limited, a little
saturated), a room (reverberation), a microphone (its own band limits and noise), often a codec.
:func:`simulate_replay` builds one from a live clip with numpy and SciPy alone, each part drawn at
random from ``rng``; training uses it on the live speech of the training set only, so that no
held-out replay simulator (the kit's ``replay-sim``) or held-out speaker ever reaches training.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, fftconvolve, resample_poly, sosfilt

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


def mu_law(x: np.ndarray, mu: float = 255.0) -> np.ndarray:
    """G.711 mu-law companding and 8-bit quantisation, back to linear (the phone network's codec)."""
    y = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    y = np.round(y * 127) / 127
    return np.sign(y) * np.expm1(np.abs(y) * np.log1p(mu)) / mu


def telephone(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 16 kHz clip as heard over a phone line: 300-3,400 Hz, 8 kHz sampling, mu-law, line noise; back at 16 kHz."""
    x = np.asarray(samples, np.float64)
    x = _band(x, rng.uniform(200, 350), rng.uniform(3200, 3500))
    narrow = resample_poly(x, 1, 2)
    narrow = 0.7 * narrow / (np.max(np.abs(narrow)) + 1e-9)
    narrow = mu_law(narrow + rng.standard_normal(len(narrow)) * 10 ** (-rng.uniform(35, 50) / 20) * 0.7)
    out = resample_poly(narrow, 2, 1)[: len(x)]
    return (0.89 * out / (np.max(np.abs(out)) + 1e-9)).astype(np.float32)
