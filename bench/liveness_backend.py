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
import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bench.common import KIT, machine
from shared.core.settings import Settings
from shared.embedding.embedder import get_embedder
from shared.evaluation import pad
from shared.evaluation.liveness import (
    FAMILIES,
    FOLDS,
    aasist_rows,
    feature_rows,
    read_protocol,
)
from shared.evaluation.liveness_training import NARROW_BAND
from shared.liveness.backend import LinearBackend
from shared.liveness.features import PARTS, WIDTH, FeatureCache, select

AASIST5 = KIT.parent / "models" / "aasist-asvspoof5" / "AASIST-ASVspoof5.pth"  # the ASVspoof 5 baseline (2024 attacks)
STUDY_PARTS = {**PARTS, "aasist5_hidden": slice(WIDTH, WIDTH + 160), "aasist5_logits": slice(WIDTH + 160, WIDTH + 162)}
CACHE = Path.home() / ".cache" / "voiceid" / "liveness"

CANDIDATES = {"aasist-hidden": ("aasist_hidden",), "aasist-hidden+logits": ("aasist_hidden", "aasist_logits"),
              "ecapa": ("ecapa",), "aasist+ecapa": ("aasist_hidden", "aasist_logits", "ecapa"),
              "ecapa-stats": ("ecapa_stats",), "ecapa-stats+logmel": ("ecapa_stats", "logmel"),
              "aasist+ecapa-stats": ("aasist_hidden", "aasist_logits", "ecapa_stats"),
              "aasist+ecapa+ecapa-stats": ("aasist_hidden", "aasist_logits", "ecapa", "ecapa_stats"),
              # the ASVspoof 5 baseline's read-out (--aasist5): alone, in the shipped recipe's place, and beside it
              "aasist5-hidden+logits": ("aasist5_hidden", "aasist5_logits"),
              "aasist5+ecapa": ("aasist5_hidden", "ecapa"),
              "aasist+aasist5+ecapa": ("aasist_hidden", "aasist5_hidden", "ecapa")}
SHIPPED = "aasist-hidden+ecapa"  # the shipped recipe's parts (DEFAULT_PARTS): AASIST's read-out and ECAPA's embedding
CANDIDATES[SHIPPED] = ("aasist_hidden", "ecapa")


def features_of(rows, root: Path, cache: FeatureCache, augment: str = "", aasist5: FeatureCache | None = None
                ) -> np.ndarray:
    """Feature rows of the clips (``augment``: of one simulated replay or phone line of each, seeded by its content),
    with the ASVspoof 5 AASIST's 162 columns after them when ``aasist5`` (its own cache) is given."""
    from tqdm import tqdm

    def bar(items, desc):
        return tqdm(items, desc=desc, unit="clip")

    ecapa = get_embedder(Settings(model="ecapa", device="cpu"))
    files = [root / r.path for r in rows]
    x = feature_rows(files, root.parent / "models" / "aasist", ecapa, cache, augment, bar)
    return np.hstack([x, aasist_rows(files, AASIST5, aasist5, augment, bar)]) if aasist5 is not None else x



