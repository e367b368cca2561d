"""``voiceid eval liveness``: score a labelled set of live and attack clips with a spoof detector.

The protocol is a CSV with a header; the columns ``path`` (relative to the root folder), ``label``
(``spoof`` or ``bonafide``) and ``generator`` are read by name, the others ignored (the team kit's
``data/spoof/protocol.csv`` is one). Every clip goes through the product's own decoder (ffmpeg,
16 kHz mono), as an upload would. Scores are cached per file content and detector, so a re-run
costs file hashing only (:class:`~shared.liveness.features.FeatureCache`).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.audio.decode import decode
from shared.core.errors import PermanentError
from shared.core.settings import Settings
from shared.liveness.features import FeatureCache

LABELS = ("spoof", "bonafide")


@dataclass(frozen=True)
class Presentation:
    """One clip of the protocol."""

    path: str
    label: str  # "spoof" or "bonafide"
    generator: str  # the attack species; for live speech, where it came from (e.g. "human")

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
        rows = [Presentation(r["path"], r["label"].strip().lower(), r["generator"]) for r in reader]
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
