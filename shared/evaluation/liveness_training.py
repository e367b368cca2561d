"""``voiceid liveness train``: rebuild the liveness back-end from labelled live and attack clips.

The recipe is the one measured in docs/accuracy.md (``bench/liveness_backend.py``): feature parts of
every clip (:mod:`shared.liveness.features`), optionally one simulated replay of each live clip as an
extra attack (:mod:`shared.liveness.augment`), a class-balanced linear back-end
(:mod:`shared.liveness.backend`). The calibration that turns its log-odds into the product's score
is made of *out-of-fold* scores of live speech: five back-ends, each trained without one fifth of
the live speakers, score that fifth, so the score estimates how a caller the back-end never heard
is treated (:mod:`shared.liveness.calibration`).

Clips whose licence note says they have no clear licence are left out unless asked for
(``--include-internal``): the kit marks them for internal evaluation only, and a back-end trained on
them must not be shipped. What went in is written into the artefact's provenance.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from shared.core.errors import ConfigError
from shared.embedding.embedder import Embedder
from shared.evaluation.liveness import FOLDS, Presentation, feature_rows
from shared.liveness.backend import LinearBackend
from shared.liveness.calibration import LiveCalibration
from shared.liveness.features import FeatureCache, select
from shared.liveness.model import LivenessModel

DEFAULT_PARTS = ("aasist_hidden", "ecapa")  # the measured winner (docs/accuracy.md, bench/liveness_backend.py)
L2 = 100.0  # measured: 10 over-fits the 352 features to the training speakers (held-out BPCER 10.9 % against 6.1 %)
MIN_REPLAY_S = 1.0  # shorter live clips (the 0.4 s digits) are not replayed


@dataclass(frozen=True)
class Clip:
    """A protocol row with the folder its path is relative to."""

    row: Presentation
    root: Path

    @property
    def file(self) -> Path:
        return self.root / self.row.path


def pick(clips: list[Clip], include_internal: bool) -> tuple[list[Clip], int]:
    """The clips to train on, and how many were left out for their licence."""
    kept = [c for c in clips if include_internal or c.row.shippable]
    return kept, len(clips) - len(kept)


def out_of_fold_live(x: np.ndarray, attack: np.ndarray, fold: np.ndarray, groups: np.ndarray | None,
                     live_rows: np.ndarray) -> np.ndarray:
    """The score of each of ``live_rows`` by a back-end trained without its speaker's fold (attack rows: fold -1)."""
    scores = np.zeros(len(live_rows))
    for k in range(FOLDS):
        train_rows = fold != k
        held = fold[live_rows] == k
        if held.any():
            backend = LinearBackend.fit(x[train_rows], attack[train_rows], l2=L2,
                                        groups=None if groups is None else groups[train_rows])
            scores[held] = backend.attack_scores(x[live_rows[held]])
    return scores


def commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


NARROW_BAND = ("hyke-telephone", "fsdd-digits")  # already telephone-band: no phone copy


@dataclass(frozen=True)
class Rows:
    """Training rows: features, label, speaker fold (-1 for attacks), group (species or corpus)."""

    x: np.ndarray
    attack: np.ndarray
    fold: np.ndarray
    group: np.ndarray

    @classmethod
    def of(cls, clips: list[Clip], x: np.ndarray, kind: str = "") -> Rows:
        attack = np.array([kind == "replay" or c.row.is_attack for c in clips])
        fold = np.array([-1 if c.row.is_attack else c.row.speaker_fold for c in clips])
        group = np.array([f"{kind}:" * bool(kind) + (c.row.generator if c.row.is_attack else c.row.corpus)
                          for c in clips])
        return cls(x, attack, fold, group)

    @classmethod
    def join(cls, parts: list[Rows]) -> Rows:
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) if f != "x" else np.vstack([p.x for p in parts])
                     for f in ("x", "attack", "fold", "group")))


def train(clips: list[Clip], parts: tuple[str, ...], weights: Path, embedder: Embedder, cache: FeatureCache, *,
          replays: bool, phone: bool, balance: bool, name: str, sources: list[str], left_out: int,
          progress: Callable[[Iterable, str], Iterable] = lambda x, _: x) -> LivenessModel:
    """The back-end on every clip (and its simulated copies), calibrated on out-of-fold live scores, with provenance.

    ``replays``: one simulated replay of each live clip, as an attack; ``phone``: every wide-band clip
    also over a simulated phone line, same label; ``balance``: every live corpus and attack species
    counts equally within its class.
    """
    if all(c.row.is_attack for c in clips) or not any(c.row.is_attack for c in clips):
        raise ConfigError("training needs both live (bonafide) and attack (spoof) clips; add a protocol with the "
                          "missing kind")

    def rows(picked: list[Clip], kind: str = "") -> Rows:
        return Rows.of(picked, select(feature_rows([c.file for c in picked], weights, embedder, cache, kind,
                                                   progress), parts), kind)

    sets = [rows(clips)]
    live_rows = np.flatnonzero(~sets[0].attack)
    if replays:
        sets.append(rows([c for c in clips if not c.row.is_attack and not c.row.path.startswith("fsdd-digits/")],
                         "replay"))
    if phone:
        sets.append(rows([c for c in clips if c.row.is_attack or c.row.corpus not in NARROW_BAND], "phone"))
    data = Rows.join(sets)
    groups = data.group if balance else None
    calibration = LiveCalibration(out_of_fold_live(data.x, data.attack, data.fold, groups, live_rows))
    species = Counter(c.row.generator for c in clips if c.row.is_attack)
    live = int(len(live_rows))
    provenance = {
        "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "code_commit": commit(), "protocols": sources, "speaker_model": embedder.taps_model_id, "aasist": "AASIST",
        "live_clips": live, "attack_clips": len(clips) - live, "attack_species": dict(species),
        "simulated_replays": int(len(sets[1].x)) if replays else 0,
        "phone_copies": int(len(sets[-1].x)) if phone else 0, "left_out_for_licence": left_out,
        "calibration": f"out-of-fold scores of {live} live clips, {FOLDS} speaker folds",
        "recipe": f"class-balanced{', group-balanced' if balance else ''} L2 ({L2}) logistic regression on "
                  f"{'+'.join(parts)}",
    }
    backend = LinearBackend.fit(data.x, data.attack, l2=L2, groups=groups)
    return LivenessModel(backend=backend, calibration=calibration, parts=parts, name=name, provenance=provenance)
