"""Presentation-attack detectors as the product uses them: audio in, an attack score and a decision out.

:class:`LivenessDetector` is the product's: the shipped back-end (:mod:`shared.liveness.model`)
over the feature parts it was trained on (AASIST's read-out, the speaker model's embedding and
pooled statistics, :mod:`shared.liveness.features`), its raw log-odds calibrated into the share
of live speech that looks as attack-like (:mod:`shared.liveness.calibration`). The speaker-model
parts come from the pipeline's own embedding pass (``taps``) when it used the same model, so they
cost nothing extra; AASIST runs only when the back-end reads it.

:class:`AasistDetector` is the published network alone, the baseline it is measured against:
``attack_score`` grows with how attack-like the clip is; the decision is ``attack`` at or above
``attack_from``, ``live`` below ``live_below``, and ``inconclusive`` in between (an empty band
for a detector with one threshold). Its natural operating point is 0 on its logit difference.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.liveness import aasist
from shared.liveness.calibration import decide, threshold_for
from shared.liveness.features import PARTS, aasist_features
from shared.liveness.model import LivenessModel

AASIST_PARTS = ("aasist_hidden", "aasist_logits")


@dataclass(frozen=True)
class Liveness:
    """The ``liveness`` object of a result."""

    score: float  # -log10 of the estimated share of live speech at least this attack-like
    decision: str  # live | attack | inconclusive
    model: str
    threshold: float  # the score from which the decision is "attack"
    policy: str  # reject | flag: what the pipeline does with an attack decision
    strict: bool = False  # at or beyond the strict point, where the detector refuses alone (calibration.strict_from)

    def to_json(self) -> dict:
        return {"score": round(self.score, 3), "decision": self.decision, "model": self.model,
                "threshold": round(self.threshold, 3), "policy": self.policy, "strict": self.strict}


class LivenessDetector:
    """The shipped (or a retrained) back-end with its feature extractors; thread-safe for inference."""

    def __init__(self, model: LivenessModel, aasist_weights: Path | None = None, device: str = "cpu"):
        unknown = set(model.parts) - set(PARTS)
        if unknown:
            raise ValueError(f"the liveness model reads feature parts this code has no extractor for: {sorted(unknown)}")
        self.model = model
        self.aasist = None
        if set(model.parts) & set(AASIST_PARTS):
            name = model.provenance.get("aasist", "AASIST")
            weights = Path(aasist_weights or "") / f"{name}.pth"
            if not weights.is_file():
                raise FileNotFoundError(f"the liveness model {model.id} reads AASIST, and there are no weights at "
                                        f"{weights}")
            self.aasist = aasist.load(weights, weights.with_suffix(".conf"), device=device)

    @property
    def speaker_model(self) -> str:
        """The speaker model id whose embedding and statistics the back-end reads ('' when none)."""
        return self.model.provenance.get("speaker_model", "")

    @property
    def speaker_parts(self) -> tuple[str, ...]:
        return tuple(p for p in self.model.parts if p not in AASIST_PARTS)

    def raw_score(self, samples: np.ndarray, taps: Mapping[str, np.ndarray]) -> float:
        """The back-end's attack log-odds; ``taps`` holds the speaker-model parts of this clip."""
        missing = [p for p in self.speaker_parts if p not in taps]
        if missing:
            raise KeyError(f"the liveness model needs the speaker-model parts {missing} of this clip")
        found = dict(taps)
        if self.aasist is not None:
            row = aasist_features(samples, self.aasist)
            found.update(aasist_hidden=row[:160], aasist_logits=row[160:162])
        features = np.concatenate([np.asarray(found[p], np.float32).ravel() for p in self.model.parts])
        return float(self.model.backend.attack_scores(features)[0])

    def assess(self, samples: np.ndarray, taps: Mapping[str, np.ndarray], live_share: float,
               policy: str, refuse_margin: float = math.inf) -> Liveness:
        """The decision at ``live_share``'s point, and whether the strict point of ``refuse_margin`` is reached."""
        raw = self.raw_score(samples, taps)
        score = self.model.calibration.score(raw)
        decision = decide(score, live_share)
        return Liveness(score=score, decision=decision, model=self.model.id, threshold=threshold_for(live_share),
                        policy=policy, strict=decision == "attack" and self.model.calibration.strict(raw, refuse_margin))


@dataclass(frozen=True)
class OperatingPoint:
    """Where the decisions change on the attack-score scale."""

    attack_from: float = 0.0
    live_below: float = 0.0

    def decide(self, attack_score: float) -> str:
        if attack_score >= self.attack_from:
            return "attack"
        return "live" if attack_score < self.live_below else "inconclusive"


class AasistDetector:
    """The published AASIST (or AASIST-L) weights as a detector: ``attack_score`` = spoof - bona fide logit."""

    def __init__(self, weights_dir: Path, name: str = "AASIST", point: OperatingPoint = OperatingPoint(),
                 device: str = "cpu"):
        weights = Path(weights_dir) / f"{name}.pth"
        if not weights.is_file():
            raise FileNotFoundError(f"no AASIST weights at {weights}: the team kit's models/aasist/ has them "
                                    "(pass its folder)")
        self.model = aasist.load(weights, Path(weights_dir) / f"{name}.conf", device=device)
        self.name = f"{name.lower()}-published"
        self.point = point

    def attack_score(self, samples: np.ndarray) -> float:
        return -aasist.score(self.model, samples)

    def decide(self, attack_score: float) -> str:
        return self.point.decide(attack_score)
