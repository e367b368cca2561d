"""The liveness artefact the product ships: a trained back-end, its live-speech calibration and its provenance.

One small ``.npz`` (no pickle): the back-end's standardisation and weights, the out-of-fold raw
scores of live speech that calibrate it (:mod:`shared.liveness.calibration`), and a JSON ``meta``
saying which feature parts it reads, which speaker model made the ECAPA parts, and what it was
trained on. ``voiceid liveness train`` writes it; ``VOICEID_LIVENESS_MODEL`` points at another one.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from shared.liveness.backend import LinearBackend
from shared.liveness.calibration import LiveCalibration

SHIPPED = Path(__file__).with_name("liveness-v1.npz")
FORMAT = "voiceid-liveness/1"


@dataclass(frozen=True)
class LivenessModel:
    """What a detector needs besides the feature extractors."""

    backend: LinearBackend = field(repr=False)
    calibration: LiveCalibration = field(repr=False)
    parts: tuple[str, ...]
    name: str = "liveness"
    provenance: dict = field(default_factory=dict)  # training set, counts, commit, speaker model id
    version: str = ""  # first 12 hex of the artefact's sha256, set when read

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}" if self.version else self.name

    def to_bytes(self) -> bytes:
        meta = {"format": FORMAT, "name": self.name, "parts": list(self.parts), "bias": self.backend.bias,
                "backend": self.backend.meta, "provenance": self.provenance}
        buf = io.BytesIO()
        np.savez(buf, mean=self.backend.mean, scale=self.backend.scale, weights=self.backend.weights,
                 live_scores=self.calibration.live_scores.astype(np.float32), meta=np.array(json.dumps(meta)))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> LivenessModel:
        """The model in ``data``; anything else (truncated, another file) raises ``ValueError`` saying so."""
        try:
            return cls._parse(data)
        except (zipfile.BadZipFile, KeyError, EOFError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a liveness model file ({type(exc).__name__}: {exc})") from exc

    @classmethod
    def _parse(cls, data: bytes) -> LivenessModel:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
            if meta.get("format") != FORMAT:
                raise ValueError(f"not a liveness model (format {meta.get('format')!r}, expected {FORMAT!r})")
            backend = LinearBackend(mean=npz["mean"], scale=npz["scale"], weights=npz["weights"],
                                    bias=float(meta["bias"]), meta=meta.get("backend", {}))
            return cls(backend=backend, calibration=LiveCalibration(npz["live_scores"]), parts=tuple(meta["parts"]),
                       name=meta["name"], provenance=meta.get("provenance", {}),
                       version=hashlib.sha256(data).hexdigest()[:12])

    def recalibrated(self, live_scores: np.ndarray, note: str) -> LivenessModel:
        """The same back-end, calibrated on a deployment's own live recordings instead of the training set's.

        A bank's callers come through a channel the back-end never heard, and their raw scores shift with it
        (docs/accuracy.md, "A new deployment's channel"); scores of its own live calls put the share of live
        callers refused back where ``VOICEID_LIVENESS_LIVE_SHARE`` says. The provenance keeps what it replaced.
        """
        scores = np.asarray(live_scores, np.float64)
        provenance = {**self.provenance, "calibration": f"deployment: {scores.size} live clips ({note})",
                      "recalibrated_from": self.id, "training_calibration": self.provenance.get("calibration")}
        return replace(self, calibration=LiveCalibration(scores), provenance=provenance, version="")

    @classmethod
    def read(cls, path: Path) -> LivenessModel:
        return cls.from_bytes(Path(path).read_bytes())
