"""``voiceid eval liveness``: score a labelled set of live and attack clips with a spoof detector.

The protocol is a CSV with a header; the columns ``path`` (relative to the root folder), ``label``
(``spoof`` or ``bonafide``) and ``generator`` are read by name, the others ignored (the team kit's
``data/spoof/protocol.csv`` is one). Every clip goes through the product's own decoder (ffmpeg,
16 kHz mono), as an upload would. Scores are cached per file content and detector, so a re-run
costs file hashing only.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.audio.decode import decode
from shared.core.errors import PermanentError
from shared.core.settings import Settings

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


class ScoreCache:
    """Attack scores of one detector by file content, in a JSON file (written as it grows)."""

    def __init__(self, path: Path):
        self.path = path
        self.scores: dict[str, float] = json.loads(path.read_text()) if path.is_file() else {}

    def get(self, data: bytes, compute: Callable[[], float]) -> float:
        key = hashlib.sha256(data).hexdigest()
        if key not in self.scores:
            self.scores[key] = compute()
        return self.scores[key]

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.scores))


def score_all(rows: list[Presentation], root: Path, detector, settings: Settings, cache: ScoreCache,
              progress: Callable[[Iterable], Iterable] = lambda x: x) -> np.ndarray:
    """The attack score of every clip, decoded as the pipeline decodes an upload."""
    out = []
    for i, row in enumerate(progress(rows)):
        data = (root / row.path).read_bytes()

        def compute(data=data) -> float:
            clip = decode(data, max_seconds=settings.max_audio_seconds, timeout_s=settings.ffmpeg_timeout_s,
                          channel=settings.channel)
            return float(detector.attack_score(clip.samples))

        out.append(cache.get(data, compute))
        if i % 100 == 99:
            cache.save()
    cache.save()
    return np.asarray(out, np.float64)


def write_scores(path: Path, rows: list[Presentation], scores: np.ndarray, decisions: list[str]) -> None:
    """``attack_score label generator path decision`` per clip, in protocol order (a higher score: more attack-like)."""
    with Path(path).open("w") as fh:
        for row, score, decision in zip(rows, scores, decisions):
            fh.write(f"{score:.6f} {row.label} {row.generator} {row.path} {decision}\n")
