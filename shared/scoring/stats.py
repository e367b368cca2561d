"""The gallery's normalisation statistics: built from the enrolled speakers, stored beside the shards.

One blob per model (``gallery/<model>/<version>/stats.npz``) holds the cohort (the
gallery mean and up to 500 centred speaker models) and the calibration fitted to
this gallery's impostor scores. Enrolment rebuilds it after a new voiceprint when
:func:`refresh_due` says so: always in the cold-start range, and otherwise once the
statistics trail the gallery by 1 % of its voiceprints or by ``VOICEID_STATS_REFRESH_S``.
A rebuild costs 0.3-2 s (the impostor sample grows to 200 speakers), and makes every match
worker re-centre the shards it holds, so a bulk ingestion must not pay it per file; one
voiceprint more or less does not move the statistics of hundreds of speakers.

Cold start, decided by measurement (``bench/gallery_size.py``, docs/accuracy.md): a
gallery of fewer than :data:`MIN_GALLERY_SPEAKERS` speakers has too few impostor
pairs to estimate from, so the small cohort that ships with the project for the
model (``shared/cohorts/``, made from the team kit by ``bench/make_cohort.py``;
provenance inside) is added to it. Below :data:`TRUSTED_FROM` speakers the estimate
is still too loose for the false-accept rate to mean what it says, so scores are
lowered by the margin measured for that gallery size (``<model>.cold_start.json``
beside the cohort): the product fails closed until the gallery can calibrate itself.
Without a shipped cohort or margins the nominal calibration (AS-norm's standard
normal) is used and results say so (``cold_start`` is true, ``margin`` 0).
"""

from __future__ import annotations

import io
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from shared.core.models import model_parts
from shared.scoring.bands import UNKNOWN, fit_pair_classes, pair_class
from shared.scoring.calibration import Calibration
from shared.scoring.normalization import (
    COHORT_TOP_N,
    PROBE_DROP,
    Cohort,
    impostor_pairs,
    impostor_scores,
    score,
)

