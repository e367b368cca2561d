"""Enrolment integrity: does a new file sound like the speaker it claims, and like nobody else?

Two mistakes poison a gallery silently: a file filed under the wrong person (every
later verification of that person weakens) and one person enrolled under two names
(identification then splits them). Both are checked with the same calibrated score
the matchers use, before the voiceprint is stored:

- ``mismatch``: the speaker already has voiceprints and the new file scores below the
  operating point's threshold against them. Flagged in the result, or rejected when
  ``VOICEID_ENROLL_MISMATCH=reject``.
- ``possible_duplicates``: other enrolled speakers the new file matches at the much
  stricter :data:`DUPLICATE_FAR` (1 in 10,000 impostors score that high), so that a
  large gallery does not flag one in a hundred enrolments by chance.
"""

from __future__ import annotations

import numpy as np

from shared.scoring.calibration import threshold_for
from shared.scoring.normalization import shortlist
from shared.scoring.probe import ScorableShard
from shared.scoring.stats import GalleryStats, Scored

DUPLICATE_FAR = 1e-4
NEAREST = 20  # speakers per shard scored in full: a duplicate scores far above the rest


def _scored(vector: np.ndarray, key: str, shard: ScorableShard, stats: GalleryStats, band: str) -> list[Scored]:
    """Calibrated scores of the shard's nearest speakers and of ``key`` (when it is in this shard)."""
    rows = set(shortlist(stats.cohort.center(vector), shard.centred, NEAREST))
    if key in shard.index:
        rows.add(shard.index[key])
    rows = sorted(rows)
    return stats.score(vector, [shard.keys[i] for i in rows], shard.models[rows], band, [shard.bands[i] for i in rows])


def check(vector: np.ndarray, key: str, shards: list[ScorableShard], stats: GalleryStats, target_far: float,
          band: str = "") -> dict:
    """The ``integrity`` object of an enroll result (computed before the new voiceprint is stored).

    ``band`` is the new file's (:mod:`shared.audio.bandwidth`): each speaker is scored with the fit of
    the pair of bands, as a verification would be.

    Like a 1:N search, only each shard's nearest speakers are scored in full, so the
    check costs milliseconds in a gallery of any size.
    """
    scored = {s.key: s for shard in shards for s in _scored(vector, key, shard, stats, band)}
    names = {k: n for shard in shards for k, n in shard.names.items() if k in scored}
    own = scored.pop(key, None)
    if own is None:
        status, own_score = "new_speaker", None
    else:
        own_score = round(own.score, 4)
        status = "ok" if own.score >= threshold_for(target_far) else "mismatch"
    dup_threshold = threshold_for(DUPLICATE_FAR)
    dups = sorted((s for s in scored.values() if s.score >= dup_threshold), key=lambda s: -s.score)
    return {"status": status, "score": own_score, "threshold": round(threshold_for(target_far), 4),
            "possible_duplicates": [{"speaker": names[s.key], "score": round(s.score, 4)} for s in dups[:5]]}
