"""How many speakers of each band a channel-aware fit needs: the mixed gallery at every size, measured.

bench.channels shows that in a gallery enrolled half over a phone line (AMR-NB 12.2) and half in
the app, one normal fit of all impostor pairs is right for neither kind of pair. The product now
fits each pair class of bands on its own once both bands have ``MIN_BAND_SPEAKERS`` speakers
(:mod:`shared.scoring.bands`). This measures that rule with the product's own path: every file's
band is *detected* by the pipeline's front end (the detection is scored too), the statistics are
built by ``shared.scoring.stats.build``, and the trials are scored by ``score_trials``.

For each gallery size N, ``--draws`` random sets of N readers of ``librispeech-single`` (half of them
enrolled over the phone, the other half in the app) are scored with every probe in both
channels, once per threshold ``min_band_speakers`` (below it a class's fit can only make a score
stricter; "one fit (before)": no bands at all, as the product scored before).
False accepts and trials are summed over the draws, so each cell is one rate over all of them.

    .venv/bin/python -m bench.channel_calibration [--models ecapa,campplus] [--sizes 10,20,30,40,60]

Needs the embeddings bench.channels caches (its ``amr-nb-12k2`` files); builds any that are missing.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np

from bench.channels import LISTS, MIXED_PHONE, Conditioned
from bench.common import TRIALS, machine, model_settings, write_results
from shared.embedding.embedder import get_embedder
from shared.evaluation.conditions import BY_NAME
from shared.evaluation.embedcache import cache_for
from shared.evaluation.trials import read_trials, score_trials
from shared.scoring.calibration import threshold_for

RULES = {"one fit (before)": None, "3": 3, "5": 5, "10 (shipped)": 10, "15": 15, "20": 20}


def speaker(path: str) -> str:
    return path.split("/")[1]


def counts(scores: np.ndarray, labels: np.ndarray, same: np.ndarray, threshold: float) -> np.ndarray:
    """False accepts and non-targets against same- and other-channel enrolments, false rejects and targets."""
    acc = scores >= threshold
    return np.array([(acc & ~labels & same).sum(), (~labels & same).sum(), (acc & ~labels & ~same).sum(),
                     (~labels & ~same).sum(), (~acc & labels).sum(), labels.sum()], np.int64)


def run(model: str, name: str, sizes: list[int], draws: int, threshold: float) -> dict:
    settings = model_settings(model)
    model_id = get_embedder(settings).info.id
    files = Conditioned(cache_for(settings))
    trials = read_trials(TRIALS / f"{name}.txt")
    paths = sorted({f for t in trials for f in (*t.enrol, t.test)})
    clean = {f: files.get(f, BY_NAME["clean"], LISTS[name]) for f in paths}
    phone = {f: files.get(f, BY_NAME[MIXED_PHONE], LISTS[name]) for f in paths}
    detection = {"clean_wide": float(np.mean([e.band == "wide" for e in clean.values()])),
                 "phone_narrow": float(np.mean([e.band == "narrow" for e in phone.values()]))}
    readers = sorted({speaker(t.test) for t in trials})
    out: dict = {"detection": detection, "sizes": {}}
    for n in [s for s in sizes if s <= len(readers)]:
        totals = {rule: {"app": np.zeros(6, np.int64), "phone": np.zeros(6, np.int64)} for rule in RULES}
        for d in range(draws if n < len(readers) else 1):
            chosen = set(random.Random(f"{name}|{n}|{d}").sample(readers, n))
            subset = [t for t in trials if speaker(t.test) in chosen and speaker(t.enrol[0]) in chosen]
            by_phone = {s for i, s in enumerate(sorted(chosen)) if i % 2 == 0}
            enrol = {f: (phone if speaker(f) in by_phone else clean)[f] for t in subset for f in t.enrol}
            same_as = {"app": np.array([speaker(t.enrol[0]) not in by_phone for t in subset]),
                       "phone": np.array([speaker(t.enrol[0]) in by_phone for t in subset])}
            for caller, source in (("app", clean), ("phone", phone)):
                emb = {**{t.test: source[t.test] for t in subset}, **enrol}
                for rule, minimum in RULES.items():
                    r = score_trials(subset, emb, settings, model_id, threshold, min_band_speakers=minimum,
                                     use_bands=minimum is not None)
                    totals[rule][caller] += counts(r.scores, r.labels, same_as[caller], threshold)
        out["sizes"][n] = {rule: {c: v.tolist() for c, v in by.items()} for rule, by in totals.items()}
    return out


def pct(a: int, b: int) -> str:
    return f"{100 * a / b:.2f}" if b else "-"


def print_table(model: str, name: str, result: dict) -> None:
    det = result["detection"]
    print(f"\n{model}, {name}: bands detected: clean classed wide {100 * det['clean_wide']:.1f} %, "
          f"{MIXED_PHONE} classed narrow {100 * det['phone_narrow']:.1f} %")
    print("| readers | min speakers per band | app callers: FAR (vs same / other channel), FRR % | "
          "phone callers: FAR (vs same / other), FRR % |")
    print("|---|---|---|---|")
    for n, by_rule in result["sizes"].items():
        for rule, by in by_rule.items():
            cells = [f"{pct(v[0] + v[2], v[1] + v[3])} ({pct(v[0], v[1])} / {pct(v[2], v[3])}), {pct(v[4], v[5])}"
                     for v in (by["app"], by["phone"])]
            print(f"| {n} | {rule} | {cells[0]} | {cells[1]} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="ecapa,campplus")
    parser.add_argument("--lists", default="librispeech-single")
    parser.add_argument("--sizes", default="10,20,30,40,60", help="gallery sizes (readers) to draw")
    parser.add_argument("--draws", type=int, default=10, help="random galleries per size below the full list")
    parser.add_argument("--target-far", type=float, default=0.01)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--summary", type=Path, metavar="JSON", help="print the tables of an earlier --json run, and stop")
    args = parser.parse_args()
    if args.summary:
        for key, got in json.loads(args.summary.read_text())["results"].items():
            print_table(*key.split("/"), got)
        return
    print(f"machine: {machine()}; target FAR {args.target_far:.2%}")
    results: dict = {}
    for model in args.models.split(","):
        for name in args.lists.split(","):
            got = run(model, name, [int(s) for s in args.sizes.split(",")], args.draws,
                      threshold_for(args.target_far))
            results[f"{model}/{name}"] = got
            print_table(model, name, got)
    if args.json:
        write_results(args.json, args.target_far, results)


if __name__ == "__main__":
    main()
