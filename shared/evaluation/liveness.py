"""``voiceid eval liveness``: score a labelled set of live and attack clips with a spoof detector.

The protocol is a CSV with a header; the columns ``path`` (relative to the root folder), ``label``
(``spoof`` or ``bonafide``) and ``generator`` are read by name, the others ignored (the team kit's
``data/spoof/protocol.csv`` is one). Every clip goes through the product's own decoder (ffmpeg,
16 kHz mono), as an upload would. Scores are cached per file content and detector, so a re-run
costs file hashing only (:class:`~shared.liveness.features.FeatureCache`).
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.audio.channels import telephone
from shared.audio.decode import decode
from shared.core.errors import PermanentError
from shared.core.settings import Settings
from shared.liveness import aasist
from shared.liveness.augment import simulate_replay
from shared.liveness.calibration import decide
from shared.liveness.features import (
    FeatureCache,
    aasist_features,
    clip_features,
    select,
)
from shared.liveness.model import LivenessModel

LABELS = ("spoof", "bonafide")
FAMILIES = {  # attack family -> generator name prefixes (the kit's species, grouped by how they are made)
    "cloning": ("tortoise",),
    "neural-tts": ("vits", "glowtts", "tacotron2", "openseq2seq", "piper"),
    "vocoder": ("hifigan-copysynth", "melgan", "waveglow-copysynth", "wavenet"),
    "conversion": ("vits-vc",),
    "classic-engines": ("espeak", "festival", "flite"),
    "replay": ("replay",),
}
FOLDS = 5
AUGMENTS = {"replay": (simulate_replay, 0), "phone": (telephone, 8)}  # simulator, where its seed is read in the hash
AUGMENT_TAGS = {"replay": b"|simulated-replay-v1", "phone": b"|telephone-v1"}  # a copy's cache key, beside the clip's
INTERNAL_ONLY = ("no licence", "rights unclear", "internal")  # licence notes of clips that must not be shipped


@dataclass(frozen=True)
class Presentation:
    """One clip of the protocol."""

    path: str
    label: str  # "spoof" or "bonafide"
    generator: str  # the attack species; for live speech, where it came from (e.g. "human")
    licence: str = ""  # the protocol's licence column, when it has one

    @property
    def shippable(self) -> bool:
        """False for clips whose licence note says they are for internal evaluation only (no clear licence)."""
        return not any(word in self.licence.lower() for word in INTERNAL_ONLY)

    @property
    def family(self) -> str:
        """The attack family of the species (:data:`FAMILIES`; unknown species are their own), ``live`` for live."""
        if not self.is_attack:
            return "live"
        if self.generator == "vits-vc":
            return "conversion"
        for family, prefixes in sorted(FAMILIES.items(), key=lambda kv: -max(len(p) for p in kv[1])):
            if any(self.generator.startswith(p) for p in prefixes):
                return family
        return self.generator

    @property
    def speaker_fold(self) -> int:
        """Live clips are split into folds by speaker (their folder), so no held-out speaker is heard in training."""
        return int(hashlib.sha256(self.path.rsplit("/", 1)[0].encode()).hexdigest(), 16) % FOLDS

    @property
    def is_attack(self) -> bool:
        return self.label == "spoof"

    @property
    def corpus(self) -> str:
        """Where a live clip comes from, for per-corpus BPCER: its top folder (kit attack set: by generator)."""
        top = self.path.split("/", 1)[0]
        return f"{top}/{self.generator}" if top == "spoof" else top


def read_protocol(path: Path) -> list[Presentation]:
    with Path(path).open(newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"path", "label", "generator"} - set(reader.fieldnames or ())
        if missing:
            raise PermanentError(f"{path} has no column {', '.join(sorted(missing))}", code="eval.bad_protocol",
                                 hint="The first line must name the columns: path,label,generator[,...].")
        rows = [Presentation(r["path"], r["label"].strip().lower(), r["generator"], r.get("licence") or "")
                for r in reader]
    bad = sorted({r.label for r in rows} - set(LABELS))
    if bad:
        raise PermanentError(f"{path}: labels {bad} are neither spoof nor bonafide", code="eval.bad_protocol",
                             hint="Label every clip spoof or bonafide.")
    return rows


def score_all(rows: list[Presentation], root: Path, detector, settings: Settings, cache: FeatureCache,
              progress: Callable[[Iterable], Iterable] = lambda x: x) -> np.ndarray:
    """The attack score of every clip, decoded as the pipeline decodes an upload."""
    def compute(data: bytes) -> np.ndarray:
        clip = decode(data, max_seconds=settings.max_audio_seconds, timeout_s=settings.ffmpeg_timeout_s,
                      channel=settings.channel)
        return np.array([detector.attack_score(clip.samples)])

    return cache.rows_for(progress([root / r.path for r in rows]), compute)[:, 0].astype(np.float64)


def write_scores(path: Path, rows: list[Presentation], scores: np.ndarray, decisions: list[str]) -> None:
    """``attack_score label generator path decision`` per clip, in protocol order (a higher score: more attack-like)."""
    with Path(path).open("w") as fh:
        for row, score, decision in zip(rows, scores, decisions):
            fh.write(f"{score:.6f} {row.label} {row.generator} {row.path} {decision}\n")


def feature_rows(files: list[Path], weights: Path, embedder, cache: FeatureCache, augment: str = "",
                 progress: Callable[[Iterable, str], Iterable] = lambda x, _: x) -> np.ndarray:
    """Every feature part of each file, or (``augment``) of one simulated copy of it: ``replay`` or ``phone``.

    Decoded as an upload is; a copy is seeded by the file's content, so it is the same every run.
    Rows are cached by content, so a study, a training and an evaluation of the same clips pay for
    each once. ``embedder``: the ECAPA the back-end reads.
    """
    model = aasist.load(weights / "AASIST.pth", weights / "AASIST.conf")
    simulate, seed_at = AUGMENTS[augment] if augment else (None, 0)

    def compute(data: bytes) -> np.ndarray:
        samples = decode(data, max_seconds=600, timeout_s=60).samples
        if simulate is not None:
            samples = simulate(samples, np.random.default_rng(int(FeatureCache.key(data)[seed_at:seed_at + 8], 16)))
        return clip_features(samples, model, embedder)

    tag = AUGMENT_TAGS[augment] if augment else b""
    return cache.rows_for(progress(list(files), augment or "features"), compute, tag=tag)


def aasist_rows(files: list[Path], weights: Path, cache: FeatureCache, augment: str = "",
                progress: Callable[[Iterable, str], Iterable] = lambda x, _: x) -> np.ndarray:
    """AASIST's read-out and logits (162 columns) of each file, or of one simulated copy, from another AASIST.

    ``weights``: the ``.pth`` (its ``.conf`` beside it), e.g. the ASVspoof 5 baseline the detector study
    compares; ``cache`` must be that model's own (rows are keyed by content, not by model).
    """
    model = aasist.load(weights, weights.with_suffix(".conf"))
    simulate, seed_at = AUGMENTS[augment] if augment else (None, 0)

    def compute(data: bytes) -> np.ndarray:
        samples = decode(data, max_seconds=600, timeout_s=60).samples
        if simulate is not None:
            samples = simulate(samples, np.random.default_rng(int(FeatureCache.key(data)[seed_at:seed_at + 8], 16)))
        return aasist_features(samples, model)

    tag = AUGMENT_TAGS[augment] if augment else b""
    return cache.rows_for(progress(list(files), f"{weights.stem} {augment}".strip()), compute, tag=tag)


def product_scores(rows: np.ndarray, model: LivenessModel, live_share: float) -> tuple[np.ndarray, list[str]]:
    """The product's calibrated liveness score and decision of each feature row."""
    raw = model.backend.attack_scores(select(rows, model.parts))
    scores = np.array([model.calibration.score(float(r)) for r in raw])
    return scores, [decide(float(s), live_share) for s in scores]
