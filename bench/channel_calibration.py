"""Would calibrating each channel pair on its own fix the mixed-channel gallery? Measured offline.

bench.channels shows that in a gallery enrolled half over a phone line (AMR-NB 12.2) and half in
the app, one normal fit of all impostor pairs is right for neither kind of pair: impostors on the
enrolment's channel get in at 2.5-4x the target, those on the other channel almost never, and
CAM++'s FRR rises to 12-17 %. This fits the calibration separately to same-channel and
cross-channel impostor pairs of the gallery and scores every trial with the fit of its pair class,
with the channels *known* (the product would detect them; not built yet). Same gallery, same
trials, same AS-norm scores: only the calibration differs.

    .venv/bin/python -m bench.channel_calibration [--models ecapa,campplus]

Needs the embeddings bench.channels cached (its amr-nb-12k2 files).
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np

from bench.channels import BUILT, MIXED_PHONE
from bench.common import KIT, TRIALS, machine
from shared.core.settings import Settings
from shared.evaluation.conditions import BY_NAME
from shared.evaluation.embedcache import cache_for
from shared.evaluation.trials import enrol_models, read_trials
from shared.scoring.calibration import Calibration, threshold_for
from shared.scoring.normalization import impostor_pairs, impostor_scores, score
from shared.scoring.stats import build


def run(model: str, name: str, threshold: float) -> None:
    settings = replace(Settings.from_env(), model=model, model_source="")
    cache = cache_for(settings)
    phone_suffix = BY_NAME[MIXED_PHONE].suffix

    def emb(rel: str, phone: bool) -> np.ndarray:
        return cache.get((BUILT / MIXED_PHONE / rel).with_suffix(phone_suffix) if phone else KIT / rel)

    trials = read_trials(TRIALS / f"{name}.txt")
    speakers = sorted({t.enrol for t in trials})
    by_phone = {g for i, g in enumerate(speakers) if i % 2 == 0}
    files = {f: emb(f, g in by_phone) for g in speakers for f in g}
    keys, models = enrol_models([t.enrol for t in trials], files)
    stats = build(keys, models, cache.model_id)
    phone = np.array([tuple(k.split(",")) in by_phone for k in keys])
    pair_class = np.array([phone[i] == phone[j] for i, j in impostor_pairs(keys)])
    impostors = impostor_scores(keys, models, stats.cohort)
    fits = {True: Calibration.fit(impostors[pair_class], "gallery"),
            False: Calibration.fit(impostors[~pair_class], "gallery")}
    index = {k: i for i, k in enumerate(keys)}
    for caller_phone in (False, True):
        rows = []
        for t in trials:
            j = index[",".join(t.enrol)]
            snorm = score(emb(t.test, caller_phone).vector, [keys[j]], models[[j]], stats.cohort)[0].snorm
            same = phone[j] == caller_phone
            rows.append((t.label == 1, same, stats.calibration.evidence(snorm), fits[same].evidence(snorm)))
        target, same, pooled, aware = (np.array(c) for c in zip(*rows))
        for label, s in (("one fit (today)", pooled), ("a fit per channel pair", aware)):
            fa_same = 100 * np.mean(s[~target & same] >= threshold)
            fa_cross = 100 * np.mean(s[~target & ~same] >= threshold)
            frr = 100 * np.mean(s[target] < threshold)
            print(f"| {cache.model_id.split('@')[0]} | {name} | {'phone' if caller_phone else 'app'} | {label} | "
                  f"{fa_same:.2f} | {fa_cross:.2f} | {frr:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="ecapa,campplus")
    parser.add_argument("--target-far", type=float, default=0.01)
    args = parser.parse_args()
    print(f"machine: {machine()}; target FAR {args.target_far:.2%}\n")
    print("| model | list | callers | calibration | FAR vs same-channel enrolments % | FAR vs other-channel % | FRR % |")
    print("|---|---|---|---|---|---|---|")
    for model in args.models.split(","):
        for name in ("librispeech-single", "librispeech-multi"):
            run(model, name, threshold_for(args.target_far))


if __name__ == "__main__":
    main()