MIN_GALLERY_SPEAKERS = 5  # below this, the shipped cohort joins the gallery's statistics
TRUSTED_FROM = 10  # from this many speakers on, the gallery's own statistics hold the operating point
REFRESH_ALWAYS_BELOW = TRUSTED_FROM  # speakers: below this every enrolment rebuilds (the cold-start margin moves)
REFRESH_LAG = 0.01  # rebuild at once when the statistics miss this share of the gallery's voiceprints
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
    margin: float = 0.0  # subtracted from every score while the gallery is too small (cold start)
    voiceprints: int = 0  # enrolled voiceprints the statistics were built from (0: not recorded)
    built_at: float = 0.0  # when (Unix time)
    band_fits: dict[str, Calibration] = field(default_factory=dict)  # pair class -> its own fit (shared.scoring.bands)
    band_trusted: frozenset[str] = frozenset()  # the classes with enough speakers to score on their own fit
    band_speakers: dict[str, int] = field(default_factory=dict)  # enrolled speakers per band

    @property
    def cold_start(self) -> bool:
        return self.speakers < TRUSTED_FROM

    def tail_model(self, kind: str) -> GalleryStats:
        """These statistics with the tail model ``kind`` (``VOICEID_SCORE_TAIL``): ``gpd`` keeps the
        extreme-value tails fitted where the gallery has the pairs, ``normal`` scores with the normal fits alone."""
        if kind == "gpd":
            return self
        return replace(self, calibration=self.calibration.without_tail(),
                       band_fits={c: f.without_tail() for c, f in self.band_fits.items()})

    def evidence(self, snorm: float, probe_band: str = UNKNOWN, enrol_band: str = UNKNOWN) -> tuple[float, str]:
        """The calibrated score of a normalised score, and the pair class whose fit decided it (``""``: pooled).

        A trusted class scores on its own fit; a sparse one on the pooled fit or its own, whichever
        is stricter; an unknown band or a class without a fit on the pooled fit.
        """
        pooled = self.calibration.evidence(snorm)
        cls = pair_class(probe_band, enrol_band)
        fit = self.band_fits.get(cls)
        if fit is None:
            return pooled, UNKNOWN
        own = fit.evidence(snorm)
        if cls in self.band_trusted or own < pooled:
            return own, cls
        return pooled, UNKNOWN

    def score(self, probe: np.ndarray, keys: Sequence[str], models: np.ndarray, probe_band: str = UNKNOWN,
              bands: Sequence[str] | None = None) -> list[Scored]:
        """Calibrated scores of ``probe`` against speaker models (rows of ``models``, aligned with ``keys``).

        ``probe_band`` and ``bands`` (the band of each row) choose each score's calibration
        (:meth:`evidence`); without them the pooled fit scores it.
        """
        out = []
        for j, n in enumerate(score(probe, keys, models, self.cohort, self.params.top_n, self.params.drop)):
            value, _ = self.evidence(n.snorm, probe_band, bands[j] if bands is not None else UNKNOWN)
            out.append(Scored(key=n.key, cosine=n.cosine, snorm=n.snorm, score=value - self.margin))
        return out

    def summary(self, probe_band: str = UNKNOWN) -> dict:
        """What a result says about the statistics it was scored with (and the fits a probe of this band meets)."""
        out = {"speakers": self.speakers, "cohort": len(self.cohort.keys), **self.calibration.as_dict(),
               "cold_start": self.cold_start, "margin": round(self.margin, 3)}
        if self.band_speakers:
            out["bands"] = dict(self.band_speakers)
        fits = {c: {**f.as_dict(), "trusted": c in self.band_trusted} for c, f in self.band_fits.items()
                if probe_band and probe_band in c.split("+")}
        if fits:
            out["band_fits"] = fits
        return out

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        meta = {"calibration": asdict(self.calibration), "speakers": self.speakers, "model_id": self.model_id,
                "cohort_keys": list(self.cohort.keys), "params": {"top_n": self.params.top_n, "drop": self.params.drop},
                "margin": self.margin, "parts": list(self.cohort.parts), "voiceprints": self.voiceprints,
                "built_at": self.built_at, "band_fits": {c: asdict(f) for c, f in self.band_fits.items()},
                "band_trusted": sorted(self.band_trusted), "band_speakers": self.band_speakers}
        np.savez(buf, mean=self.cohort.mean, models=self.cohort.models, meta=np.array(json.dumps(meta)))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> GalleryStats:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
            cohort = Cohort(mean=npz["mean"], models=npz["models"], keys=tuple(meta["cohort_keys"]),
                            parts=tuple(meta.get("parts", model_parts(meta["model_id"]))))
        return cls(cohort=cohort, calibration=Calibration.from_dict(meta["calibration"]),
                   speakers=meta["speakers"], model_id=meta["model_id"], params=Params(**meta.get("params", {})),
                   margin=meta.get("margin", 0.0), voiceprints=meta.get("voiceprints", 0),
                   built_at=meta.get("built_at", 0.0),
                   band_fits={c: Calibration.from_dict(f) for c, f in meta.get("band_fits", {}).items()},
                   band_trusted=frozenset(meta.get("band_trusted", ())), band_speakers=meta.get("band_speakers", {}))


def refresh_due(stats: GalleryStats, speakers: int, voiceprints: int, max_age_s: float,
                now: float | None = None) -> bool:
    """Should an enrolment that leaves the gallery at this size rebuild the statistics?

    Yes in the cold-start range (the margin depends on the speaker count), when the
    statistics miss at least :data:`REFRESH_LAG` of the voiceprints (so every enrolment
    while the gallery has fewer than 100 voiceprints), or when they miss any and are older
    than ``max_age_s``. So they never trail a gallery by more than 1 %, and a burst's last
    voiceprints join them with the first enrolment after the window.
    """
    lag = abs(voiceprints - stats.voiceprints)
    if speakers < REFRESH_ALWAYS_BELOW or stats.voiceprints == 0 or lag >= REFRESH_LAG * voiceprints:
        return True
    return lag > 0 and (time.time() if now is None else now) - stats.built_at >= max_age_s


