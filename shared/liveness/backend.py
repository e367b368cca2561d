"""A linear back-end over fixed features of a clip: trained to tell attacks from live speech, small enough to ship.

Features are standardised (the training set's mean and spread), then a logistic regression with an
L2 penalty gives the attack log-odds; classes are weighted to count equally, however many clips
each has. Fitted with SciPy's L-BFGS on the exact loss, so training needs no library beyond the
product's own dependencies, and the result is a few hundred numbers (``to_bytes``/``from_bytes``).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize


def class_weights(is_attack: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
    """Row weights: each class sums to 0.5, and within it each group (when given) to an equal share."""
    groups = np.zeros(len(is_attack), int) if groups is None else np.asarray(groups)
    weight = np.zeros(len(is_attack))
    for cls in (False, True):
        mine = is_attack == cls
        names = np.unique(groups[mine])
        for name in names:
            rows = mine & (groups == name)
            weight[rows] = 0.5 / len(names) / rows.sum()
    return weight


@dataclass(frozen=True)
class LinearBackend:
    """``attack_score(x) = ((x - mean) / scale) @ weights + bias``: the attack log-odds of a feature row."""

    mean: np.ndarray = field(repr=False)
    scale: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)
    bias: float = 0.0
    meta: dict = field(default_factory=dict)  # what the features are and how it was trained (provenance)

    def attack_scores(self, features: np.ndarray) -> np.ndarray:
        return ((np.atleast_2d(features) - self.mean) / self.scale) @ self.weights + self.bias

    @classmethod
    def fit(cls, features: np.ndarray, is_attack: np.ndarray, l2: float = 1.0, meta: dict | None = None,
            groups: np.ndarray | None = None) -> LinearBackend:
        """Fit on feature rows; ``groups`` (a label per row, e.g. the live corpus or attack species) makes every
        group count equally within its class, so that a large source cannot outvote a small one."""
        x = np.asarray(features, np.float64)
        y = np.asarray(is_attack, bool).astype(np.float64)
        mean, scale = x.mean(axis=0), x.std(axis=0)
        scale = np.where(scale > 1e-8, scale, 1.0)
        z = (x - mean) / scale
        weight = class_weights(y.astype(bool), groups)

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            w, b = theta[:-1], theta[-1]
            logits = z @ w + b
            p = 1 / (1 + np.exp(-logits))
            nll = np.sum(weight * (np.logaddexp(0, logits) - y * logits)) + 0.5 * l2 * (w @ w) / len(y)
            grad = weight * (p - y)
            return nll, np.concatenate([z.T @ grad + l2 * w / len(y), [grad.sum()]])

        theta = minimize(loss, np.zeros(z.shape[1] + 1), jac=True, method="L-BFGS-B").x
        return cls(mean=mean.astype(np.float32), scale=scale.astype(np.float32), weights=theta[:-1].astype(np.float32),
                   bias=float(theta[-1]), meta=dict(meta or {}))

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        np.savez(buf, mean=self.mean, scale=self.scale, weights=self.weights,
                 meta=np.array(json.dumps({**self.meta, "bias": self.bias})))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> LinearBackend:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
            bias = meta.pop("bias")
            return cls(mean=npz["mean"], scale=npz["scale"], weights=npz["weights"], bias=bias, meta=meta)
