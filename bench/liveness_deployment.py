"""A new deployment's channel: the liveness back-end on live speech it never heard, with and without a calibration
on that deployment's own live recordings.

    .venv/bin/python -m bench.liveness_deployment [--replays] [--json docs/liveness_deployment.json]

A bank's callers come through a channel the shipped back-end was not trained on. Here each live corpus
of the kit in turn plays the deployment: its live clips are left out of training entirely (with the
simulated copies made from them), and so is each attack family in turn. Two operating points:

* **shipped**: the threshold set on the training live speech (BPCER 2 % there), as the artefact ships;
* **deployment-calibrated**: the threshold set on half of the deployment's own live clips (split by
  speaker; :func:`shared.liveness.calibration.LiveCalibration` on those scores, as
  ``voiceid liveness calibrate`` does), BPCER measured on the other half, then the halves swapped.

APCER is of the held-out family's attacks at each threshold. The attacks are the kit's own recordings,
not the deployment's channel: the figure says how much the calibrated threshold gives away, not how
attacks sound on that line.

The **strict point** (refusal by the detector alone, :func:`shared.liveness.calibration.strict_from`) is
a margin beyond the most attack-like live clip the back-end's calibration holds, in units of those
live scores' spread. Every margin of ``--margins`` is tried with each corpus held out (its threshold
from the training live speech alone); the one published is the smallest at which no held-out corpus
has more than ``--strict-bpcer`` (0.5 %) of its live clips refused, with the share of each family's
attacks it refuses outright (the rest are challenged). ``--candidates`` compares feature sets
(``--aasist5``: with the ASVspoof 5 baseline AASIST's read-out, as ``bench.liveness_backend``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

from bench.common import KIT, machine
from bench.liveness_backend import CANDIDATES, SHIPPED, Study, aasist5_cache
from shared.evaluation import pad
from shared.evaluation.liveness import read_protocol
from shared.liveness.backend import LinearBackend
from shared.liveness.calibration import strict_from
from shared.liveness.features import FeatureCache

MARGINS = tuple(round(0.25 * k, 2) for k in range(0, 41))  # 0 .. 10 spreads beyond the most attack-like live clip
MIN_CLIPS = 40  # a deployment needs this many live clips to split in two and set a threshold on each half


def halves(paths: list[str]) -> np.ndarray:
    """Half 0 or 1 of each clip: by speaker folder when the corpus has several, else by clip."""
    folders = [p.rsplit("/", 1)[0] for p in paths]
    keys = folders if len(set(folders)) >= 4 else paths
    return np.array([int(hashlib.sha256(k.encode()).hexdigest(), 16) % 2 for k in keys])


def made_from(st: Study, corpus: str) -> np.ndarray:
    """Rows of the corpus and every simulated copy made from its live clips."""
    return np.array([g == corpus or g.endswith(":" + corpus) for g in st.group])


def deployment_run(st: Study, rows, corpus: str, target: float, use: tuple[str, ...], l2: float,
                   groups: bool = False, margins: tuple[float, ...] = MARGINS) -> dict:
    clip = st.origin == "clip"
    usable = np.isin(st.origin, use)
    live_d = clip & ~st.attack & (st.group == corpus)
    paths = [rows[i].path for i in np.flatnonzero(live_d)]
    half = halves(paths)
    out = {"clips": int(live_d.sum()), "families": {}}
    shipped_live, calibrated_live, strict_live = [], [], []
    for fam in sorted(str(f) for f in set(st.family[clip & st.attack])):
        train = usable & (st.family != fam) & ~made_from(st, corpus)
        backend = LinearBackend.fit(st.x[train], st.attack[train], l2=l2, groups=st.group[train] if groups else None)
        train_live = backend.attack_scores(st.x[clip & ~st.attack & train])
        shipped = pad.threshold_at_bpcer(train_live, target)
        strict = [strict_from(train_live, m) for m in margins]
        s_live = backend.attack_scores(st.x[live_d])
        strict_live.append([s_live >= t for t in strict])
        s_attack = backend.attack_scores(st.x[clip & (st.family == fam)])
        own = [pad.threshold_at_bpcer(s_live[half == h], target) for h in (0, 1)]
        shipped_live.append(s_live >= shipped)
        calibrated_live.append(np.where(half == 0, s_live >= own[1], s_live >= own[0]))
        out["families"][fam] = {"apcer_shipped": round(100 * float(np.mean(s_attack < shipped)), 1),
                                "apcer_calibrated": round(100 * float(np.mean([np.mean(s_attack < t) for t in own])), 1),
                                "eer": round(pad.eer(np.r_[s_attack, s_live],
                                                     np.r_[np.ones(len(s_attack), bool), np.zeros(len(s_live), bool)]), 1),
                                "refused_strict": [round(100 * float(np.mean(s_attack >= t)), 1) for t in strict]}
    out["bpcer_shipped"] = round(100 * float(np.mean(np.mean(shipped_live, axis=0) >= 0.5)), 1)
    out["bpcer_calibrated"] = round(100 * float(np.mean(np.mean(calibrated_live, axis=0) >= 0.5)), 1)
    out["bpcer_strict"] = [round(100 * float(np.mean(np.mean(flags, axis=0) >= 0.5)), 2)  # per margin
                           for flags in zip(*strict_live)]
    fams = out["families"]
    out["worst_apcer_shipped"] = max(f["apcer_shipped"] for f in fams.values())
    out["worst_apcer_calibrated"] = max(f["apcer_calibrated"] for f in fams.values())
    return out


def strict_choice(deployments: dict, margins: tuple[float, ...], limit: float) -> dict:
    """The smallest margin at which every held-out corpus keeps BPCER <= ``limit``, and what it does there."""
    ok = [i for i in range(len(margins)) if all(d["bpcer_strict"][i] <= limit for d in deployments.values())]
    if not ok:
        return {"margin": None, "note": f"no margin up to {margins[-1]} keeps every held-out corpus <= {limit} %"}
    i = ok[0]
    families = sorted({f for d in deployments.values() for f in d["families"]})
    refused = {f: round(float(np.mean([d["families"][f]["refused_strict"][i] for d in deployments.values()])), 1)
               for f in families}
    return {"margin": margins[i], "bpcer_per_corpus": {c: d["bpcer_strict"][i] for c, d in deployments.items()},
            "attacks_refused_outright_per_family": refused}


def run_candidate(st: Study, rows, corpora, args, use, margins) -> dict:
    deployments = {}
    for corpus in corpora:
        run = deployment_run(st, rows, corpus, args.target_bpcer, use, args.l2, args.groups, margins)
        deployments[corpus] = run
        print(f"  {corpus:24s} {run['clips']:4d} clips  BPCER shipped {run['bpcer_shipped']:5.1f} %  calibrated "
              f"{run['bpcer_calibrated']:5.1f} %   worst APCER shipped {run['worst_apcer_shipped']:5.1f} %  "
              f"calibrated {run['worst_apcer_calibrated']:5.1f} %", flush=True)
        print("      APCER shipped/calibrated per family: "
              + ", ".join(f"{f} {v['apcer_shipped']}/{v['apcer_calibrated']}" for f, v in run["families"].items()))
    strict = strict_choice(deployments, margins, args.strict_bpcer)
    print(f"  strict point: {strict}", flush=True)
    return {"deployments": deployments, "strict": strict,
            "worst_apcer_shipped": max(d["worst_apcer_shipped"] for d in deployments.values()),
            "worst_bpcer_shipped": max(d["bpcer_shipped"] for d in deployments.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target-bpcer", type=float, default=2.0, help="target BPCER (%%) of both operating points")
    parser.add_argument("--strict-bpcer", type=float, default=0.5,
                        help="most live speech of any held-out corpus the strict point may refuse (%%)")
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "voiceid" / "liveness" / "features-v2.npz"))
    parser.add_argument("--replays", action="store_true", help="train with one simulated replay of each live clip")
    parser.add_argument("--phone", action="store_true", help="and with a phone-line copy of each wide-band clip")
    parser.add_argument("--l2", type=float, default=100.0, help="the back-end's L2 penalty (shipped: 100)")
    parser.add_argument("--candidates", default=SHIPPED,
                        help=f"comma-separated feature sets of bench.liveness_backend (default the shipped {SHIPPED})")
    parser.add_argument("--aasist5", action="store_true", help="read the ASVspoof 5 AASIST too (its candidates)")
    parser.add_argument("--groups", action="store_true", help="group-balanced weights (live corpus, attack species)")
    parser.add_argument("--json")
    args = parser.parse_args()
    rows = read_protocol(KIT / "spoof" / "protocol.csv")
    st = Study.build(rows, KIT, FeatureCache(Path(args.cache)), args.replays, args.phone,
                     aasist5_cache(args.cache) if args.aasist5 else None)
    use = ("clip",) + (("replay",) if args.replays else ()) + (("phone",) if args.phone else ())
    corpora = [c for c in sorted({r.corpus for r in rows if not r.is_attack})
               if sum(1 for r in rows if not r.is_attack and r.corpus == c) >= MIN_CLIPS]
    report = {"machine": machine(), "target_bpcer": args.target_bpcer, "strict_bpcer": args.strict_bpcer,
              "l2": args.l2, "trained_on": list(use), "groups": args.groups, "margins": list(MARGINS),
              "candidates": {}}
    for name in args.candidates.split(","):
        print(name, CANDIDATES[name], flush=True)
        report["candidates"][name] = {"parts": list(CANDIDATES[name]),
                                      **run_candidate(st.parts(CANDIDATES[name]), rows, corpora, args, use, MARGINS)}
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
