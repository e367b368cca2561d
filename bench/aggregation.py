"""Mean or max: how a speaker with several voiceprints should be scored, measured.

Speakers with several clips are enrolled with their first ``--enrol`` clips (one
voiceprint each, as the gallery stores them); every other clip is a probe, scored
against every enrolled speaker through the match worker's own stage-2 code
(``shared.scoring.probe.full_scores``) with ``mean`` (the normalised mean of the speaker's
voiceprints) and ``max`` (their best single voiceprint). Gallery statistics come from
the enrolled speakers, as in a deployment.

    .venv/bin/python -m bench.aggregation [--enrol 3] [--json docs/aggregation.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from bench.common import KIT, machine
from shared.core.settings import Settings
from shared.embedding.embedder import get_embedder
from shared.evaluation import metrics as evaluation
from shared.evaluation.embedcache import EmbeddingCache
from shared.evaluation.trials import embed_all
from shared.gallery.cache import PreparedShard
from shared.gallery.shards import Shard
from shared.scoring.calibration import threshold_for
from shared.scoring.normalization import speaker_models
from shared.scoring.probe import full_scores
from shared.scoring.stats import build

CORPORA = ("librispeech-multi", "hyke-telephone", "fsdd-digits")


def clips_by_speaker(corpus: str) -> dict[str, list[str]]:
    root = KIT / corpus
    return {d.name: [str(p.relative_to(KIT)) for p in sorted(d.glob("*.flac"))]
            for d in sorted(root.iterdir()) if d.is_dir()}


def measure(corpus: str, n_enrol: int, settings: Settings, model_id: str, cache: EmbeddingCache,
            threshold: float) -> dict:
    spk = clips_by_speaker(corpus)
    emb = embed_all([f for v in spk.values() for f in v], KIT, cache)
    rows = [(s, emb[f].vector) for s, files in spk.items() for f in files[:n_enrol]]
    shard = Shard(matrix=np.stack([v for _, v in rows]), entries=tuple({"key": s, "speaker": s} for s, _ in rows))
    keys, models = speaker_models(shard.matrix, shard.keys)
    stats = build(keys, models, model_id)
    prepared = PreparedShard.build(shard, stats, stats_etag=None)
    out = {}
    for aggregation in ("mean", "max"):
        scores, labels = [], []
        for owner, files in spk.items():
            for f in files[n_enrol:]:
                for s in full_scores(emb[f].vector, prepared, keys, models, stats, aggregation):
                    scores.append(s.score)
                    labels.append(s.key == owner)
        scores, labels = np.array(scores), np.array(labels)
        at = evaluation.rates_at(scores, labels, threshold)
        out[aggregation] = {"eer": evaluation.eer(scores, labels), "min_dcf": evaluation.min_dcf(scores, labels),
                            "far": at["far"], "frr": at["frr"], "trials": int(len(labels))}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--enrol", type=int, default=3, help="voiceprints per speaker (default 3)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    settings = Settings.from_env()
    model_id = get_embedder(settings).info.id
    threshold = threshold_for(settings.target_far)
    cache = EmbeddingCache(settings, model_id)
    print(f"machine: {machine()}\nmodel {model_id}; {args.enrol} voiceprints per speaker; target FAR "
          f"{settings.target_far:.2%}\n")
    print("| corpus | aggregation | EER % | minDCF | FAR at op % | FRR at op % |\n|---|---|---|---|---|---|")
    results = {}
    for corpus in CORPORA:
        results[corpus] = measure(corpus, args.enrol, settings, model_id, cache, threshold)
        for agg, r in results[corpus].items():
            print(f"| {corpus} | {agg} | {r['eer']:.2f} | {r['min_dcf']:.3f} | {r['far']:.2f} | {r['frr']:.2f} |",
                  flush=True)
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "model_id": model_id, "enrol": args.enrol,
                                         "corpora": results}, indent=2))


if __name__ == "__main__":
    main()
