"""Signal quality figures that tell an operator why a score may be weak (pure numpy)."""

from __future__ import annotations

import math

import numpy as np

from shared.audio.decode import SAMPLE_RATE

CLIP_LEVEL = 0.98  # |sample| at or above this counts as clipped (after resampling, peaks may not reach 1.0)
FRAME = SAMPLE_RATE // 50  # 20 ms
MIN_NOISE_S = 0.2


def clipping_ratio(samples: np.ndarray) -> float:
    """Fraction of samples at full scale: above ~0.1 % the recording was overdriven."""
    if samples.size == 0:
        return 0.0
    return float(np.mean(np.abs(samples) >= CLIP_LEVEL))


def _frame_power(samples: np.ndarray) -> np.ndarray:
    usable = len(samples) - len(samples) % FRAME
    if usable == 0:
        return np.array([float(np.mean(samples.astype(np.float64) ** 2))]) if samples.size else np.zeros(0)
    return np.mean(samples[:usable].astype(np.float64).reshape(-1, FRAME) ** 2, axis=1)


def snr_db(samples: np.ndarray, speech_mask: np.ndarray) -> float | None:
    """Rough SNR: power in speech vs outside it (or the quietest 10 % of frames when there is no pause).

    An estimate for operators, not a measurement: it reads None when there is no speech.
    """
    speech = samples[speech_mask]
    if speech.size == 0:
        return None
    noise = samples[~speech_mask]
    if noise.size >= MIN_NOISE_S * SAMPLE_RATE:
        noise_power = float(np.mean(noise.astype(np.float64) ** 2))
    else:
        noise_power = float(np.percentile(_frame_power(samples), 10))
    speech_power = float(np.mean(speech.astype(np.float64) ** 2))
    signal = max(speech_power - noise_power, 1e-12)
    return round(10 * math.log10(signal / max(noise_power, 1e-12)), 1)
