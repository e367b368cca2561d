"""Step-up: a verification the voice and the detector should not decide alone asks for a challenge instead.

No feature obtainable offline separates unseen generators from live callers (docs/accuracy.md), so the
presentation-attack detector is not trusted to refuse honest customers or to let clones through on its
own. What does not depend on having heard the generator is the challenge (:mod:`shared.pipeline.challenge`):
a replayed recording or a clone made in advance does not hold digits nobody knew. ``VOICEID_CHALLENGE``:

- ``off``: today's decisions (accept or reject; ``VOICEID_LIVENESS`` alone decides what an attack does);
- ``risk`` (default): a verification whose liveness is ``attack`` or ``inconclusive``, or whose score sits in
  the grey band (at or above the threshold of ``VOICEID_CHALLENGE_GREY_FAR``, below the accept point),
  answers ``decision: "challenge"`` with a fresh challenge in ``step_up``; a score below the grey band is a
  reject whatever the detector says (a challenge cannot make a different voice the claimed one);
- ``always``: every verification that is not a reject asks for a challenge.

A step-up is not a failure (it does not count against the lockout); a failed or expired answer does. At most
``VOICEID_CHALLENGE_MAX`` challenges are issued per claim per lockout window; past that the verification is a
reject (``reason: "challenge_limit"``) and counts. The answer to a step-up is scored on its own recording:
accepted at the accept point, or from the grey band's bottom when the step-up was asked for the grey band
(two recordings in the band, the second holding the challenge's digits, instead of one above the point).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from shared.core.names import speaker_key
from shared.core.records import MatchJob
from shared.core.settings import Settings
from shared.pipeline import challenge, lockout
from shared.scoring.calibration import threshold_for
from shared.scoring.decisions import verify_decision
from shared.storage.base import Storage

GREY_BAND = "score.grey_band"


@dataclass(frozen=True)
class Outcome:
    """A verification's decision (accept, reject or challenge) and why a challenge is asked for."""

    decision: str
    reasons: tuple[str, ...] = ()


def grey_bottom(settings: Settings) -> float:
    """The calibrated score from which a verification is in the grey band (or, answering its step-up, accepted)."""
    return threshold_for(settings.challenge_grey_far)


def decide(score: float | None, threshold: float, grey: float, liveness: str | None, policy: str,
           answered: dict | None = None) -> Outcome:
    """The verification's outcome (pure). ``answered``: the ``challenge`` object of a matched answer, if any."""
    if answered is not None:  # an answer decides on its own recording; a mismatch never gets this far
        floor = grey if GREY_BAND in answered.get("reasons", ()) else threshold
        return Outcome("accept" if score is not None and score >= floor else "reject")
    plain = verify_decision(score, threshold)
    if policy == "off" or score is None or score < grey:
        return Outcome(plain)
    reasons = ["policy.always"] if policy == "always" else []
    if liveness in ("attack", "inconclusive"):
        reasons.append(f"liveness.{liveness}")
    if score < threshold:
        reasons.append(GREY_BAND)
    return Outcome("challenge", tuple(reasons)) if reasons else Outcome(plain)


def nonce_for(request_id: str) -> str:
    """The step-up's nonce, fixed by the request: a redelivered or doubly finished fan-in issues one challenge."""
    return hashlib.sha256(f"step-up|{request_id}".encode()).hexdigest()[:32]


def require(storage: Storage, job: MatchJob, reasons: tuple[str, ...], settings: Settings) -> dict | None:
    """Issue the step-up's challenge and return the result's ``step_up`` object (no digits: results keep them out);
    None past ``VOICEID_CHALLENGE_MAX`` challenges for the claim in the lockout window."""
    claimed = job.claimed or ""
    if not lockout.note_challenge(storage, speaker_key(claimed), job.request_id, settings):
        return None
    issued = challenge.issue(storage, claimed, settings, nonce=nonce_for(job.request_id), reasons=reasons)
    public = issued.public(claimed)
    return {"nonce": issued.nonce, "reasons": list(reasons), "expires_at": public["expires_at"],
            "upload_as": public["upload_as"]}
