"""Choose the interim open-set cosine threshold from the team kit's open-set trials.

Reads ../shared/data/trials/openset-librispeech.json (45 enrolled readers, 60
probes, 15 of them never enrolled), embeds every file with the product's own
decode + embed path, and sweeps the raw-cosine threshold. For each threshold it
prints the detection-and-identification rate (a known probe whose best match is
the right speaker AND clears the threshold) and the false-alarm rate (an
unknown probe whose best match clears it).

    .venv/bin/python bench/interim_threshold.py [--trials PATH]

The chosen value and the sweep are recorded in docs/thresholds.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from shared.audio.decode import decode
from shared.core.paths import (
    PACKAGE_PARENT as PROJECT_ROOT,  # bench runs from a checkout
)
from shared.core.settings import Settings
from shared.embedding.embedder import get_embedder

DEFAULT_TRIALS = PROJECT_ROOT.parent / "shared" / "data" / "trials" / "openset-librispeech.json"


def embed_file(embedder, path: Path) -> np.ndarray:
    return embedder.embed(decode(path.read_bytes(), max_seconds=600, timeout_s=60).samples)


def verification_rates(embedder, trials_txt: Path, thresholds) -> None:
    """FAR and FRR of plain cosine on a VoxCeleb-format trial list, at each threshold."""
    root = trials_txt.parent.parent
    cache: dict[str, np.ndarray] = {}
    labels, scores = [], []
    for line in trials_txt.read_text().split("\n"):
        if not line.strip():
            continue
        label, enrol, test = line.split()
        for p in (enrol, test):
            if p not in cache:
                cache[p] = embed_file(embedder, root / p)
        labels.append(label == "1")
        scores.append(float(cache[enrol] @ cache[test]))
    labels, scores = np.array(labels), np.array(scores)
    print(f"\n{trials_txt.name}: {labels.sum()} target, {(~labels).sum()} non-target trials")
    print("threshold  FAR%   FRR%")
    for t in thresholds:
        far = 100 * np.mean(scores[~labels] >= t)
        frr = 100 * np.mean(scores[labels] < t)
        print(f"{t:9.3f} {far:5.2f} {frr:6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=Path, default=DEFAULT_TRIALS)
    parser.add_argument("--verify", type=Path, nargs="*", default=[
        DEFAULT_TRIALS.parent / "librispeech-multi.txt", DEFAULT_TRIALS.parent / "hyke-telephone.txt"])
    args = parser.parse_args()
    trials = json.loads(args.trials.read_text())
    root = args.trials.parent.parent
    embedder = get_embedder(Settings.from_env())
    names = sorted(trials["gallery"])
    gallery = np.stack([
        np.mean([embed_file(embedder, root / p) for p in trials["gallery"][n]], axis=0) for n in names
    ])
    gallery /= np.linalg.norm(gallery, axis=1, keepdims=True)
    best, best_name, truth = [], [], []
    for probe in trials["probes"]:
        scores = gallery @ embed_file(embedder, root / probe["path"])
        i = int(np.argmax(scores))
        best.append(float(scores[i]))
        best_name.append(names[i])
        truth.append(probe["speaker"])
    best = np.array(best)
    known = np.array([t is not None for t in truth])
    correct = np.array([t == n for t, n in zip(truth, best_name)])
    print(f"model {embedder.info.id}; {known.sum()} known probes, {(~known).sum()} unknown probes")
    print(f"unknown best scores: max {best[~known].max():.3f}, mean {best[~known].mean():.3f}")
    print(f"known correct scores: min {best[known & correct].min():.3f}; top-1 errors: {(known & ~correct).sum()}")
    print("threshold  DIR%   FA%")
    for t in np.arange(0.20, 0.66, 0.025):
        dir_rate = 100 * np.mean((best >= t)[known] & correct[known])
        fa_rate = 100 * np.mean((best >= t)[~known])
        print(f"{t:9.3f} {dir_rate:5.1f} {fa_rate:5.1f}")
    for path in args.verify:
        verification_rates(embedder, path, [0.25, 0.35, 0.40, 0.45, 0.50, 0.55, 0.60])


if __name__ == "__main__":
    main()
