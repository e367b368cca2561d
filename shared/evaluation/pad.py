"""Presentation-attack detection measures (ISO/IEC 30107-3), on attack scores (higher: more attack-like).

- **APCER** of an attack species (a generator): the share of its attack presentations accepted as
  live (attack score below the threshold). The standard reports it per species and the worst one,
  because an attacker picks the weakest spot; NIST SP 800-63B asks for at least 90 % resistance
  (APCER at most 10 %) per species.
- **BPCER**: the share of live (bona fide) presentations called attacks (score at or above it).
- **EER**: where the pooled APCER and BPCER cross; **APCER at BPCER x %**: with the threshold that
  rejects x % of live speech, how much of each species gets through.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shared.evaluation.metrics import eer as _eer


def apcer(attack_scores: np.ndarray, threshold: float) -> float:
    """Percent of attack presentations with a score below ``threshold`` (accepted as live)."""
    scores = np.asarray(attack_scores, np.float64)
    return float(100 * np.mean(scores < threshold)) if len(scores) else float("nan")


def bpcer(live_scores: np.ndarray, threshold: float) -> float:
    """Percent of live presentations with a score at or above ``threshold`` (called attacks)."""
    scores = np.asarray(live_scores, np.float64)
    return float(100 * np.mean(scores >= threshold)) if len(scores) else float("nan")


def per_species(scores: np.ndarray, is_attack: np.ndarray, species: Sequence[str], threshold: float) -> dict[str, float]:
    """APCER of each attack species at ``threshold``."""
    names = np.asarray(species)
    return {s: apcer(scores[is_attack & (names == s)], threshold) for s in sorted(set(names[is_attack]))}


def threshold_at_bpcer(live_scores: np.ndarray, target_percent: float) -> float:
    """The lowest threshold whose BPCER is at most ``target_percent``.

    A live clip is called an attack when its score is at or above the threshold, so the threshold
    sits just above the live score that must still pass: the (k+1)-th highest, where k live clips
    (``floor(n * target)``) may be called attacks.
    """
    scores = np.sort(np.asarray(live_scores, np.float64))
    allowed = int(np.floor(len(scores) * target_percent / 100 + 1e-9))
    if allowed >= len(scores):
        return float("-inf")
    return float(np.nextafter(scores[len(scores) - allowed - 1], np.inf))


def eer(scores: np.ndarray, is_attack: np.ndarray) -> float:
    """Pooled equal error rate of attacks against live speech, in percent."""
    return _eer(np.asarray(scores, np.float64), np.asarray(is_attack, bool))


def report(scores: np.ndarray, is_attack: np.ndarray, species: Sequence[str], corpora: Sequence[str],
           threshold: float) -> dict:
    """Every figure of the standard at the operating ``threshold``, and APCER at BPCER 1 % and 5 %.

    A protocol of live speech only (what a bank has when it checks its false refusals) gets BPCER alone, and one of
    attacks only APCER alone: ``eer`` is then None and ``note`` says why.
    """
    scores, is_attack = np.asarray(scores, np.float64), np.asarray(is_attack, bool)
    live, corpora = scores[~is_attack], np.asarray(corpora)
    at = per_species(scores, is_attack, species, threshold)
    both = bool(is_attack.any() and (~is_attack).any())
    note = None if both else ("live speech only: BPCER alone (no attacks to measure APCER or an EER against)"
                              if not is_attack.any() else "attacks only: APCER alone (no live speech for BPCER or an EER)")
    out = {"threshold": threshold, "eer": eer(scores, is_attack) if both else None, "note": note,
           "bpcer": bpcer(live, threshold) if len(live) else None,
           "apcer_pooled": apcer(scores[is_attack], threshold) if is_attack.any() else None, "apcer": at,
           "worst_species": max(at, key=at.get) if at else None, "worst_apcer": max(at.values()) if at else None,
           "bpcer_per_corpus": {c: bpcer(live[corpora[~is_attack] == c], threshold)
                                for c in sorted(set(corpora[~is_attack]))},
           "attacks": int(is_attack.sum()), "live": int((~is_attack).sum())}
    for target in (1, 5):
        t = threshold_at_bpcer(live, target)
        rates = per_species(scores, is_attack, species, t)
        out[f"at_bpcer_{target}"] = {"threshold": t, "bpcer": bpcer(live, t) if len(live) else None,
                                     "apcer_pooled": apcer(scores[is_attack], t) if is_attack.any() else None,
                                     "worst_apcer": max(rates.values()) if rates else None, "apcer": rates}
    return out
