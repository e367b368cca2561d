"""A presentation-attack detector as the product uses it: audio in, an attack score and a decision out.

``attack_score`` grows with how attack-like the clip is; the decision is ``attack`` at or above
``attack_from``, ``live`` below ``live_below``, and ``inconclusive`` in between (an empty band
for a detector with one threshold). The off-the-shelf AASIST's natural operating point is 0 on
its logit difference (spoof logit minus bona fide logit).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.liveness import aasist


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
