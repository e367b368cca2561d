"""The gallery's normalisation statistics: built from the enrolled speakers, stored beside the shards.

One blob per model (``gallery/<model>/<version>/stats.npz``) holds the cohort (the
gallery mean and up to 500 centred speaker models) and the calibration fitted to
this gallery's impostor scores. Enrolment rebuilds it after every new voiceprint,
so every match worker scores with the statistics of the gallery as it is now.

Cold start: a gallery of fewer than :data:`MIN_GALLERY_SPEAKERS` speakers has too
few impostor pairs to estimate from, so the small cohort that ships with the
project for the model (``shared/cohorts/``, made from the team kit by
``bench/make_cohort.py``; provenance inside) is added to it. Without one, the
nominal calibration (AS-norm's standard normal) is used and results say so.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .calibration import Calibration
from .normalization import COHORT_TOP_N, PROBE_DROP, Cohort, impostor_scores, score

MIN_GALLERY_SPEAKERS = 5
COHORT_DIR = Path(__file__).resolve().parent / "cohorts"


@dataclass(frozen=True)
class Scored:
    """A probe against one enrolled speaker, on every scale."""

    key: str
    cosine: float
    snorm: float
    score: float  # calibrated: -log10(estimated false-accept rate)


@dataclass(frozen=True)
class Params:
    """The normalisation's knobs (chosen in bench/accuracy.py, leaving each corpus out in turn)."""

    top_n: int = COHORT_TOP_N
    drop: int = PROBE_DROP


@dataclass(frozen=True)
class GalleryStats:
    cohort: Cohort = field(repr=False)
    calibration: Calibration
    speakers: int  # enrolled speakers the statistics were built from
    model_id: str = ""
    params: Params = Params()

    def score(self, probe: np.ndarray, keys: Sequence[str], models: np.ndarray) -> list[Scored]:
        """Calibrated scores of ``probe`` against speaker models (rows of ``models``, aligned with ``keys``)."""
        return [Scored(key=n.key, cosine=n.cosine, snorm=n.snorm, score=self.calibration.evidence(n.snorm))
                for n in score(probe, keys, models, self.cohort, self.params.top_n, self.params.drop)]

    def summary(self) -> dict:
        """What a result says about the statistics it was scored with."""
        return {"speakers": self.speakers, "cohort": len(self.cohort.keys), **self.calibration.as_dict()}

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        meta = {"calibration": asdict(self.calibration), "speakers": self.speakers, "model_id": self.model_id,
                "cohort_keys": list(self.cohort.keys), "params": {"top_n": self.params.top_n, "drop": self.params.drop}}
        np.savez(buf, mean=self.cohort.mean, models=self.cohort.models, meta=np.array(json.dumps(meta)))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> GalleryStats:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
            cohort = Cohort(mean=npz["mean"], models=npz["models"], keys=tuple(meta["cohort_keys"]))
        cal = meta["calibration"]
        return cls(cohort=cohort, calibration=Calibration(mean=cal["mean"], std=cal["std"], pairs=cal["pairs"],
                                                          source=cal["source"]),
                   speakers=meta["speakers"], model_id=meta["model_id"], params=Params(**meta.get("params", {})))


def shipped_cohort(model_id: str) -> tuple[list[str], np.ndarray] | None:
    """The cold-start cohort that ships for ``model_id`` (keys, un-centred models), if any."""
    path = COHORT_DIR / f"{model_id.replace('@', '__')}.npz"
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as npz:
        return [f"cohort:{k}" for k in json.loads(str(npz["keys"]))], npz["models"].astype(np.float32)


def build(keys: Sequence[str], models: np.ndarray, model_id: str,
          fallback: tuple[list[str], np.ndarray] | None = None, params: Params = Params()) -> GalleryStats:
    """Statistics of a gallery given one model per enrolled speaker.

    ``fallback`` (default: the shipped cohort of ``model_id``) joins in only while the
    gallery has fewer than :data:`MIN_GALLERY_SPEAKERS` speakers.
    """
    keys = list(keys)
    source = "gallery"
    if len(keys) < MIN_GALLERY_SPEAKERS:
        extra = shipped_cohort(model_id) if fallback is None else fallback
        if extra is not None and len(extra[0]):
            keys, models = keys + list(extra[0]), np.vstack([models, extra[1]]) if len(keys) else extra[1]
            source = "gallery+cohort"
    dim = models.shape[1] if models.ndim == 2 else 0
    if len(keys) == 0:
        return GalleryStats(cohort=Cohort(mean=np.zeros(dim, np.float32), models=np.zeros((0, dim), np.float32)),
                            calibration=Calibration(), speakers=0, model_id=model_id, params=params)
    cohort = Cohort.from_models(keys, models)
    calibration = Calibration.fit(impostor_scores(keys, models, cohort, params.top_n, params.drop), source)
    enrolled = sum(1 for k in keys if not k.startswith("cohort:"))
    return GalleryStats(cohort=cohort, calibration=calibration, speakers=enrolled, model_id=model_id, params=params)
