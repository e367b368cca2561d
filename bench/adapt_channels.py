"""Channel-degraded copies of the enrolments: do they help on hard channels, and do they cost on clean ones?

``voiceid adapt`` learns a back-end from the gallery's own voiceprints; a deployment whose customers
all enrolled in the app has no within-speaker channel variation to learn from. The idea measured
here gives each enrolment file copies through simulated channels (``shared.audio.channels.channel_copy``:
a phone line, pink noise, babble of other enrolled voices, a room; draws fixed in advance), so that
a back-end learns which directions a channel moves a voice. This measures, on the trial lists of
``bench.channels`` (enrol clean, probe through every condition built there), four ways of using them:

- ``shipped``: no back-end (today's product);
- ``wccn``: WCCN learned on the clean enrolments and their copies (what adapt would learn from a
  gallery's enrolment audio, never a probe);
- ``wccn-held-out-family``: the same, with the copies of the family that simulates the measured
  condition left out (phone for codecs and band limits, babble, noise, room), so a condition is
  never measured with its own kind of copy in training;
- ``wccn-other-corpus``: learned on the other list's speakers only (no speaker of the measured
  list), family held out too: the strictest.

Result (docs/accuracy.md): worse on unseen channels, so ``voiceid adapt`` does not use copies.

    .venv/bin/python -m bench.adapt_channels [--models ecapa] [--json docs/adapt_channels.json]

Needs ``bench.channels`` files (built on first use, ~15 min per list and model on 2 CPU cores);
the copies cost four embeddings per enrolment file on top.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.channels import BUILT, LISTS, Conditioned, report
from bench.common import KIT, TRIALS, decoded, machine, model_settings, write_results
from shared.audio.channels import COPY_FAMILIES, channel_copy
from shared.embedding.adaptation import Adaptation, fit
from shared.embedding.embedder import get_embedder
from shared.evaluation.conditions import (
    BY_NAME,
    CONDITIONS,
    Condition,
    seed_for,
    write_wav,
)
from shared.evaluation.embedcache import FileEmbedding, cache_for
from shared.evaluation.trials import read_trials, score_trials
from shared.scoring.calibration import threshold_for

COPIES = BUILT.parent / "copies"


def family_of(condition: Condition) -> set[str]:
    """The copy families that simulate ``condition`` (left out of training when it is measured)."""
    if condition.kind in ("band", "codec"):
        return {"phone"}
    if condition.kind == "phone-babble":
        return {"phone", "babble"}
    return {"babble": {"babble"}, "noise": {"noise"}, "reverb": {"room"}}.get(condition.kind, set())


def speaker(rel: str) -> str:
    return rel.rsplit("/", 2)[-2]


def copies_of(files: list[str], cache) -> dict[tuple[str, str], FileEmbedding]:
    """Each enrolment file's copy per family (babble from the other speakers' enrolment files)."""
    clean = {f: decoded(KIT / f) for f in files}
    out = {}
    for f in files:
        voices = [x for g, x in clean.items() if speaker(g) != speaker(f)]
        for family in COPY_FAMILIES:
            path = (COPIES / family / f).with_suffix(".wav")
            if not path.is_file():
                path.parent.mkdir(parents=True, exist_ok=True)
                write_wav(channel_copy(clean[f], family, np.random.default_rng(seed_for(family, f)), voices), path)
            out[(f, family)] = cache.get(path)
    return out


def learn(files: list[str], clean: dict, copies: dict, families: set[str], model_id: str) -> Adaptation:
    rows, labels = [], []
    for f in files:
        for fe in [clean[f]] + [copies[(f, fam)] for fam in sorted(families)]:
            if fe.vector is not None:
                rows.append(fe.vector)
                labels.append(speaker(f))
    return fit(np.stack(rows), labels, model_id, "wccn")


def adapted(emb: dict[str, FileEmbedding], a: Adaptation | None) -> dict[str, FileEmbedding]:
    if a is None:
        return emb
    return {k: replace(fe, vector=a.apply(fe.vector)) if fe.vector is not None else fe for k, fe in emb.items()}


def run(model: str, conditions: list[Condition], target_far: float, measured: tuple[str, ...] = tuple(LISTS)) -> dict:
    settings = model_settings(model, target_far=target_far)
    model_id = get_embedder(settings).info.id
    threshold = threshold_for(target_far)
    cache = cache_for(settings)
    product = Conditioned(cache)
    lists = {}
    for name, pool in LISTS.items():
        trials = read_trials(TRIALS / f"{name}.txt")
        enrols = sorted({f for t in trials for f in t.enrol})
        tests = sorted({t.test for t in trials})
        clean = {f: product.get(f, BY_NAME["clean"], pool) for f in enrols + tests}
        lists[name] = (trials, enrols, tests, clean, copies_of(enrols, cache))
    out: dict = {"model_id": model_id, "lists": {}}
    for name, (trials, enrols, tests, clean, copies) in ((n, lists[n]) for n in measured):
        other, pool = LISTS[name], LISTS[name]
        o_trials, o_enrols, _, o_clean, o_copies = lists[other]
        mine = {speaker(f) for f in enrols}
        o_enrols = [f for f in o_enrols if speaker(f) not in mine]  # the two LibriSpeech lists share 3 readers
        everything = set(COPY_FAMILIES)
        backends = {"wccn": learn(enrols, clean, copies, everything, model_id)}
        rows: dict = {}
        for c in conditions:
            left = everything - family_of(c)
            backends_c = {"shipped": None, **backends,
                          "wccn-held-out-family": learn(enrols, clean, copies, left, model_id),
                          "wccn-other-corpus": learn(o_enrols, o_clean, o_copies, left, model_id)}
            emb = dict(clean)
            emb.update({f: product.get(f, c, pool) for f in tests} if c.kind != "clean" else {})
            rows[c.name] = {}
            for variant, a in backends_c.items():
                mid = a.info().id if a else model_id
                r = score_trials(trials, adapted(emb, a), settings, mid, threshold)
                rows[c.name][variant] = report(r.scores, r.labels, threshold)
            print(f"{model} {name} {c.name}: " + ", ".join(f"{v} {r['eer']:.2f} % ({r['far']:.2f})"
                                                          for v, r in rows[c.name].items()), flush=True)
        out["lists"][name] = {"speakers": len(enrols), "conditions": rows}
    return out


def table(results: dict) -> None:
    for model, res in results.items():
        for name, block in res["lists"].items():
            rows = block["conditions"]
            variants = list(next(iter(rows.values())))
            print(f"\n{res['model_id']} — {name} ({block['speakers']} enrolled): EER % (FAR at the 1 % point %)\n")
            print("| probe condition | " + " | ".join(variants) + " |")
            print("|---|" + "---|" * len(variants))
            for cname, r in rows.items():
                print(f"| {cname} | " + " | ".join(f"{r[v]['eer']:.2f} ({r[v]['far']:.2f})" for v in variants) + " |")
            means = {v: np.mean([r[v]["eer"] for r in rows.values()]) for v in variants}
            print("| mean | " + " | ".join(f"{means[v]:.2f}" for v in variants) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="ecapa")
    parser.add_argument("--conditions", default=",".join(c.name for c in CONDITIONS))
    parser.add_argument("--target-far", type=float, default=0.01)
    parser.add_argument("--lists", default=",".join(LISTS), help="trial lists to measure (both are read)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    conditions = [BY_NAME[c] for c in args.conditions.split(",")]
    results = {m: run(m, conditions, args.target_far, tuple(args.lists.split(","))) for m in args.models.split(",")}
    print(f"\nmachine: {machine()}")
    table(results)
    if args.json:
        write_results(args.json, args.target_far, results)


if __name__ == "__main__":
    main()
