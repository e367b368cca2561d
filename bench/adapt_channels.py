"""Would a back-end learned on channel-augmented copies help the hard channels? Measured across corpora.

``voiceid adapt`` learns WCCN from the gallery's stored voiceprints; on the kit that gains nothing
(bench/adapt.py), because the stored voiceprints barely vary in channel. A bank can add what its
gallery lacks: copies of every enrolment through the phone codecs, babble, noise and rooms of
``shared/evaluation/conditions.py``, labelled with the same speaker, so the within-speaker covariance
learns the channel directions. This measures that recipe before it is built into the command:

- learn WCCN on one LibriSpeech list's speakers (their clean files and every condition's copy of
  them, **except the condition measured**: leave one condition out),
- apply it to the *other* list (never seen) and score it exactly as bench.channels does (enrol
  clean, probe under the condition, the product's statistics and calibration),
- against the unadapted model on the same trials.

    .venv/bin/python -m bench.adapt_channels [--models ecapa] [--json docs/adapt_channels.json]

Needs the embeddings bench.channels caches (it builds any that are missing).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.channels import LISTS, Conditioned, report
from bench.common import TRIALS, machine
from shared.core.settings import Settings
from shared.embedding.adaptation import fit
from shared.embedding.embedder import get_embedder
from shared.evaluation.conditions import BY_NAME, CONDITIONS
from shared.evaluation.embedcache import FileEmbedding, cache_for
from shared.evaluation.trials import read_trials, score_trials
from shared.scoring.calibration import threshold_for


def speaker(path: str) -> str:
    return path.split("/")[1]


def files_of(name: str) -> tuple[list, list[str]]:
    trials = read_trials(TRIALS / f"{name}.txt")
    return trials, sorted({f for t in trials for f in (*t.enrol, t.test)})


def adapted(emb: dict[str, FileEmbedding], learned) -> dict[str, FileEmbedding]:
    return {f: replace(e, vector=None if e.vector is None else learned.apply(e.vector)) for f, e in emb.items()}


def run(model: str, target_far: float) -> dict:
    env = Settings.from_env()
    settings = replace(env, model=model, model_source=env.model_source if model == env.model else "")
    model_id = get_embedder(settings).info.id
    files = Conditioned(cache_for(settings))
    threshold = threshold_for(target_far)
    conditions = [c for c in CONDITIONS if c.name != "clean"]
    out: dict = {}
    for name, other in LISTS.items():  # score `name`, learn on `other`
        trials, paths = files_of(name)
        _, train_paths = files_of(other)
        clean = {f: files.get(f, BY_NAME["clean"], other) for f in paths}
        train = {c.name: [files.get(f, c, name) for f in train_paths] for c in [BY_NAME["clean"], *conditions]}
        out[name] = {}
        for c in conditions:
            rows = [(speaker(f), e.vector) for cond, got in train.items() if cond != c.name
                    for f, e in zip(train_paths, got) if e.vector is not None]
            learned = fit(np.stack([v for _, v in rows]), [s for s, _ in rows], model_id, "wccn")
            probe = {**clean, **{t.test: files.get(t.test, c, other) for t in trials}}
            base = score_trials(trials, probe, settings, model_id, threshold)
            adapt = score_trials(trials, adapted(probe, learned), settings, learned.info().id, threshold)
            out[name][c.name] = {"base": report(base.scores, base.labels, threshold),
                                 "adapted": report(adapt.scores, adapt.labels, threshold)}
            b, a = out[name][c.name]["base"], out[name][c.name]["adapted"]
            print(f"| {model} | {name} | {c.name} | {b['eer']:.2f} → {a['eer']:.2f} | {b['far']:.2f} → {a['far']:.2f} |",
                  flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="ecapa")
    parser.add_argument("--target-far", type=float, default=0.01)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    print(f"machine: {machine()}; target FAR {args.target_far:.2%}\n")
    print("| model | scored list | probe condition (left out of training) | EER % unadapted → adapted | "
          "FAR at op % unadapted → adapted |")
    print("|---|---|---|---|---|")
    results = {m: run(m, args.target_far) for m in args.models.split(",")}
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "target_far": args.target_far, "results": results},
                                        indent=2))


if __name__ == "__main__":
    main()
