"""A back-end learned from the deployment's own enrolments: a new model version on top of a pretrained one.

The pretrained models were trained on celebrities' interviews (VoxCeleb) or Chinese and English
read speech; a bank's callers speak through its own phone lines, apps and rooms. The gallery
already holds what adaptation needs: several voiceprints per enrolled customer, labelled by
speaker for free. :func:`fit` learns a linear back-end from them:

- ``wccn`` (default): within-class covariance normalisation. Directions in which one
  speaker's voiceprints vary (channel, session, microphone) are scaled down, the others up,
  by the inverse square root of the within-speaker covariance (shrunk towards its mean
  variance so that a gallery of a few hundred speakers cannot over-fit 192 dimensions).
- ``lda``: linear discriminant analysis to at most ``dim`` directions, then WCCN in them.

The result is a new model version: an adapted embedding is ``normalise((e - mean) @ projection)``
of the base model's embedding ``e``, its id is ``<base name>+<method>@<hash of base id and the
matrices>``, so it lives in its own gallery and is calibrated on its own scale. ``voiceid adapt``
trains and evaluates it on held-back speakers of the gallery and writes the artefact only when it
is better (:mod:`shared.ops.adapt`); ``VOICEID_ADAPTATION`` names the artefact; ``voiceid reembed``
moves the gallery to it. The artefact holds two matrices and the before/after table, never a
voiceprint; it is a statistic of many speakers' voiceprints, kept like them (docs/security.md).
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shared.core.errors import PermanentError, TransientError
from shared.core.models import ModelInfo

METHODS = ("wccn", "lda")
SHRINK = 0.1  # weight of the mean variance in the within-speaker covariance (WCCN's regulariser)
MAX_LDA_DIM = 150


@dataclass(frozen=True)
class Adaptation:
    """A learned linear back-end for one base model, and what it was learned from."""

    base_model: str  # the model id whose embeddings it maps (``name@version``)
    method: str
    mean: np.ndarray = field(repr=False)
    projection: np.ndarray = field(repr=False)  # (base dim, adapted dim)
    provenance: dict = field(default_factory=dict, compare=False)  # speakers, voiceprints, evaluation, when

    @property
    def version(self) -> str:
        digest = hashlib.sha256(f"{self.base_model}|{self.method}".encode())
        digest.update(np.ascontiguousarray(self.mean, np.float32).tobytes())
        digest.update(np.ascontiguousarray(self.projection, np.float32).tobytes())
        return digest.hexdigest()[:12]

    def info(self) -> ModelInfo:
        """The adapted model's identity: its own name and version, so its gallery is its own."""
        return ModelInfo(name=f"{self.base_model.partition('@')[0]}+{self.method}", version=self.version,
                         dim=int(self.projection.shape[1]))

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """Adapted, L2-normalised embeddings of base-model embeddings (one vector or rows)."""
        x = (np.asarray(vectors, np.float64) - self.mean) @ self.projection
        norm = np.linalg.norm(x, axis=-1, keepdims=True)
        return (x / np.maximum(norm, 1e-12)).astype(np.float32)

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        meta = {"base_model": self.base_model, "method": self.method, "provenance": self.provenance}
        np.savez(buf, mean=self.mean.astype(np.float32), projection=self.projection.astype(np.float32),
                 meta=np.array(json.dumps(meta, ensure_ascii=False)))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Adaptation:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
            return cls(base_model=meta["base_model"], method=meta["method"], mean=npz["mean"],
                       projection=npz["projection"], provenance=meta.get("provenance", {}))

    @classmethod
    def load(cls, path: str | Path) -> Adaptation:
        try:
            return cls.from_bytes(Path(path).expanduser().read_bytes())
        except (OSError, ValueError, KeyError) as exc:
            raise TransientError(f"VOICEID_ADAPTATION={path}: cannot read the adaptation ({exc})",
                                 code="model.unavailable",
                                 hint="Point VOICEID_ADAPTATION at a file written by 'voiceid adapt', or unset it.") from exc


def _inverse_sqrt(cov: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(cov)
    return vectors @ np.diag(1.0 / np.sqrt(np.maximum(values, 1e-10))) @ vectors.T


def within_covariance(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The pooled within-speaker covariance of rows ``x`` (speakers with one row add nothing)."""
    centred = np.empty_like(x)
    for label in np.unique(labels):
        rows = labels == label
        centred[rows] = x[rows] - x[rows].mean(axis=0)
    return centred.T @ centred / max(len(x) - len(np.unique(labels)), 1)


def _wccn(x: np.ndarray, labels: np.ndarray, shrink: float) -> np.ndarray:
    within = within_covariance(x, labels)
    target = np.trace(within) / len(within)
    return _inverse_sqrt((1 - shrink) * within + shrink * target * np.eye(len(within)))


def fit(vectors: np.ndarray, labels: list[str] | np.ndarray, base_model: str, method: str = "wccn",
        dim: int = MAX_LDA_DIM, shrink: float = SHRINK, provenance: dict | None = None) -> Adaptation:
    """Learn the back-end from base-model voiceprints (rows of ``vectors``) labelled by speaker."""
    if method not in METHODS:
        raise PermanentError(f"unknown adaptation method {method!r}; use one of {', '.join(METHODS)}",
                             code="adapt.bad_method")
    x = np.asarray(vectors, np.float64)
    labels = np.asarray(labels)
    mean = x.mean(axis=0)
    x = x - mean
    if method == "wccn":
        projection = _wccn(x, labels, shrink)
    else:
        speakers = np.unique(labels)
        within = within_covariance(x, labels)
        target = np.trace(within) / len(within)
        within = (1 - shrink) * within + shrink * target * np.eye(len(within))
        means = np.stack([x[labels == s].mean(axis=0) for s in speakers])
        between = means.T @ means / len(speakers)
        w = _inverse_sqrt(within)
        values, vectors_ = np.linalg.eigh(w @ between @ w)
        keep = min(dim, len(speakers) - 1, x.shape[1])
        lda = w @ vectors_[:, np.argsort(values)[::-1][:keep]]
        projection = lda @ _wccn(x @ lda, labels, shrink)
    return Adaptation(base_model=base_model, method=method, mean=mean.astype(np.float32),
                      projection=projection.astype(np.float32), provenance=provenance or {})
