"""Channels, simulated in numpy: phone lines, rooms, stationary noise and babble.

Three users need the same acoustics: the liveness detector's training (replays and phone lines
it must not mistake for attacks, :mod:`shared.liveness.augment`), the evaluation's hard
conditions (:mod:`shared.evaluation.conditions`, which adds the real codecs through ffmpeg), and
the measurement of channel-degraded enrolment copies as training data for ``voiceid adapt``
(:func:`channel_copy`, ``bench.adapt_channels``; measured worse on unseen channels, so adapt does
not use them: docs/accuracy.md). Everything here is deterministic given the random generator
passed in, so every caller can rebuild the same audio.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.signal import butter, fftconvolve, resample_poly, sosfilt

SAMPLE_RATE = 16_000
PEAK = 0.89  # -1 dBFS, the level of the kit's clips: no simulation clips


def power(x: np.ndarray) -> float:
    return float(np.mean(np.asarray(x, np.float64) ** 2)) + 1e-12


def peak(x: np.ndarray, level: float = PEAK) -> np.ndarray:
    """Scaled to ``level`` of full scale, as float32 samples."""
    return (level * x / (np.max(np.abs(x)) + 1e-12)).astype(np.float32)


def band(samples: np.ndarray, low: float, high: float, order: int = 4) -> np.ndarray:
    """A Butterworth band-pass (``order`` per edge) at 16 kHz."""
    sos = butter(order, [low, min(high, SAMPLE_RATE / 2 - 100)], btype="band", fs=SAMPLE_RATE, output="sos")
    return sosfilt(sos, np.asarray(samples, np.float64))


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``speech`` plus ``noise`` scaled so that their power ratio is ``snr_db`` (noise tiled or cut to length)."""
    noise = np.resize(np.asarray(noise, np.float64), len(speech))
    gain = np.sqrt(power(speech) / (power(noise) * 10 ** (snr_db / 10)))
    return np.asarray(speech, np.float64) + gain * noise


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Stationary 1/f noise (equal power per octave, like most environmental noise), unit power."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spectrum), dtype=np.float64)
    f[0] = 1.0
    x = np.fft.irfft(spectrum / np.sqrt(f), n)
    return x / np.sqrt(power(x))


def babble(pool: Sequence[np.ndarray], talkers: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``talkers`` voices from ``pool``, each from a random offset, at equal power; unit power."""
    picks = rng.choice(len(pool), size=min(talkers, len(pool)), replace=False)
    out = np.zeros(n)
    for i in picks:
        clip = np.asarray(pool[i], np.float64)
        start = int(rng.integers(0, max(1, len(clip) - n))) if len(clip) > n else 0
        part = np.resize(clip[start:start + n], n)
        out += part / np.sqrt(power(part))
    return out / np.sqrt(power(out))


def room_response(rng: np.random.Generator, rt60_s: float, reflections: float = 0.3,
                  gap_s: float = 0.002) -> np.ndarray:
    """A synthetic impulse response: the direct sound, then exponentially decaying noise (-60 dB at ``rt60_s``).

    ``reflections`` sets the diffuse tail's level against the direct sound; the first reflections
    arrive ``gap_s`` after it. Unit energy.
    """
    length = int(rt60_s * SAMPLE_RATE)
    t = np.arange(length) / SAMPLE_RATE
    tail = rng.standard_normal(length) * np.exp(-6.9 * t / rt60_s) * reflections
    tail[: int(gap_s * SAMPLE_RATE)] = 0
    tail[0] = 1.0
    return tail / np.linalg.norm(tail)


def in_room(samples: np.ndarray, rir: np.ndarray) -> np.ndarray:
    return fftconvolve(np.asarray(samples, np.float64), rir)[: len(samples)]


def mu_law(x: np.ndarray, mu: float = 255.0) -> np.ndarray:
    """G.711 mu-law companding and 8-bit quantisation, back to linear (the phone network's codec)."""
    y = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    y = np.round(y * 127) / 127
    return np.sign(y) * np.expm1(np.abs(y) * np.log1p(mu)) / mu


def telephone(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 16 kHz clip as heard over a phone line: 300-3,400 Hz, 8 kHz sampling, mu-law, line noise; back at 16 kHz."""
    x = band(samples, rng.uniform(200, 350), rng.uniform(3200, 3500))
    narrow = resample_poly(x, 1, 2)
    narrow = 0.7 * narrow / (np.max(np.abs(narrow)) + 1e-9)
    narrow = mu_law(narrow + rng.standard_normal(len(narrow)) * 10 ** (-rng.uniform(35, 50) / 20) * 0.7)
    return peak(resample_poly(narrow, 2, 1)[: len(x)])


# Channel-degraded copies of an enrolment, one per family (bench.adapt_channels). The draws are wide and fixed
# in advance (nothing here was chosen on a measured condition); the evaluation's conditions use
# other generators (real codecs through ffmpeg, other voices for babble, fixed SNRs and rooms).
COPY_FAMILIES = ("phone", "noise", "babble", "room")


def channel_copy(samples: np.ndarray, family: str, rng: np.random.Generator,
                 voices: Sequence[np.ndarray] = ()) -> np.ndarray:
    """One channel-degraded copy of a clean 16 kHz clip: ``family`` is one of :data:`COPY_FAMILIES`.

    ``voices``: other speakers' clips for babble (a deployment's other enrolments); babble needs two.
    """
    x = np.asarray(samples, np.float64)
    if family == "phone":
        return telephone(x, rng)
    if family == "noise":
        return peak(mix_at_snr(x, pink_noise(len(x), rng), rng.uniform(0, 15)))
    if family == "babble":
        if len(voices) < 2:
            raise ValueError("babble copies need at least two other voices")
        return peak(mix_at_snr(x, babble(voices, int(rng.integers(2, 6)), len(x), rng), rng.uniform(0, 15)))
    if family == "room":
        return peak(in_room(x, room_response(rng, rng.uniform(0.3, 1.0))))
    raise ValueError(f"unknown channel family {family!r}; use one of {', '.join(COPY_FAMILIES)}")