@dataclass(frozen=True)
class Study:
    """Every row the study trains or tests on: the kit's clips, then their simulated copies.

    ``origin`` is ``clip`` for the kit's own (the only rows tested, besides the phone copies of a
    held-out family's attacks), ``replay`` (attacks made from live training speech) or ``phone``.
    Attack rows have fold -1 (they are split by family, not speaker); rows made from live speech keep
    their source speaker's fold, so no held-out speaker reaches training in any form.
    """

    x: np.ndarray
    attack: np.ndarray
    family: np.ndarray
    fold: np.ndarray
    group: np.ndarray  # live corpus or attack species, for group-balanced weights
    origin: np.ndarray

    def parts(self, names) -> Study:
        return replace(self, x=select(self.x, names, STUDY_PARTS))

    @classmethod
    def build(cls, rows, root: Path, cache: FeatureCache, replays: bool, phone: bool,
              aasist5: FeatureCache | None = None) -> Study:
        x = [features_of(rows, root, cache, aasist5=aasist5)]
        attack, family = [np.array([r.is_attack for r in rows])], [np.array([r.family for r in rows])]
        fold = [np.array([-1 if r.is_attack else r.speaker_fold for r in rows])]
        group = [np.array([r.generator if r.is_attack else r.corpus for r in rows])]
        origin = [np.array(["clip"] * len(rows))]
        copies = []
        if replays:  # live clips long enough to replay (not the 0.4 s digits)
            copies.append(("replay", [r for r in rows if not r.is_attack and not r.path.startswith("fsdd-digits/")]))
        if phone:  # every wide-band clip over a phone line: attacks and live speech alike
            copies.append(("phone", [r for r in rows if r.is_attack or r.corpus not in NARROW_BAND]))
        for kind, picked in copies:
            x.append(features_of(picked, root, cache, kind, aasist5))
            made_attack = np.array([kind == "replay" or r.is_attack for r in picked])
            attack.append(made_attack)
            family.append(np.array(["own-replay" if kind == "replay" else r.family for r in picked]))
            fold.append(np.array([-1 if r.is_attack else r.speaker_fold for r in picked]))
            group.append(np.array([f"{kind}:{r.generator if r.is_attack else r.corpus}" for r in picked]))
            origin.append(np.array([kind] * len(picked)))
        return cls(np.vstack(x), *(np.concatenate(a) for a in (attack, family, fold, group, origin)))


def aasist5_cache(main_cache: str) -> FeatureCache:
    """The ASVspoof 5 AASIST's rows, cached beside the main feature cache."""
    return FeatureCache(Path(main_cache).with_name("features-aasist5-v1.npz"))


def held_out_scores(st: Study, target: float, train: bool = True, use: tuple[str, ...] = ("clip",),
                    groups: bool = False, l2: float = 10.0) -> dict:
    """Per held-out family: its attacks' scores and decisions (also over a phone line, where the study has those
    copies), and the held-out live clips' (every fold).

    ``use``: which origins go into training besides the kit's clips; ``groups``: group-balanced weights.
    """
    out = {}
    clip = st.origin == "clip"
    usable = np.isin(st.origin, use)
    for fam in sorted(str(f) for f in set(st.family[clip & st.attack])):
        a_scores, l_scores, l_index, a_dec, l_dec, p_dec = [], [], [], [], [], []
        for k in range(FOLDS):
            train_rows = usable & (st.family != fam) & (st.fold != k)
            live_train = clip & ~st.attack & (st.fold != k)
            test_live = clip & ~st.attack & (st.fold == k)
            if train:
                backend = LinearBackend.fit(st.x[train_rows], st.attack[train_rows], l2=l2,
                                            groups=st.group[train_rows] if groups else None)
                score = backend.attack_scores
            else:
                score = lambda rows: rows[:, 0] - rows[:, 1]  # noqa: E731 - the published model's own score
            threshold = pad.threshold_at_bpcer(score(st.x[live_train]), target)
            sa, sl = score(st.x[clip & (st.family == fam)]), score(st.x[test_live])
            phone = (st.origin == "phone") & (st.family == fam)
            a_scores.append(sa)
            a_dec.append(sa >= threshold)
            p_dec.append(score(st.x[phone]) >= threshold)
            l_scores.append(sl)
            l_dec.append(sl >= threshold)
            l_index.append(np.flatnonzero(test_live))
        called_attack = np.mean(a_dec, axis=0) >= 0.5  # the majority of the five back-ends
        phone_called = np.mean(p_dec, axis=0) >= 0.5 if len(p_dec[0]) else np.array([])
        out[fam] = {"attack": np.mean(a_scores, axis=0), "apcer": float(100 * np.mean(~called_attack)),
                    "apcer_phone": float(100 * np.mean(~phone_called)) if len(phone_called) else None,
                    "live_index": np.concatenate(l_index), "live": np.concatenate(l_scores),
                    "live_called_attack": np.concatenate(l_dec)}
    return out


