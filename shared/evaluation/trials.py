"""The evaluation harness: score trial lists and open-set specs with the product's own scoring path.

Every file goes through the pipeline's front end (decode, VAD, embedding; cached by
:mod:`shared.evaluation.embedcache`). The enrol side of a trial list plays the deployment's
gallery: its files (never the test files, never the labels) give the gallery
statistics, exactly as a deployment's enrolments would (:mod:`shared.scoring.stats`).
A trial whose audio the pipeline would refuse keeps its score but is rejected
(``decision`` 0) and counted as a failure to acquire.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.core.errors import PermanentError
from shared.core.settings import Settings
from shared.evaluation import metrics as evaluation
from shared.evaluation.embedcache import EmbeddingCache, FileEmbedding
from shared.scoring.bands import speaker_bands
from shared.scoring.normalization import speaker_models
from shared.scoring.stats import GalleryStats, Params, build


@dataclass(frozen=True)
class Trial:
    label: int  # 1 = same speaker
    enrol: tuple[str, ...]  # one or more files, relative to the root
    test: str


def read_trials(path: Path) -> list[Trial]:
    """VoxCeleb-format lines ``label enrol test``; ``enrol`` may join several files with ``,``."""
    trials = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 3 or parts[0] not in ("0", "1"):
            raise PermanentError(f"{path}:{n}: expected 'label enrol test' with label 0 or 1, got {line!r}",
                                 code="eval.bad_trials", hint="See `voiceid eval trials --help` for the format.")
        trials.append(Trial(label=int(parts[0]), enrol=tuple(parts[1].split(",")), test=parts[2]))
    if not trials:
        raise PermanentError(f"{path} has no trials", code="eval.bad_trials")
    return trials


def embed_all(paths: Iterable[str], root: Path, cache: EmbeddingCache,
              progress: Callable[[Iterable], Iterable] = iter) -> dict[str, FileEmbedding]:
    """Every file once, through the cache; a missing file is an error that names it."""
    out: dict[str, FileEmbedding] = {}
    for rel in progress(sorted(set(paths))):
        path = root / rel
        if not path.is_file():
            raise PermanentError(f"{path} does not exist", code="eval.missing_file",
                                 hint="Paths in the trial list are relative to --root.")
        out[rel] = cache.get(path)
    return out


def vector_of(fe: FileEmbedding, dim: int) -> np.ndarray:
    return fe.vector if fe.vector is not None else np.zeros(dim, np.float32)


def enrol_models(groups: Iterable[tuple[str, ...]], emb: dict[str, FileEmbedding]) -> tuple[list[str], np.ndarray]:
    """One speaker model per distinct enrol group (several files: the normalised mean, as the gallery does)."""
    groups = sorted(set(groups))
    dim = next(fe.vector.shape[0] for fe in emb.values() if fe.vector is not None)
    rows = [",".join(g) for g in groups]
    keys = [key for key, g in zip(rows, groups) for _ in g]
    matrix = [vector_of(emb[f], dim) for g in groups for f in g]
    uniq, models = speaker_models(np.stack(matrix), keys)
    order = {k: i for i, k in enumerate(uniq)}
    return rows, models[[order[k] for k in rows]]


@dataclass(frozen=True)
class TrialScores:
    scores: np.ndarray  # calibrated
    cosine: np.ndarray  # raw cosine (centroid of the enrol files vs the test file)
    labels: np.ndarray
    decisions: np.ndarray
    failed: np.ndarray  # the pipeline would refuse the enrol or the test audio
    stats: GalleryStats


def enrol_bands(keys: list[str], emb: dict[str, FileEmbedding]) -> list[str]:
    """Each enrol group's band, as the gallery classes a speaker (:func:`shared.scoring.bands.speaker_bands`)."""
    of = speaker_bands((k, emb[f].band, emb[f].net_speech_s) for k in keys for f in k.split(","))
    return [of[k] for k in keys]


