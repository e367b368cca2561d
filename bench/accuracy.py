"""Accuracy of the product's scoring vs plain cosine on the team kit's development trials.

For every corpus of ../shared/data/trials, side by side in one run:
- the original PoC's way (SpeechBrain loading, plain ECAPA cosine, threshold 0.25), whatever the model;
- the product with VOICEID_MODEL's model (front end, gallery mean-centering, AS-norm,
  calibration to VOICEID_TARGET_FAR).

The normalisation's knobs (cohort top-N, probe-side drop) are chosen **leaving each
corpus out in turn**: the setting used for corpus X is the one that does best on the
other corpora (calibration first: the FAR at the operating point closest to the target,
in log ratio, on the worst other corpus with >= 10 enrolled speakers; then the lowest
mean EER). Nothing is tuned on
X apart from its own enrolments (its gallery statistics). The open set uses the
setting chosen without either LibriSpeech corpus.

    .venv/bin/python -m bench.accuracy [--target-far 0.01] [--json docs/accuracy.json]

Embeddings are cached (~/.cache/voiceid/embeddings); the first run embeds ~1000 files twice
(about 8 min on 2 CPU cores), later runs take about a minute.
"""

from __future__ import annotations

import argparse
import itertools
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.common import KIT, TRIALS, machine
from shared.core.settings import Settings
from shared.embedding.embedder import get_embedder
from shared.evaluation import metrics as evaluation
from shared.evaluation.embedcache import EmbeddingCache, cache_for
from shared.evaluation.openset import read_openset, score_openset
from shared.evaluation.pocbaseline import POC_THRESHOLD, baseline_settings, poc_cosine
from shared.evaluation.trials import embed_all, read_trials, score_trials
from shared.scoring.calibration import threshold_for
from shared.scoring.stats import Params

CORPORA = ["hyke-telephone", "librispeech-multi", "librispeech-single", "fsdd-digits"]
GRID = [Params(top_n=n, drop=d) for n, d in itertools.product((10, 20, 50, 100, 200), (0, 1))]
FAR_WINDOW = (0.25, 2.0)
MIN_SPEAKERS_FOR_FAR = 10
STRICT_TARGETS = (0.001, 0.0001)


def strict_targets(scores: np.ndarray, labels: np.ndarray, targets: tuple[float, ...] = STRICT_TARGETS) -> dict:
    """FAR and FRR at the stricter operating points banks use (1 in 1,000 and 1 in 10,000), with 95 % CIs."""
    out = {}
    for target in targets:
        at = evaluation.rates_at(scores, labels, threshold_for(target))
        out[f"{target:g}"] = {"far": at["far"], "far_ci": at["far_ci"], "fa": at["false_accepts"],
                              "non": at["non_targets"], "frr": at["frr"]}
    return out


def pooled_strict(rows: dict) -> dict:
    """The strict-target false accepts of every list together: calibrated scores mean the same on every gallery."""
    out = {}
    for target in rows[CORPORA[0]]["product"]["strict"]:
        fa = sum(rows[c]["product"]["strict"][target]["fa"] for c in CORPORA)
        non = sum(rows[c]["product"]["strict"][target]["non"] for c in CORPORA)
        out[target] = {"far": 100 * fa / non, "far_ci": evaluation.wilson(fa, non), "fa": fa, "non": non}
    return out