def summarise(name: str, runs: dict, rows) -> dict:
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
    phone = {fam: round(r["apcer_phone"], 1) for fam, r in runs.items() if r["apcer_phone"] is not None}
    return {"candidate": name, "eer": round(pad.eer(scores, labels), 2), "apcer_per_family": apcer,
            "worst_family": max(apcer, key=apcer.get), "worst_apcer": max(apcer.values()),
            "apcer_per_family_over_phone": phone or None,
            "bpcer": round(float(100 * called.mean()), 2), "bpcer_per_corpus": {k: round(v, 1) for k, v in per_corpus.items()},
            "worst_corpus_bpcer": round(max(per_corpus.values()), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target-bpcer", type=float, default=2.0, help="BPCER on training live speech (%%)")
    parser.add_argument("--cache", default=str(CACHE / "features-v2.npz"))
    parser.add_argument("--aasist5", action="store_true",
                        help="also read the ASVspoof 5 baseline AASIST (team kit models/aasist-asvspoof5; its rows are "
                             "cached beside --cache) for the aasist5 candidates and its untrained baseline")
    parser.add_argument("--replays", action="store_true",
                        help="also train with one simulated replay of each training live clip (shared.liveness.augment)")
    parser.add_argument("--phone", action="store_true",
                        help="also put every wide-band clip through a simulated phone line: training copies, and the "
                             "held-out family's attacks over the phone as a second test")
    parser.add_argument("--l2", type=float, default=10.0, help="the back-end's L2 penalty (shipped: 100)")
    parser.add_argument("--groups", action="store_true", help="also run every recipe group-balanced")
    parser.add_argument("--candidates", help="comma-separated names of CANDIDATES to run (default all)")
    parser.add_argument("--json")
    args = parser.parse_args()
    rows = read_protocol(KIT / "spoof" / "protocol.csv")
    st = Study.build(rows, KIT, FeatureCache(Path(args.cache)), args.replays, args.phone,
                     aasist5_cache(args.cache) if args.aasist5 else None)
    names = args.candidates.split(",") if args.candidates else [n for n in CANDIDATES if args.aasist5 or "aasist5" not in n]
    results = [summarise("published AASIST (untrained)",
                         held_out_scores(st.parts(["aasist_logits"]), args.target_bpcer, train=False), rows)]
    if args.aasist5:
        results.append(summarise("published ASVspoof 5 AASIST (untrained)",
                                 held_out_scores(st.parts(["aasist5_logits"]), args.target_bpcer, train=False), rows))
    recipes = [("", ("clip",), False)]
    if args.replays:
        recipes.append((" + simulated replays", ("clip", "replay"), False))
    if args.replays and args.groups:
        recipes.append((" + simulated replays, group-balanced", ("clip", "replay"), True))
    if args.phone:
        recipes.append((" + phone copies", ("clip", "phone"), False))
    if args.replays and args.phone:
        recipes += [(" + replays + phone", ("clip", "replay", "phone"), False),
                    (" + replays + phone, group-balanced", ("clip", "replay", "phone"), True)]
    for suffix, use, groups in recipes:
        for name in names:
            runs = held_out_scores(st.parts(CANDIDATES[name]), args.target_bpcer, use=use, groups=groups, l2=args.l2)
            results.append(summarise(name + suffix, runs, rows))
            print(format_result(results[-1]), flush=True)
    attack = np.array([r.is_attack for r in rows])
    family = np.array([r.family for r in rows])
    report = {"machine": machine(), "target_bpcer_on_training_live": args.target_bpcer, "l2": args.l2,
              "clips": len(rows),
              "attacks": int(attack.sum()), "families": {f: int((family == f).sum()) for f in FAMILIES},
              "results": results}
    for r in results[:2 if args.aasist5 else 1]:
        print(format_result(r))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


def format_result(r: dict) -> str:
    lines = [f"{r['candidate']:45s} EER {r['eer']:5.1f} %  worst family {r['worst_family']:15s} APCER "
             f"{r['worst_apcer']:5.1f} %  BPCER {r['bpcer']:4.1f} %  worst corpus BPCER {r['worst_corpus_bpcer']:4.1f} %",
             f"    APCER per family: {r['apcer_per_family']}"]
    if r["apcer_per_family_over_phone"]:
        lines.append(f"    APCER per family over a phone line: {r['apcer_per_family_over_phone']}")
    lines.append(f"    BPCER per corpus: {r['bpcer_per_corpus']}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