def score_trials(trials: list[Trial], emb: dict[str, FileEmbedding], settings: Settings, model_id: str,
                 threshold: float, params: Params = Params(), min_band_speakers: int | None = None,
                 use_bands: bool = True) -> TrialScores:
    """Every trial scored as the product would: the enrol side is the gallery, bands included.

    ``use_bands`` False scores as before bands were kept (one pooled fit); ``min_band_speakers``
    moves the trust threshold of a pair class (benchmarks).
    """
    keys, models = enrol_models((t.enrol for t in trials), emb)
    bands = enrol_bands(keys, emb) if use_bands else [""] * len(keys)
    stats = build(keys, models, model_id, params=params, bands=bands,
                  min_band_speakers=min_band_speakers).tail_model(settings.score_tail)
    index = {k: i for i, k in enumerate(keys)}
    dim = models.shape[1]
    scores, cosine, failed = [], [], []
    for t in trials:
        key = ",".join(t.enrol)
        j = index[key]
        got = stats.score(vector_of(emb[t.test], dim), [key], models[[j]], emb[t.test].band, [bands[j]])[0]
        scores.append(got.score)
        cosine.append(got.cosine)
        failed.append(emb[t.test].gate(settings.min_speech_identify_s) is not None
                      or any(emb[f].gate(settings.min_speech_enroll_s) is not None for f in t.enrol))
    scores, failed = np.array(scores), np.array(failed)
    return TrialScores(scores=scores, cosine=np.array(cosine), labels=np.array([t.label == 1 for t in trials]),
                       decisions=(scores >= threshold) & ~failed, failed=failed, stats=stats)


def write_scores(path: Path, trials: list[Trial], result: TrialScores) -> None:
    """One line ``score label enrol test decision`` per trial, in the trial list's order."""
    with path.open("w") as fh:
        for t, s, d in zip(trials, result.scores, result.decisions):
            fh.write(f"{s:.6f} {t.label} {','.join(t.enrol)} {t.test} {int(d)}\n")


def verification_report(scores: np.ndarray, labels: np.ndarray, decisions: np.ndarray, failed: np.ndarray,
                        threshold: float) -> dict:
    """EER and minDCF of the scores; FAR/FRR of ``score >= threshold`` (what calibration promises) and of
    the actual decisions (where failures to acquire are rejects)."""
    return {
        "trials": int(len(labels)), "threshold": threshold,
        "eer": evaluation.eer(scores, labels), "min_dcf": evaluation.min_dcf(scores, labels, p_target=0.01),
        "at_threshold": evaluation.rates_at(scores, labels, threshold),
        "decisions": evaluation.rates_at(decisions.astype(np.float64), labels, 0.5),
        "failures_to_acquire": int(failed.sum()),
    }


def genders(root: Path) -> dict[str, str]:
    """Speaker folder -> "F"/"M", from LibriSpeech ``SPEAKERS.TXT`` files and ``F_``/``M_`` folder prefixes."""
    out: dict[str, str] = {}
    for table in root.glob("*/SPEAKERS.TXT"):
        for line in table.read_text(errors="replace").splitlines():
            cells = [c.strip() for c in line.split("|")]
            if len(cells) >= 2 and not line.startswith(";") and cells[1] in ("F", "M"):
                out[cells[0]] = cells[1]
    for folder in root.glob("*/*"):
        if folder.is_dir() and folder.name[:2] in ("F_", "M_"):
            out[folder.name] = folder.name[0]
    return out


def by_gender(trials: list[Trial], result: TrialScores, gender_of: dict[str, str], threshold: float) -> dict:
    """The verification report per gender of the test speaker, where the data says it."""
    tags = np.array([gender_of.get(Path(t.test).parent.name, "") for t in trials])
    out = {}
    for g in ("F", "M"):
        m = tags == g
        if m.any() and result.labels[m].any() and (~result.labels[m]).any():
            out[g] = verification_report(result.scores[m], result.labels[m], result.decisions[m],
                                         result.failed[m], threshold)
    return out