def choose(results: dict, corpora: list[str], speakers: dict[str, int], target_far: float) -> Params:
    """Calibration first: the grid point whose FAR at the operating point strays least (in log ratio to the
    target) on the worst of ``corpora`` with enough speakers; then the lowest mean EER; then the larger top-N."""
    def worst(p: Params) -> float:
        return round(max(abs(np.log(max(results[(c, p)]["far"], 1e-3) / (100 * target_far)))
                         for c in corpora if speakers[c] >= MIN_SPEAKERS_FOR_FAR), 1)

    return min(GRID, key=lambda p: (worst(p), np.mean([results[(c, p)]["eer"] for c in corpora]), -p.top_n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target-far", type=float, default=0.01)
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()
    settings = replace(Settings.from_env(), target_far=args.target_far)  # VOICEID_MODEL picks the backend
    model_id = get_embedder(settings).info.id
    threshold = threshold_for(args.target_far)
    ecapa = baseline_settings(settings)
    product = cache_for(settings)
    poc = EmbeddingCache(ecapa, get_embedder(ecapa).info.id, front_end="poc")
    results, baseline, speakers, trials = {}, {}, {}, {}
    for corpus in CORPORA:
        trials[corpus] = read_trials(TRIALS / f"{corpus}.txt")
        files = {f for t in trials[corpus] for f in (*t.enrol, t.test)}
        emb, emb_poc = embed_all(files, KIT, product), embed_all(files, KIT, poc)
        labels = np.array([t.label == 1 for t in trials[corpus]])
        speakers[corpus] = len({t.enrol for t in trials[corpus]})
        cos = np.array([poc_cosine([emb_poc[f].vector for f in t.enrol], emb_poc[t.test].vector)
                        for t in trials[corpus]])
        baseline[corpus] = {"eer": evaluation.eer(cos, labels),
                            "far": evaluation.rates_at(cos, labels, POC_THRESHOLD)["far"]}
        for p in GRID:
            r = score_trials(trials[corpus], emb, settings, model_id, threshold, params=p)
            at = evaluation.rates_at(r.scores, r.labels, threshold)
            results[(corpus, p)] = {"eer": evaluation.eer(r.scores, r.labels), "far": at["far"],
                                    "far_ci": at["far_ci"], "frr": at["frr"], "fa": at["false_accepts"],
                                    "non": at["non_targets"], "min_dcf": evaluation.min_dcf(r.scores, r.labels),
                                    "strict": strict_targets(r.scores, r.labels)}
        print(f"{corpus}: embedded {len(files)} files", flush=True)
    print(f"\nmachine: {machine()}\nmodel: {model_id}; operating point: target FAR {args.target_far:.2%} "
          f"(score >= {threshold:.2f})\n")
    print("| corpus | speakers | plain cosine EER % | product EER % | minDCF | FAR at op % [95 % CI] | FRR at op % "
          "| plain cosine FAR at 0.25 % | setting (chosen without this corpus) |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows = {}
    for corpus in CORPORA:
        p = choose(results, [c for c in CORPORA if c != corpus], speakers, args.target_far)
        r, b = results[(corpus, p)], baseline[corpus]
        rows[corpus] = {"params": {"top_n": p.top_n, "drop": p.drop}, "product": r, "baseline": b,
                        "speakers": speakers[corpus]}
        print(f"| {corpus} | {speakers[corpus]} | {b['eer']:.2f} | {r['eer']:.2f} | {r['min_dcf']:.3f} | "
              f"{r['far']:.2f} [{r['far_ci'][0]:.2f}, {r['far_ci'][1]:.2f}] ({r['fa']}/{r['non']}) | {r['frr']:.2f} | "
              f"{b['far']:.1f} | top-N {p.top_n}, drop {p.drop} |")
    print("\nstricter operating points (FAR % [95 % CI] (false accepts/non-target trials), FRR %):")
    for corpus in CORPORA:
        cells = [f"{t}: {v['far']:.3f} [{v['far_ci'][0]:.3f}, {v['far_ci'][1]:.3f}] ({v['fa']}/{v['non']}), "
                 f"FRR {v['frr']:.1f}" for t, v in rows[corpus]["product"]["strict"].items()]
        print(f"  {corpus}: " + "; ".join(cells))
    pooled = pooled_strict(rows)
    print("  pooled over the four lists (each scored against its own gallery): " + "; ".join(
        f"{t}: {v['far']:.3f} [{v['far_ci'][0]:.3f}, {v['far_ci'][1]:.3f}] ({v['fa']}/{v['non']})"
        for t, v in pooled.items()))
    mean_b = np.mean([rows[c]["baseline"]["eer"] for c in CORPORA])
    mean_p = np.mean([rows[c]["product"]["eer"] for c in CORPORA])
    print(f"\nmean per-corpus EER: plain cosine {mean_b:.2f} %, product {mean_p:.2f} % "
          f"({100 * (1 - mean_p / mean_b):.1f} % relative lower)")
    everything = choose(results, CORPORA, speakers, args.target_far)
    print(f"setting chosen on all four corpora (the shipped default): top-N {everything.top_n}, drop {everything.drop}")
    gallery, probes = read_openset(TRIALS / "openset-librispeech.json")
    emb = embed_all({f for v in gallery.values() for f in v} | {p for p, _ in probes}, KIT, product)
    p_open = choose(results, ["hyke-telephone", "fsdd-digits"], speakers, args.target_far)
    o = score_openset(gallery, probes, emb, model_id, args.target_far, params=p_open, tail=settings.score_tail)
    print(f"\nopen set (setting chosen without LibriSpeech: top-N {p_open.top_n}, drop {p_open.drop}): "
          f"top-1 {o['top1']:.1f} %, DIR at 1 % FA {o['dir']:.1f} %, own decision: DIR {o['own_dir']:.1f} %, "
          f"unknowns accepted {o['own_false_alarms']}/{o['unknown_probes']}")
    if args.json:
        o.pop("probes")
        args.json.write_text(json.dumps({"machine": machine(), "model_id": model_id, "target_far": args.target_far,
                                         "corpora": rows, "mean_eer": {"baseline": mean_b, "product": mean_p},
                                         "strict_pooled": pooled,
                                         "default": {"top_n": everything.top_n, "drop": everything.drop},
                                         "openset": o}, indent=2))


if __name__ == "__main__":
    main()
