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

from shared.audio.channels import band, in_room, peak, room_response


def simulate_replay(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One simulated replay of a live 16 kHz clip: loudspeaker, room, microphone and noise, peak-normalised."""
    x = np.asarray(samples, np.float64)
    x = band(x, rng.uniform(120, 400), rng.uniform(4000, 7500))  # loudspeaker
    x = np.tanh(rng.uniform(1.0, 4.0) * x / (np.max(np.abs(x)) + 1e-9))  # its saturation
    x = in_room(x, room_response(rng, rng.uniform(0.2, 0.9)))
    x = band(x, rng.uniform(60, 200), rng.uniform(6000, 7900))  # microphone
    noise = rng.standard_normal(len(x))
    snr_db = rng.uniform(15, 35)
    x = x + noise * np.sqrt(np.mean(x ** 2) / 10 ** (snr_db / 10))
    return peak(x)
