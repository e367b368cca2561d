"""``voiceid adapt`` measured on the kit: each corpus plays a deployment whose gallery is every clip of it.

For every kit corpus (and all of them as one mixed deployment), every clip is embedded through
the product's front end and enrolled under its speaker, as a bank's gallery would hold them; then
exactly what ``voiceid adapt`` runs (``shared.evaluation.adaptation.evaluate``: speakers in five
folds, the back-end learned without the held-back fold, both sides scored the product's way) gives
the before/after table and the promotion decision. Nothing is tuned on any corpus: the method
and its shrinkage are fixed in ``shared/embedding/adaptation.py``.

    .venv/bin/python -m bench.adapt [--models ecapa,campplus] [--methods wccn,lda] [--json docs/adapt.json]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bench.common import KIT, machine, model_settings, write_results
from shared.embedding.embedder import get_embedder
from shared.evaluation.adaptation import better, evaluate
from shared.evaluation.embedcache import cache_for

CORPORA = ("hyke-telephone", "librispeech-multi", "librispeech-split", "fsdd-digits")


def gallery(model: str, corpus: str) -> tuple[np.ndarray, list[str], str]:
    """Every clip of ``corpus`` that the product would enrol, as (vectors, speaker keys, model id)."""
    settings = model_settings(model)
    cache = cache_for(settings)
    vectors, keys = [], []
    for path in sorted((KIT / corpus).glob("*/*.flac")):
        got = cache.get(path)
        if got.vector is not None and got.gate(settings.min_speech_enroll_s) is None:  # what enrolment accepts
            vectors.append(got.vector)
            keys.append(f"{corpus}/{path.parent.name}")
    dim = get_embedder(settings).info.dim
    return (np.stack(vectors) if vectors else np.zeros((0, dim), np.float32)), keys, get_embedder(settings).info.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="ecapa")
    parser.add_argument("--methods", default="wccn,lda")
    parser.add_argument("--corpora", default=",".join(CORPORA), help="kit corpora, each one deployment")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--target-far", type=float, default=0.01)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    print(f"machine: {machine()}; target FAR {args.target_far:.2%}\n")
    print("| model | deployment (speakers, voiceprints) | method | EER % before → after | minDCF before → after | "
          "FAR at op % before → after | FRR at op % before → after | promoted |")
    print("|---|---|---|---|---|---|---|---|")
    results: dict = {}
    for model in args.models.split(","):
        corpora = args.corpora.split(",")
        galleries = {c: gallery(model, c) for c in corpora}
        for c in [c for c, g in galleries.items() if len(set(g[1])) < 5]:
            print(f"| {model} | {c} ({len(set(galleries.pop(c)[1]))} speakers with a file enrolment accepts) | – | "
                  "too few to adapt or judge | | | | no |")
        if len(corpora) > 1:
            galleries[f"all {len(galleries)} together"] = (np.vstack([g[0] for g in galleries.values()]),
                                                           [k for g in galleries.values() for k in g[1]],
                                                           next(iter(galleries.values()))[2])
        for name, (vectors, keys, model_id) in galleries.items():
            for method in args.methods.split(","):
                base, adapted = evaluate(vectors, keys, model_id, method, args.folds)
                before, after = base.report(args.target_far), adapted.report(args.target_far)
                ok, why = better(before, after, args.target_far)
                results[f"{model}/{name}/{method}"] = {"speakers": len(set(keys)), "voiceprints": len(keys),
                                                       "before": before, "after": after, "promoted": ok, "why": why}
                print(f"| {model} | {name} ({len(set(keys))}, {len(keys)}) | {method} | {before['eer']:.2f} → "
                      f"{after['eer']:.2f} | {before['min_dcf']:.3f} → {after['min_dcf']:.3f} | {before['far']:.2f} → "
                      f"{after['far']:.2f} | {before['frr']:.2f} → {after['frr']:.2f} | {'yes' if ok else 'no'} |",
                      flush=True)
    if args.json:
        write_results(args.json, args.target_far, results)


if __name__ == "__main__":
    main()
