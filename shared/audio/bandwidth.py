"""Narrow-band or wide-band: which kind of channel an input came through, read off its spectrum.

A phone line (G.711, AMR-NB, G.723.1 ...) carries 300-3,400 Hz at 8 kHz; an app or a
headset carries up to 8 kHz and more. Speaker embeddings of the same voice move with the
channel, and so do the impostor scores of a gallery: two strangers both enrolled by phone
look more alike than a phone caller and an app enrolment. The gallery's statistics are
therefore kept per pair of bands (:mod:`shared.scoring.bands`), and every input is classed
here, once, from the audio the pipeline decoded.

The measure is the long-term spectrum of the speech frames above 4.5 kHz, in dB below its
peak between 300 and 3,400 Hz (``high_band_db``). Anything that passed through an 8 kHz
channel has nothing there but the resampler's stop band; wide-band speech has fricatives.
Measured on the team kit (``docs/accuracy.md``, "Which band a file is"): every 8 kHz corpus
file and every phone-codec file sat at -60 dB or below, every wide-band recording (read
speech, web MP3s, babble, noise, rooms) at -48 dB or above; :data:`NARROW_BELOW_DB` sits
between. A source declared at 8 kHz or less is narrow-band whatever its spectrum.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16_000
FRAME = 512  # 32 ms at 16 kHz: 31.25 Hz bins
NARROW_BELOW_DB = -55.0  # high band this far below the speech band: the input came through an 8 kHz channel
NARROW_SOURCE_HZ = 8_000  # a source at this rate or less cannot carry more than 4 kHz
SPEECH_BAND_HZ = (300.0, 3_400.0)
HIGH_BAND_HZ = (4_500.0, 7_500.0)
QUIET_FRAMES_DB = -30.0  # frames this far below the median frame energy do not shape the spectrum
NARROW, WIDE = "narrow", "wide"


def high_band_db(samples: np.ndarray, speech_mask: np.ndarray | None = None) -> float | None:
    """The high band's level (4.5-7.5 kHz) in dB below the peak of the speech band, over the speech frames.

    None when there is less than one frame of audio to measure.
    """
    x = np.asarray(samples, np.float64)
    if speech_mask is not None and int(np.count_nonzero(speech_mask)) >= FRAME:
        x = x[np.asarray(speech_mask, bool)]
    if len(x) < FRAME:
        return None
    frames = np.lib.stride_tricks.sliding_window_view(x, FRAME)[:: FRAME // 2]
    spectra = np.abs(np.fft.rfft(frames * np.hanning(FRAME), axis=1)) ** 2
    energy = spectra.sum(axis=1)
    loud = energy >= np.median(energy) * 10 ** (QUIET_FRAMES_DB / 10)
    ltas = spectra[loud].mean(axis=0) if loud.any() else spectra.mean(axis=0)
    freqs = np.fft.rfftfreq(FRAME, 1 / SAMPLE_RATE)
    speech = ltas[(freqs >= SPEECH_BAND_HZ[0]) & (freqs <= SPEECH_BAND_HZ[1])].max()
    if speech <= 0:
        return None
    high = ltas[(freqs >= HIGH_BAND_HZ[0]) & (freqs <= HIGH_BAND_HZ[1])].mean()
    return float(10 * np.log10(max(high / speech, 1e-15)))


def band_of(high_db: float | None, source_rate: int | None = None) -> str:
    """``"narrow"`` or ``"wide"``; an input that cannot be measured counts as wide-band (the statistics' default)."""
    if source_rate is not None and 0 < source_rate <= NARROW_SOURCE_HZ:
        return NARROW
    if high_db is not None and high_db < NARROW_BELOW_DB:
        return NARROW
    return WIDE
