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

from .calibration import threshold_for
from .gallery import Shard, models_of
from .gallerystats import GalleryStats

DUPLICATE_FAR = 1e-4


def check(vector: np.ndarray, key: str, shards: list[Shard], stats: GalleryStats, target_far: float) -> dict:
    """The ``integrity`` object of an enroll result (computed before the new voiceprint is stored)."""
    keys, models = models_of(shards, len(vector))
    names = {e["key"]: e["speaker"] for sh in shards for e in sh.entries}
    scored = {s.key: s for s in stats.score(vector, keys, models)}
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
