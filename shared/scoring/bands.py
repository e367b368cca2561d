"""Channel-aware calibration: the gallery's impostor scores fitted per pair of bands.

Measured in docs/accuracy.md ("A gallery of mixed channels"): in a gallery enrolled half
over a phone line and half in the app, impostors on the channel the target enrolled on score
higher than impostors on the other one, so one fit of every impostor pair is right for
neither: same-channel impostors got in at 2.5-4x the target false-accept rate, cross-channel
ones almost never, and a model that separates channels sharply (CAM++) rejected 12-17 % of
genuine callers. Here every enrolled speaker has a band (``narrow`` or ``wide``, from the
inputs they enrolled with, :mod:`shared.audio.bandwidth`), every impostor pair of the gallery
a pair class (``narrow+narrow``, ``narrow+wide``, ``wide+wide``), and each class with
enough speakers on both sides gets a calibration of its own; a probe is then scored with the
fit of (its band, the claimed speaker's band).

A class with fewer than :data:`MIN_BAND_SPEAKERS` speakers of either band has too few pairs to
fit its tail on its own (with 5 speakers a side the cross-channel false-accept rate overshot to
5-9 %; from 10 a side every cell held, ``bench/channel_calibration.py``), the same size from which
a whole gallery calibrates itself (``TRUSTED_FROM``). Such a class is scored with the pooled fit,
or with its own loose fit where that is stricter, so a sparse class fails closed. A gallery of one
band therefore scores exactly as before, and so does any input of unknown band (voiceprints
enrolled before bands were recorded).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from shared.scoring.calibration import Calibration

MIN_BAND_SPEAKERS = 10  # speakers of each band a pair class needs to score on its own fit (as TRUSTED_FROM)
MIN_SPARSE_SPEAKERS = 3  # below MIN_BAND_SPEAKERS, a class fit of this many a side can only make scores stricter
UNKNOWN = ""


def pair_class(a: str, b: str) -> str:
    """The unordered pair class of two bands (``""`` when either is unknown)."""
    if not a or not b:
        return UNKNOWN
    return "+".join(sorted((a, b)))


def speaker_bands(rows: Iterable[tuple[str, str, float]]) -> dict[str, str]:
    """Each speaker's band from their voiceprints: ``(key, band, net speech s)`` rows.

    A speaker enrolled on both channels takes the band with more net speech (their model,
    the mean of their voiceprints, leans that way); voiceprints of unknown band do not vote,
    and a speaker with none known has band ``""``.
    """
    speech: dict[str, Counter] = {}
    for key, band, seconds in rows:
        votes = speech.setdefault(key, Counter())
        if band:
            votes[band] += max(float(seconds), 1e-3)
    return {k: (max(sorted(v), key=v.__getitem__) if v else UNKNOWN) for k, v in speech.items()}


def fit_pair_classes(impostors: np.ndarray, pairs: Sequence[tuple[int, int]], bands: Sequence[str],
                     source: str, min_speakers: int = MIN_BAND_SPEAKERS) -> tuple[dict[str, Calibration], set[str]]:
    """A calibration per pair class with :data:`MIN_SPARSE_SPEAKERS` speakers of each band, and the classes
    with ``min_speakers`` of each (trusted: they score on their own fit; the others only ever make a score
    stricter, :meth:`shared.scoring.stats.GalleryStats.evidence`).

    ``impostors[k]`` is the score of ``pairs[k]`` (rows into ``bands``), as
    :func:`~shared.scoring.normalization.impostor_scores` and ``impostor_pairs`` give them.
    """
    if len(pairs) == 0:
        return {}, set()
    sampled = sorted({i for pair in pairs for i in pair})
    counts = Counter(bands[i] for i in sampled)
    classes = np.array([pair_class(bands[i], bands[j]) for i, j in pairs])
    fits, trusted = {}, set()
    for cls in sorted(set(classes) - {UNKNOWN}):
        a, b = cls.split("+")
        fewest = min(counts[a], counts[b])
        if fewest >= MIN_SPARSE_SPEAKERS:
            fits[cls] = Calibration.fit(impostors[classes == cls], f"{source}:{cls}")
        if fewest >= min_speakers:
            trusted.add(cls)
    return fits, trusted
