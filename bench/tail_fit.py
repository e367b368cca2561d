"""The far tail of the impostor scores: the normal fit against an extreme-value (peaks-over-threshold) fit.

The product calibrates a score as ``-log10`` of the estimated share of impostors scoring at least
as high; that share comes from a normal fit of the gallery's own impostor pairs. At the 1 % point
it holds on every kit list; at 0.1 % and 0.01 % it under-stated the false-accept rate of read
speech 2.5-6x (docs/accuracy.md, "Stricter operating points"). This scores every kit trial list
with the product's path twice, once per tail model, with everything else equal (gallery, bands,
cohort, AS-norm, the normal fit of the bulk):

- ``normal``: the shipped normal fit;
- ``gpd@q``: above the q-quantile of the gallery's impostor scores, a generalised Pareto fit of
  the excesses (``shared.scoring.calibration.Tail``), joined continuously to the normal fit below.

For each list and model: FAR [95 % CI] and FRR at targets of 1 %, 0.1 % and 0.01 %, and the pooled
false accepts over all lists (every list against its own gallery).

    .venv/bin/python -m bench.tail_fit [--models ecapa,campplus] [--quantiles 0.8,0.9,0.95] [--json F]

Needs the embeddings bench.accuracy caches (it embeds what is missing).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from bench.accuracy import strict_targets
from bench.common import KIT, TRIALS, machine, model_settings
from shared.embedding.embedder import get_embedder
from shared.evaluation import metrics as evaluation
from shared.evaluation.embedcache import cache_for
from shared.evaluation.trials import (
    embed_all,
    enrol_bands,
    enrol_models,
    read_trials,
    vector_of,
)
from shared.scoring.calibration import Calibration
from shared.scoring.normalization import impostor_scores
from shared.scoring.stats import build

CORPORA = ["hyke-telephone", "librispeech-multi", "librispeech-single", "fsdd-digits"]
TARGETS = (0.01, 0.001, 0.0001)


def list_scores(model: str, corpus: str, quantiles: list[float]) -> dict:
    """Each tail model's calibrated scores of every trial of ``corpus`` (and the labels, and the fits)."""
    settings = model_settings(model)
    model_id = get_embedder(settings).info.id
    trials = read_trials(TRIALS / f"{corpus}.txt")
    emb = embed_all({f for t in trials for f in (*t.enrol, t.test)}, KIT, cache_for(settings))
    keys, models = enrol_models((t.enrol for t in trials), emb)
    bands = enrol_bands(keys, emb)
    stats = build(keys, models, model_id, bands=bands).tail_model("normal")
    impostors = impostor_scores(keys, models, stats.cohort, stats.params.top_n, stats.params.drop)
    index = {k: i for i, k in enumerate(keys)}
    dim = models.shape[1]
    snorm = np.array([stats.score(vector_of(emb[t.test], dim), [",".join(t.enrol)],
                                  models[[index[",".join(t.enrol)]]])[0].snorm for t in trials])
    out = {"labels": np.array([t.label == 1 for t in trials]), "speakers": len(keys), "pairs": len(impostors),
           "scores": {"normal": np.array([stats.calibration.evidence(s) for s in snorm])}, "fits": {}}
    for q in quantiles:
        fitted = Calibration.fit(impostors, "gallery", tail_quantile=q)  # exactly the product's fit, at this quantile
        name = f"gpd@{q:g}"
        out["scores"][name] = np.array([fitted.evidence(s) - stats.margin for s in snorm])
        out["fits"][name] = None if fitted.tail is None else {"shape": fitted.tail.shape, "scale": fitted.tail.scale,
                                                               "exceedances": fitted.tail.exceedances}
    out["scores"]["normal"] = out["scores"]["normal"] - stats.margin
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="ecapa,campplus")
    parser.add_argument("--quantiles", default="0.8,0.9,0.95")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    quantiles = [float(q) for q in args.quantiles.split(",")]
    print(f"machine: {machine()}\n")
    results: dict = {}
    for model in args.models.split(","):
        per_list = {c: list_scores(model, c, quantiles) for c in CORPORA}
        tails = list(per_list[CORPORA[0]]["scores"])
        results[model] = {"lists": {}, "pooled": {}}
        print(f"{model}: FAR % (false accepts / non-targets), FRR % at each target")
        print("| list (speakers, impostor pairs) | tail | " + " | ".join(f"target {t:.2%}" for t in TARGETS) + " |")
        print("|---|---|" + "---|" * len(TARGETS))
        for c, got in per_list.items():
            results[model]["lists"][c] = {"speakers": got["speakers"], "pairs": got["pairs"], "fits": got["fits"],
                                          "rates": {}}
            for tail in tails:
                r = strict_targets(got["scores"][tail], got["labels"], TARGETS)
                results[model]["lists"][c]["rates"][tail] = r
                cells = [f"{v['far']:.3f} ({v['fa']}/{v['non']}), {v['frr']:.1f}" for v in r.values()]
                print(f"| {c} ({got['speakers']}, {got['pairs']}) | {tail} | " + " | ".join(cells) + " |")
        for tail in tails:
            row = {}
            for target in TARGETS:
                key = f"{target:g}"
                fa = sum(results[model]["lists"][c]["rates"][tail][key]["fa"] for c in CORPORA)
                non = sum(results[model]["lists"][c]["rates"][tail][key]["non"] for c in CORPORA)
                row[key] = {"far": 100 * fa / non, "far_ci": evaluation.wilson(fa, non), "fa": fa, "non": non}
            results[model]["pooled"][tail] = row
            cells = [f"{v['far']:.3f} [{v['far_ci'][0]:.3f}, {v['far_ci'][1]:.3f}] ({v['fa']}/{v['non']})"
                     for v in row.values()]
            print(f"| pooled | {tail} | " + " | ".join(cells) + " |")
        print()
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
