"""How small a gallery can calibrate itself: the cold-start boundary, measured.

For gallery sizes N = 2..20, enrol N speakers drawn at random from one corpus (their
trial-list enrolment clip), build the gallery statistics two ways, and score every
test clip of the corpus against every enrolled speaker (1:1 claims; impostors are
the other enrolled speakers and the callers who were never enrolled):

* ``gallery``: statistics from the N enrolled speakers alone;
* ``+cohort``: the N speakers plus the shipped cold-start cohort, *without* its
  entries from the corpus measured (a deployment's cohort is always strangers).

It reports the false-accept rate at the 1 % operating point pooled over the draws,
and the 90th percentile of the per-draw FAR (what an unlucky small deployment sees).

It then writes the cold-start margins the product applies (``shared/cohorts/<model>.cold_start.json``):
for each measured size below ``TRUSTED_FROM``, how far above the operating point's threshold the
score must be for the false-accept rate to stay at the target on the *worst* corpus, with the
statistics the product uses at that size (the cohort joins below ``MIN_GALLERY_SPEAKERS``).

    .venv/bin/python -m bench.gallery_size [--draws 40] [--json docs/gallery_size.json]
    VOICEID_MODEL=fusion .venv/bin/python -m bench.gallery_size --json docs/gallery_size-fusion.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from bench.common import KIT, TRIALS, machine
from shared.core.settings import Settings
from shared.embedding.embedder import get_embedder
from shared.evaluation.embedcache import cache_for
from shared.evaluation.trials import embed_all, read_trials
from shared.scoring.calibration import threshold_for
from shared.scoring.stats import (
    COHORT_DIR,
    MIN_GALLERY_SPEAKERS,
    TRUSTED_FROM,
    build,
    shipped_cohort,
)

CORPORA = {"hyke-telephone": "hyke-telephone", "librispeech-multi": "librispeech-multi",
           "librispeech-single": "librispeech-single"}  # trial list -> cohort key prefix to leave out
SIZES = [2, 3, 4, 5, 6, 8, 10, 15, 20]


def speakers_of(corpus: str) -> dict[str, list[str]]:
    """enrol file -> its speaker's genuine test files, from the trial list."""
    out: dict[str, list[str]] = {}
    for t in read_trials(TRIALS / f"{corpus}.txt"):
        tests = out.setdefault(t.enrol[0], [])
        if t.label == 1:
            tests.append(t.test)
    return out


def impostor_scores_of_draw(enrolled: list[str], spk: dict[str, list[str]], vec: dict, model_id: str, cohort,
                            use_cohort: bool) -> np.ndarray:
    """Calibrated scores of every impostor trial against one drawn gallery."""
    models = np.stack([vec[e] for e in enrolled])
    stats = build(enrolled, models, model_id, fallback=cohort, min_speakers=10**9 if use_cohort else 0, margins=False)
    out = []
    for owner, tests in spk.items():
        for test in tests:
            scored = stats.score(vec[test], enrolled, models)
            out += [s.score for e, s in zip(enrolled, scored) if e != owner]
    return np.array(out)


def write_margins(corpora: dict, model_id: str, threshold: float, target_far: float, draws: int) -> Path:
    """The measured cold-start margin per gallery size, for :func:`shared.scoring.stats.cold_start_margin`."""
    margins = {}
    for n in sorted({int(n) for rows in corpora.values() for n in rows}):
        if n >= TRUSTED_FROM:
            continue
        variant = "+cohort" if n < MIN_GALLERY_SPEAKERS else "gallery"
        needed = max(rows[n][variant]["needed"] for rows in corpora.values() if n in rows)
        margins[n] = round(max(0.0, needed - threshold), 2)
    path = COHORT_DIR / f"{model_id.replace('@', '__')}.cold_start.json"
    path.write_text(json.dumps({"model_id": model_id, "target_far": target_far, "trusted_from": TRUSTED_FROM,
                                "margins": margins, "made_by": f"bench/gallery_size.py --draws {draws}",
                                "corpora": sorted(corpora)}, indent=2) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--draws", type=int, default=40)
    parser.add_argument("--target-far", type=float, default=0.01)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    settings = Settings.from_env()
    model_id = get_embedder(settings).info.id
    threshold = threshold_for(args.target_far)
    shipped = shipped_cohort(model_id)
    cache = cache_for(settings)
    rng = np.random.default_rng(7)
    out = {}
    print(f"machine: {machine()}\nmodel {model_id}; target FAR {args.target_far:.2%}; {args.draws} draws per size\n")
    print("| corpus | N | gallery FAR % (p90 of draws) | score for the target | +cohort FAR % (p90) "
          "| score for the target |\n|---|---|---|---|---|---|")
    for corpus, prefix in CORPORA.items():
        spk = speakers_of(corpus)
        files = set(spk) | {f for v in spk.values() for f in v}
        vec = {k: fe.vector for k, fe in embed_all(files, KIT, cache).items()}
        keep = [i for i, k in enumerate(shipped[0]) if not k.startswith(f"cohort:{prefix}/")]
        cohort = ([shipped[0][i] for i in keep], shipped[1][keep])
        for n in [s for s in SIZES if s < len(spk)]:
            row = {}
            for variant in ("gallery", "+cohort"):
                per = [impostor_scores_of_draw(list(rng.choice(sorted(spk), n, replace=False)), spk, vec, model_id,
                                               cohort, variant == "+cohort") for _ in range(args.draws)]
                pooled = np.concatenate(per)
                row[variant] = {"far": 100 * float(np.mean(pooled >= threshold)),
                                "p90": float(np.percentile([100 * np.mean(p >= threshold) for p in per], 90)),
                                "needed": float(np.quantile(pooled, 1 - args.target_far))}
            out.setdefault(corpus, {})[n] = row
            g, c = row["gallery"], row["+cohort"]
            print(f"| {corpus} | {n} | {g['far']:.2f} ({g['p90']:.1f}) | {g['needed']:.2f} | {c['far']:.2f} "
                  f"({c['p90']:.1f}) | {c['needed']:.2f} |", flush=True)
    print(f"\nwrote {write_margins(out, model_id, threshold, args.target_far, args.draws)}")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "model_id": model_id, "target_far": args.target_far,
                                         "draws": args.draws, "corpora": out}, indent=2))


if __name__ == "__main__":
    main()
