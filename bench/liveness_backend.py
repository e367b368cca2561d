"""Which liveness back-end to ship: every candidate scored with whole attack families held out of training.

    .venv/bin/python -m bench.liveness_backend [--target-bpcer 2] [--json docs/liveness_backend.json]

Features of every clip of the team kit's development set (``data/spoof/protocol.csv``: attacks from a
dozen generators, simulated replays, live speech including the kit's telephone and digit corpora)
come from :mod:`shared.liveness.features` (cached). For each candidate feature set and each attack
family in turn, a linear back-end (:mod:`shared.liveness.backend`) is trained on the other families
and on four fifths of the live speakers, and scores the held-out family and the held-out fifth; the
operating point is set on the training live speech alone (its BPCER at ``--target-bpcer``). So every
figure is of attacks from a family, and live speakers, that the back-end never saw. The published
AASIST, untrained, is the baseline (its own threshold 0, and the same training-set rule).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

from bench.common import KIT, machine
from shared.audio.decode import decode
from shared.core.settings import Settings
from shared.embedding.embedder import get_embedder
from shared.evaluation import pad
from shared.evaluation.liveness import read_protocol
from shared.liveness import aasist
from shared.liveness.augment import simulate_replay
from shared.liveness.backend import LinearBackend
from shared.liveness.features import FeatureCache, clip_features, select

FAMILIES = {  # attack family -> generator name prefixes
    "cloning": ("tortoise",),
    "neural-tts": ("vits", "glowtts", "tacotron2", "openseq2seq", "piper"),
    "vocoder": ("hifigan-copysynth", "melgan", "waveglow-copysynth", "wavenet"),
    "conversion": ("vits-vc",),
    "classic-engines": ("espeak", "festival", "flite"),
    "replay": ("replay",),
}
CANDIDATES = {"aasist-hidden": ("aasist_hidden",), "aasist-hidden+logits": ("aasist_hidden", "aasist_logits"),
              "ecapa": ("ecapa",), "aasist+ecapa": ("aasist_hidden", "aasist_logits", "ecapa")}
FOLDS = 5
REPLAY_TAG = b"|simulated-replay-v1"


def family_of(generator: str) -> str:
    for family, prefixes in sorted(FAMILIES.items(), key=lambda kv: -max(len(p) for p in kv[1])):
        if any(generator.startswith(p) for p in prefixes) and not (family == "neural-tts" and generator == "vits-vc"):
            return family
    raise ValueError(f"no family for generator {generator!r}")


def live_fold(path: str) -> int:
    """Live clips are split by speaker (their folder), so no held-out speaker was heard in training."""
    return int(hashlib.sha256(path.rsplit("/", 1)[0].encode()).hexdigest(), 16) % FOLDS


def features_of(rows, root: Path, cache: FeatureCache, replay: bool = False) -> np.ndarray:
    """Feature rows of the clips (``replay``: of one simulated replay of each, seeded by the clip's content)."""
    from tqdm import tqdm

    weights = root.parent / "models" / "aasist"
    model = aasist.load(weights / "AASIST.pth", weights / "AASIST.conf")
    ecapa = get_embedder(Settings(model="ecapa", device="cpu"))

    def compute(data: bytes) -> np.ndarray:
        samples = decode(data, max_seconds=600, timeout_s=60).samples
        if replay:
            samples = simulate_replay(samples, np.random.default_rng(int(FeatureCache.key(data)[:8], 16)))
        return clip_features(samples, model, ecapa.embed)

    files = tqdm([root / r.path for r in rows], desc="replays" if replay else "features", unit="clip")
    return cache.rows_for(files, compute, tag=REPLAY_TAG if replay else b"")


def held_out_scores(x: np.ndarray, attack: np.ndarray, family: np.ndarray, fold: np.ndarray, target: float,
                    train: bool = True, extra: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
    """Per held-out family: its attacks' scores and decisions, and the held-out live clips' (every fold).

    ``extra``: (feature rows, live fold of their source) of simulated replays, added to training as
    attacks when their source speaker is in the training folds.
    """
    out = {}
    for fam in sorted(str(f) for f in set(family[attack])):
        a_scores, l_scores, l_index, a_dec, l_dec = [], [], [], [], []
        for k in range(FOLDS):
            train_rows = (attack & (family != fam)) | (~attack & (fold != k))
            test_live = ~attack & (fold == k)
            if train:
                tx, ty = x[train_rows], attack[train_rows]
                if extra is not None:
                    keep = extra[1] != k
                    tx, ty = np.vstack([tx, extra[0][keep]]), np.r_[ty, np.ones(int(keep.sum()), bool)]
                backend = LinearBackend.fit(tx, ty, l2=10.0)
                score = backend.attack_scores
            else:
                score = lambda rows: rows[:, 0] - rows[:, 1]  # noqa: E731 - the published model's own score
            live_train = score(x[~attack & (fold != k)])
            threshold = pad.threshold_at_bpcer(live_train, target)
            sa, sl = score(x[attack & (family == fam)]), score(x[test_live])
            a_scores.append(sa)
            a_dec.append(sa >= threshold)
            l_scores.append(sl)
            l_dec.append(sl >= threshold)
            l_index.append(np.flatnonzero(test_live))
        called_attack = np.mean(a_dec, axis=0) >= 0.5  # the majority of the five back-ends
        out[fam] = {"attack": np.mean(a_scores, axis=0), "apcer": float(100 * np.mean(~called_attack)),
                    "live_index": np.concatenate(l_index), "live": np.concatenate(l_scores),
                    "live_called_attack": np.concatenate(l_dec)}
    return out


def summarise(name: str, runs: dict, rows, attack: np.ndarray) -> dict:
    corpora = np.array([r.corpus for r in rows])
    live_flags = {}
    for run in runs.values():
        for i, called in zip(run["live_index"], run["live_called_attack"]):
            live_flags.setdefault(i, []).append(called)
    live_idx = np.array(sorted(live_flags))
    called = np.array([np.mean(live_flags[i]) >= 0.5 for i in live_idx])
    per_corpus = {str(c): float(100 * called[corpora[live_idx] == c].mean()) for c in sorted(set(corpora[live_idx]))}
    pooled_live = {i: [] for i in live_idx}
    for run in runs.values():
        for i, s in zip(run["live_index"], run["live"]):
            pooled_live[i].append(s)
    scores = np.concatenate([np.concatenate([r["attack"] for r in runs.values()]),
                             np.array([np.mean(pooled_live[i]) for i in live_idx])])
    labels = np.r_[np.ones(sum(len(r["attack"]) for r in runs.values()), bool), np.zeros(len(live_idx), bool)]
    apcer = {fam: round(r["apcer"], 1) for fam, r in runs.items()}
    return {"candidate": name, "eer": round(pad.eer(scores, labels), 2), "apcer_per_family": apcer,
            "worst_family": max(apcer, key=apcer.get), "worst_apcer": max(apcer.values()),
            "bpcer": round(float(100 * called.mean()), 2), "bpcer_per_corpus": {k: round(v, 1) for k, v in per_corpus.items()},
            "worst_corpus_bpcer": round(max(per_corpus.values()), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target-bpcer", type=float, default=2.0, help="BPCER on training live speech (%%)")
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "voiceid" / "liveness" / "features.npz"))
    parser.add_argument("--replays", action="store_true",
                        help="also train with one simulated replay of each training live clip (shared.liveness.augment)")
    parser.add_argument("--json")
    args = parser.parse_args()
    rows = read_protocol(KIT / "spoof" / "protocol.csv")
    x = features_of(rows, KIT, FeatureCache(Path(args.cache)))
    attack = np.array([r.is_attack for r in rows])
    family = np.array([family_of(r.generator) if r.is_attack else "live" for r in rows])
    fold = np.array([live_fold(r.path) for r in rows])
    results = [summarise("published AASIST (untrained)", held_out_scores(x[:, 160:162][:, [0, 1]], attack, family,
                                                                        fold, args.target_bpcer, train=False),
                         rows, attack)]
    for name, parts in CANDIDATES.items():
        results.append(summarise(name, held_out_scores(select(x, parts), attack, family, fold, args.target_bpcer),
                                 rows, attack))
    if args.replays:  # live clips long enough to replay (not the 0.4 s digits)
        sources = [i for i, r in enumerate(rows) if not r.is_attack and not r.path.startswith("fsdd-digits/")]
        simulated = features_of([rows[i] for i in sources], KIT, FeatureCache(Path(args.cache)), replay=True)
        for name, parts in CANDIDATES.items():
            runs = held_out_scores(select(x, parts), attack, family, fold, args.target_bpcer,
                                   extra=(select(simulated, parts), fold[sources]))
            results.append(summarise(f"{name} + simulated replays", runs, rows, attack))
    report = {"machine": machine(), "target_bpcer_on_training_live": args.target_bpcer, "clips": len(rows),
              "attacks": int(attack.sum()), "families": {f: int((family == f).sum()) for f in FAMILIES},
              "results": results}
    for r in results:
        print(f"{r['candidate']:30s} EER {r['eer']:5.1f} %  worst family {r['worst_family']:15s} APCER "
              f"{r['worst_apcer']:5.1f} %  BPCER {r['bpcer']:4.1f} %  worst corpus BPCER {r['worst_corpus_bpcer']:4.1f} %")
        print("    APCER per family:", r["apcer_per_family"])
        print("    BPCER per corpus:", r["bpcer_per_corpus"])
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
