"""The product's detector on a back-end that reads only speaker-model taps: score, decision, policy, refusal."""

from __future__ import annotations

import numpy as np
import pytest

from shared.core.errors import PermanentError
from shared.embedding.frontend import Embedded
from shared.liveness.backend import LinearBackend
from shared.liveness.calibration import LiveCalibration
from shared.liveness.detector import LivenessDetector
from shared.liveness.model import LivenessModel
from shared.pipeline.liveness_check import refuse_attack


@pytest.fixture(scope="module")
def detector() -> LivenessDetector:
    rng = np.random.default_rng(5)
    live, attacks = rng.normal(size=(300, 4)), rng.normal(size=(300, 4)) + np.array([3.0, 0, 0, 0])
    backend = LinearBackend.fit(np.vstack([live, attacks]), np.r_[np.zeros(300, bool), np.ones(300, bool)])
    held_out_live = backend.attack_scores(rng.normal(size=(999, 4)))
    model = LivenessModel(backend=backend, calibration=LiveCalibration(held_out_live), parts=("ecapa",),
                          name="liveness-unit", provenance={"speaker_model": "ecapa@x"})
    return LivenessDetector(LivenessModel.from_bytes(model.to_bytes()))


def test_live_looking_features_are_live_and_attack_looking_ones_attacks(detector):
    silence = np.zeros(16000, np.float32)
    live = detector.assess(silence, {"ecapa": np.zeros(4)}, live_share=0.02, policy="reject")
    attack = detector.assess(silence, {"ecapa": np.array([6.0, 0, 0, 0])}, live_share=0.02, policy="reject")
    assert live.decision == "live" and live.score < 1.0
    assert attack.decision == "attack" and attack.score == pytest.approx(3.0)  # the ceiling: log10(999 + 1)
    assert attack.to_json() == {"score": 3.0, "decision": "attack", "model": detector.model.id,
                                "threshold": 1.699, "policy": "reject", "strict": False}  # no margin: never strict
    assert detector.aasist is None  # a back-end without AASIST parts never loads it


def test_missing_taps_are_an_error_not_a_guess(detector):
    with pytest.raises(KeyError, match="ecapa"):
        detector.raw_score(np.zeros(16000, np.float32), {})


def test_an_attack_is_refused_only_under_the_reject_policy(detector):
    emb = Embedded(audio={"duration_s": 1.0}, timings_ms={}, vector=np.zeros(4), model=None)
    features = {"ecapa": np.array([6.0, 0, 0, 0])}
    flagged = detector.assess(np.zeros(16000, np.float32), features, live_share=0.02, policy="flag")
    refuse_attack(flagged, emb, "verify")  # flag: goes on
    refuse_attack(None, emb, "verify")  # off
    rejected = detector.assess(np.zeros(16000, np.float32), features, live_share=0.02, policy="reject")
    with pytest.raises(PermanentError) as caught:
        refuse_attack(rejected, emb, "enroll")
    err = caught.value
    assert err.code == "liveness.attack" and "not enrolled" in err.message and err.hint
    assert err.details["liveness"]["decision"] == "attack" and err.details["audio"] == {"duration_s": 1.0}
    refuse_attack(rejected, emb, "enroll", strict_only=True)  # below the strict point: a review or step-up asks


def test_the_strict_point_lies_beyond_every_live_clip_of_the_calibration(detector):
    """Strict = margin x the live scores' spread above the most attack-like one; a short way past the top is not."""
    live = detector.model.calibration.live_scores
    spread, top = float(live.std()), float(live.max())
    weight = float(detector.model.backend.attack_scores(np.array([[1.0, 0, 0, 0]]))[0]
                   - detector.model.backend.attack_scores(np.array([[0.0, 0, 0, 0]]))[0])
    base = float(detector.model.backend.attack_scores(np.zeros((1, 4)))[0])

    def at(raw: float) -> np.ndarray:  # features whose raw attack score is ``raw``
        return np.array([(raw - base) / weight, 0, 0, 0])

    near = detector.assess(np.zeros(16000, np.float32), {"ecapa": at(top + 0.5 * spread)}, 0.02, "reject", 1.0)
    far = detector.assess(np.zeros(16000, np.float32), {"ecapa": at(top + 1.5 * spread)}, 0.02, "reject", 1.0)
    assert near.decision == far.decision == "attack" and near.score == far.score  # the calibrated score is capped
    assert (near.strict, far.strict) == (False, True)
    assert not detector.assess(np.zeros(16000, np.float32), {"ecapa": at(top + 99 * spread)}, 0.02, "reject",
                               float("inf")).strict  # inf: the detector never refuses alone
    emb = Embedded(audio={}, timings_ms={}, vector=np.zeros(4), model=None)
    with pytest.raises(PermanentError, match="strict point"):
        refuse_attack(far, emb, "verify", strict_only=True)