def shipped_cohort(model_id: str) -> tuple[list[str], np.ndarray] | None:
    """The cold-start cohort that ships for ``model_id`` (keys, un-centred models), if any."""
    path = COHORT_DIR / f"{model_id.replace('@', '__')}.npz"
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as npz:
        return [f"cohort:{k}" for k in json.loads(str(npz["keys"]))], npz["models"].astype(np.float32)


def cold_start_margin(model_id: str, speakers: int) -> float:
    """The score margin measured for a gallery of ``speakers`` (0 when trusted or not measured).

    Sizes between measured ones take the margin of the next smaller measured size (the larger one).
    """
    path = COHORT_DIR / f"{model_id.replace('@', '__')}.cold_start.json"
    if speakers >= TRUSTED_FROM or not path.is_file():
        return 0.0
    margins = {int(n): float(m) for n, m in json.loads(path.read_text())["margins"].items()}
    smaller = [n for n in margins if n <= max(speakers, min(margins))]
    return margins[max(smaller)]


def build(keys: Sequence[str], models: np.ndarray, model_id: str,
          fallback: tuple[list[str], np.ndarray] | None = None, params: Params = Params(),
          min_speakers: int = MIN_GALLERY_SPEAKERS, margins: bool = True, voiceprints: int = 0,
          bands: Sequence[str] | None = None, min_band_speakers: int | None = None) -> GalleryStats:
    """Statistics of a gallery given one model per enrolled speaker.

    ``fallback`` (default: the shipped cohort of ``model_id``) joins in only while the
    gallery has fewer than ``min_speakers`` speakers; ``margins`` applies the measured
    cold-start margin (benchmarks move the boundary and measure without margins).
    ``bands`` (one per key, ``""`` unknown) adds a fit per pair class of bands
    (:mod:`shared.scoring.bands`; ``min_band_speakers`` moves its threshold for benchmarks).
    """
    keys = list(keys)
    bands = [UNKNOWN] * len(keys) if bands is None else list(bands)
    source = "gallery"
    if len(keys) < min_speakers:
        extra = shipped_cohort(model_id) if fallback is None else fallback
        if extra is not None and len(extra[0]):
            keys, models = keys + list(extra[0]), np.vstack([models, extra[1]]) if len(keys) else extra[1]
            bands += [UNKNOWN] * len(extra[0])
            source = "gallery+cohort"
    dim = models.shape[1] if models.ndim == 2 else 0
    if len(keys) == 0:
        return GalleryStats(cohort=Cohort(mean=np.zeros(dim, np.float32), models=np.zeros((0, dim), np.float32),
                                          parts=model_parts(model_id)),
                            calibration=Calibration(), speakers=0, model_id=model_id, params=params,
                            margin=cold_start_margin(model_id, 0) if margins else 0.0, built_at=time.time())
    cohort = Cohort.from_models(keys, models, parts=model_parts(model_id))
    groups = bands if any(bands) else None
    impostors = impostor_scores(keys, models, cohort, params.top_n, params.drop, groups=groups)
    calibration = Calibration.fit(impostors, source)
    band_fits, trusted = fit_pair_classes(impostors, impostor_pairs(keys, groups=groups), bands, source,
                                          **({} if min_band_speakers is None else {"min_speakers": min_band_speakers}))
    enrolled = [i for i, k in enumerate(keys) if not k.startswith("cohort:")]
    per_band = Counter(bands[i] for i in enrolled if bands[i])
    return GalleryStats(cohort=cohort, calibration=calibration, speakers=len(enrolled), model_id=model_id,
                        params=params, margin=cold_start_margin(model_id, len(enrolled)) if margins else 0.0,
                        voiceprints=voiceprints, built_at=time.time(), band_fits=band_fits,
                        band_trusted=frozenset(trusted), band_speakers=dict(sorted(per_band.items())))
