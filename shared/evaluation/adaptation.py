"""Is the learned back-end better? Scored on held-back speakers of the deployment's own gallery.

The gallery's speakers are split into ``folds`` by a stable hash of their key. For each fold,
the back-end is learned on the voiceprints of the other folds only, and both the base and the
adapted embeddings are scored the product's way (:func:`shared.scoring.stats.build` on every
enrolled speaker as the gallery, AS-norm, calibration): every held-back speaker enrols
with the first half of their voiceprints and each of the rest is a probe against every
held-back enrolment (their own: a target trial; the others': impostor trials); the other folds'
speakers enrol the same way, so the gallery statistics see models like those scored. Scores of all
folds are pooled, so every speaker is held back exactly once and no score comes from a
back-end that saw its speaker.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from shared.embedding.adaptation import Adaptation, fit
from shared.evaluation import metrics as evaluation
from shared.scoring.calibration import threshold_for
from shared.scoring.normalization import speaker_models
from shared.scoring.stats import build

FAR_WINDOW = (0.25, 2.0)  # percent: where a calibrated operating point must land (docs/accuracy.md)


def fold_of(key: str, folds: int) -> int:
    return int.from_bytes(hashlib.sha256(f"adapt|{key}".encode()).digest()[:4], "big") % folds


@dataclass(frozen=True)
class Side:
    """One side's pooled held-back scores (base or adapted)."""

    scores: np.ndarray
    labels: np.ndarray

    def report(self, target_far: float) -> dict:
        at = evaluation.rates_at(self.scores, self.labels, threshold_for(target_far))
        return {"eer": evaluation.eer(self.scores, self.labels),
                "min_dcf": evaluation.min_dcf(self.scores, self.labels, p_target=0.01),
                "far": at["far"], "far_ci": at["far_ci"], "frr": at["frr"], "targets": at["targets"],
                "non_targets": at["non_targets"]}


def held_back_trials(vectors: np.ndarray, keys: Sequence[str]) -> tuple[list[str], np.ndarray, list[tuple[int, str]]]:
    """Enrolment models (first half of each speaker's voiceprints) and the probes: (row, speaker key)."""
    by_key: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        by_key.setdefault(k, []).append(i)
    enrol_rows, enrol_keys, probes = [], [], []
    for k, rows in sorted(by_key.items()):
        half = max(1, len(rows) // 2)
        enrol_rows += rows[:half]
        enrol_keys += [k] * half
        probes += [(r, k) for r in rows[half:]]
    names, models = speaker_models(vectors[enrol_rows], enrol_keys)
    return names, models, probes


def score_side(train: np.ndarray, train_keys: Sequence[str], held: np.ndarray, held_keys: Sequence[str],
               model_id: str) -> tuple[list[float], list[bool]]:
    """Scores of the held-back trials, the product's way.

    The gallery is everyone enrolled: the training speakers and the held-back speakers' enrolments
    (in a deployment both are enrolled customers; only the back-end must not have seen the held-back
    ones). Every speaker model is made like the held-back enrolments (the first half of each one's
    voiceprints), so that the gallery's impostor pairs and the scored trials are alike.
    """
    train_names, train_models, _ = held_back_trials(train, list(train_keys))
    names, models, probes = held_back_trials(held, held_keys)
    stats = build(train_names + names, np.vstack([train_models, models]), model_id)
    scores, labels = [], []
    for row, speaker in probes:
        for s in stats.score(held[row], names, models):
            scores.append(s.score)
            labels.append(s.key == speaker)
    return scores, labels


def evaluate(vectors: np.ndarray, keys: Sequence[str], base_model: str, method: str = "wccn", folds: int = 5,
             progress: Callable = iter) -> tuple[Side, Side]:
    """Pooled held-back scores of the base model and of the back-end learned without each fold."""
    keys = list(keys)
    fold = np.array([fold_of(k, folds) for k in keys])
    base_s, base_l, adapted_s, adapted_l = [], [], [], []
    for f in progress(range(folds)):
        train, held = fold != f, fold == f
        if not held.any() or not train.any():
            continue
        train_keys, held_keys = [k for k, t in zip(keys, train) if t], [k for k, h in zip(keys, held) if h]
        s, lab = score_side(vectors[train], train_keys, vectors[held], held_keys, base_model)
        base_s += s
        base_l += lab
        learned: Adaptation = fit(vectors[train], train_keys, base_model, method)
        s, lab = score_side(learned.apply(vectors[train]), train_keys, learned.apply(vectors[held]), held_keys,
                            learned.info().id)
        adapted_s += s
        adapted_l += lab
    return (Side(np.array(base_s), np.array(base_l, bool)), Side(np.array(adapted_s), np.array(adapted_l, bool)))


def better(before: dict, after: dict, target_far: float) -> tuple[bool, str]:
    """Promote only a back-end that lowers the EER and minDCF and keeps the operating point calibrated."""
    low, high = FAR_WINDOW
    if after["eer"] >= before["eer"]:
        return False, f"EER {after['eer']:.2f} % is not below the unadapted {before['eer']:.2f} %"
    if after["min_dcf"] > before["min_dcf"]:
        return False, f"minDCF {after['min_dcf']:.3f} is above the unadapted {before['min_dcf']:.3f}"
    if not low <= after["far"] <= high:
        off = abs(np.log(max(after["far"], 1e-3) / (100 * target_far)))
        was = abs(np.log(max(before["far"], 1e-3) / (100 * target_far)))
        if off > was:
            return False, (f"FAR at the operating point {after['far']:.2f} % is outside {low}-{high} % and further "
                           f"from the target than the unadapted {before['far']:.2f} %")
    return True, f"EER {before['eer']:.2f} % -> {after['eer']:.2f} %, minDCF {before['min_dcf']:.3f} -> {after['min_dcf']:.3f}"
