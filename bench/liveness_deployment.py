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
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

from bench.common import KIT, machine
from bench.liveness_backend import Study
from shared.evaluation import pad
from shared.evaluation.liveness import read_protocol
from shared.evaluation.liveness_training import DEFAULT_PARTS
from shared.liveness.backend import LinearBackend
from shared.liveness.features import FeatureCache

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
                   groups: bool = False) -> dict:
    clip = st.origin == "clip"
    usable = np.isin(st.origin, use)
    live_d = clip & ~st.attack & (st.group == corpus)
    paths = [rows[i].path for i in np.flatnonzero(live_d)]
    half = halves(paths)
    out = {"clips": int(live_d.sum()), "families": {}}
    shipped_live, calibrated_live = [], []
    for fam in sorted(str(f) for f in set(st.family[clip & st.attack])):
        train = usable & (st.family != fam) & ~made_from(st, corpus)
        backend = LinearBackend.fit(st.x[train], st.attack[train], l2=l2, groups=st.group[train] if groups else None)
        shipped = pad.threshold_at_bpcer(backend.attack_scores(st.x[clip & ~st.attack & train]), target)
        s_live = backend.attack_scores(st.x[live_d])
        s_attack = backend.attack_scores(st.x[clip & (st.family == fam)])
        own = [pad.threshold_at_bpcer(s_live[half == h], target) for h in (0, 1)]
        shipped_live.append(s_live >= shipped)
        calibrated_live.append(np.where(half == 0, s_live >= own[1], s_live >= own[0]))
        out["families"][fam] = {"apcer_shipped": round(100 * float(np.mean(s_attack < shipped)), 1),
                                "apcer_calibrated": round(100 * float(np.mean([np.mean(s_attack < t) for t in own])), 1),
                                "eer": round(pad.eer(np.r_[s_attack, s_live],
                                                     np.r_[np.ones(len(s_attack), bool), np.zeros(len(s_live), bool)]), 1)}
    out["bpcer_shipped"] = round(100 * float(np.mean(np.mean(shipped_live, axis=0) >= 0.5)), 1)
    out["bpcer_calibrated"] = round(100 * float(np.mean(np.mean(calibrated_live, axis=0) >= 0.5)), 1)
    fams = out["families"]
    out["worst_apcer_shipped"] = max(f["apcer_shipped"] for f in fams.values())
    out["worst_apcer_calibrated"] = max(f["apcer_calibrated"] for f in fams.values())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target-bpcer", type=float, default=2.0, help="target BPCER (%%) of both operating points")
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "voiceid" / "liveness" / "features-v2.npz"))
    parser.add_argument("--replays", action="store_true", help="train with one simulated replay of each live clip")
    parser.add_argument("--phone", action="store_true", help="and with a phone-line copy of each wide-band clip")
    parser.add_argument("--l2", type=float, default=100.0, help="the back-end's L2 penalty (shipped: 100)")
    parser.add_argument("--parts", default=",".join(DEFAULT_PARTS), help="feature parts (default the shipped ones)")
    parser.add_argument("--groups", action="store_true", help="group-balanced weights (live corpus, attack species)")
    parser.add_argument("--json")
    args = parser.parse_args()
    rows = read_protocol(KIT / "spoof" / "protocol.csv")
    st = Study.build(rows, KIT, FeatureCache(Path(args.cache)), args.replays, args.phone).parts(args.parts.split(","))
    use = ("clip",) + (("replay",) if args.replays else ()) + (("phone",) if args.phone else ())
    corpora = sorted({r.corpus for r in rows if not r.is_attack})
    report = {"machine": machine(), "target_bpcer": args.target_bpcer, "l2": args.l2, "trained_on": list(use),
              "parts": args.parts.split(","), "groups": args.groups, "deployments": {}}
    for corpus in corpora:
        if sum(1 for r in rows if not r.is_attack and r.corpus == corpus) < MIN_CLIPS:
            continue
        run = deployment_run(st, rows, corpus, args.target_bpcer, use, args.l2, args.groups)
        report["deployments"][corpus] = run
        print(f"{corpus:24s} {run['clips']:4d} clips  BPCER shipped {run['bpcer_shipped']:5.1f} %  calibrated "
              f"{run['bpcer_calibrated']:5.1f} %   worst APCER shipped {run['worst_apcer_shipped']:5.1f} %  calibrated "
              f"{run['worst_apcer_calibrated']:5.1f} %", flush=True)
        print("    APCER shipped/calibrated per family: "
              + ", ".join(f"{f} {v['apcer_shipped']}/{v['apcer_calibrated']}" for f, v in run["families"].items()))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
