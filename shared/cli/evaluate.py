"""``voiceid eval trials`` and ``voiceid eval openset``: accuracy on your own recordings."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from shared.core.settings import Settings
from shared.evaluation import metrics as evaluation
from shared.scoring.calibration import threshold_for

TRIALS_HELP = """Score a VoxCeleb-format trial list with the product's own scoring path.

TRIALS has one trial per line, `label enrol test`: label 1 = same speaker, 0 = different;
paths are relative to --root; `enrol` may join several files with `,` (one speaker model).
The enrol files play the deployment's gallery (normalisation and calibration come from
them, never from the test files or the labels). SCORES gets `score label enrol test decision`
per trial, in order (decision 1 = accept at VOICEID_TARGET_FAR). Embeddings are cached, so a
re-run takes seconds.

example (the team kit's development trials):
  voiceid eval trials ../shared/data/trials/hyke-telephone.txt --root ../shared/data \\
      --out hyke.scores --baseline
  -> prints EER, minDCF, FAR/FRR at the operating point with 95 % intervals;
     writes hyke.scores, hyke.scores.json (report) and hyke.scores.det.png (DET curve)
"""

OPENSET_HELP = """Open-set identification: enrol a gallery, identify probes, count unknowns let through.

SPEC is JSON: {"gallery": {"<speaker>": ["path", ...]}, "probes": [{"path": "...", "speaker": "<speaker>" or null}]}
(null = never enrolled). Prints closed-set top-1 accuracy, the detection-and-identification
rate at 1 % false alarms, and what the product's own threshold (VOICEID_TARGET_FAR) decides.

example:
  voiceid eval openset ../shared/data/trials/openset-librispeech.json --root ../shared/data
"""


WATCHLIST_HELP = """The fraud watchlist: how many calls of listed fraudsters it flags, and how many innocent callers.

SPEC is JSON: {"gallery": {"<customer>": ["path", ...]}, "watchlist": {"<case>": ["path", ...]},
"probes": [{"path": "...", "case": "<case>" or null}]} (null = not on the watchlist). The
gallery's statistics calibrate every score, as the deployment's customer gallery does; each
probe is screened exactly as the pipeline screens it. Prints the detection rate (listed
fraudsters flagged, and flagged as the right case) and the false-alarm rate (everyone else
flagged), with 95 % intervals, at VOICEID_WATCHLIST_TARGET_FAR and at 1 %, 0.1 % and 0.01 %.

example (a watchlist of 10 held-back kit speakers; bench/watchlist.py sums many such draws):
  python -m bench.watchlist --cases 10 --write-spec wl.json
  voiceid eval watchlist wl.json --root ../shared/data --report wl-report.json
"""


def _progress(desc: str):
    from tqdm import tqdm

    return lambda items: tqdm(list(items), desc=desc, unit="file")


def _caches(settings: Settings, baseline: bool):
    from shared.embedding.embedder import get_embedder
    from shared.evaluation.embedcache import EmbeddingCache
    from shared.evaluation.pocbaseline import baseline_settings

    model_id = get_embedder(settings).info.id
    product = EmbeddingCache(settings, model_id)
    if not baseline:
        return model_id, product, None
    poc = baseline_settings(settings)
    return model_id, product, EmbeddingCache(poc, get_embedder(poc).info.id, front_end="poc")


def _ci(lo_hi: tuple[float, float]) -> str:
    return f"[{lo_hi[0]:.2f}, {lo_hi[1]:.2f}]"


def _rates(r: dict) -> str:
    return (f"FAR {r['far']:.2f} % {_ci(r['far_ci'])} ({r['false_accepts']}/{r['non_targets']})  "
            f"FRR {r['frr']:.2f} % {_ci(r['frr_ci'])} ({r['false_rejects']}/{r['targets']})")


def format_report(name: str, r: dict) -> str:
    return (f"{name}: EER {r['eer']:.2f} %  minDCF(0.01) {r['min_dcf']:.3f}\n"
            f"    score >= {r['threshold']:.2f}: {_rates(r['at_threshold'])}\n"
            f"    decisions (gates applied, {r['failures_to_acquire']} failures to acquire): "
            f"{_rates(r['decisions'])}")


def cmd_trials(args: argparse.Namespace) -> int:
    from shared.evaluation.det import det_sample, save_det
    from shared.evaluation.pocbaseline import POC_THRESHOLD, poc_cosine
    from shared.evaluation.trials import (
        by_gender,
        embed_all,
        genders,
        read_trials,
        score_trials,
        verification_report,
        write_scores,
    )

    settings = Settings.from_env()
    root = Path(args.root)
    trials = read_trials(Path(args.trials))
    files = {f for t in trials for f in (*t.enrol, t.test)}
    model_id, cache, poc_cache = _caches(settings, args.baseline)
    emb = embed_all(files, root, cache, _progress("embedding"))
    threshold = threshold_for(settings.target_far)
    result = score_trials(trials, emb, settings, model_id, threshold)
    out = Path(args.out)
    write_scores(out, trials, result)
    report = {"trials_file": str(args.trials), "model_id": model_id, "target_far": settings.target_far,
              "calibration": result.stats.summary(),
              "product": verification_report(result.scores, result.labels, result.decisions, result.failed,
                                             threshold),
              "per_gender": by_gender(trials, result, genders(root), threshold)}
    curves = {"product": evaluation.det_points(result.scores, result.labels)}
    print(format_report("product ", report["product"]))
    if poc_cache is not None:
        poc = embed_all(files, root, poc_cache, _progress("baseline"))
        cos = np.array([poc_cosine([poc[f].vector for f in t.enrol], poc[t.test].vector) for t in trials])
        decisions = cos >= POC_THRESHOLD
        report["baseline"] = {"name": "plain ECAPA cosine, SpeechBrain's loading, threshold 0.25",
                              **verification_report(cos, result.labels, decisions, np.zeros_like(decisions),
                                                    POC_THRESHOLD)}
        curves["plain cosine (PoC)"] = evaluation.det_points(cos, result.labels)
        print(format_report("baseline", report["baseline"]))
    for g, r in report["per_gender"].items():
        print(format_report(f"  {g}     ", r))
    print(f"calibration: {json.dumps(report['calibration'])}")
    report["det"] = {name: det_sample(far, frr) for name, (far, frr) in curves.items()}
    Path(f"{out}.json").write_text(json.dumps(report, indent=2))
    if save_det(Path(f"{out}.det.png"), curves, Path(args.trials).stem):
        print(f"wrote {out}, {out}.json, {out}.det.png")
    else:
        print(f"wrote {out}, {out}.json (no DET plot: matplotlib is not installed; pip install 'voiceid[eval]')")
    _remember(report, settings)
    return 0


def _remember(report: dict, settings: Settings) -> None:
    """Keep the report as the deployment's latest evaluation (``voiceid report`` draws its DET curve).

    Best effort: an evaluation runs offline too, so unreachable storage is a note, not a failure.
    """
    from shared.evaluation.store import save_evaluation

    try:
        where = save_evaluation(report, settings)
    except Exception as exc:  # noqa: BLE001 - storage down or not configured: the files above are the result
        print(f"note: not kept as the latest evaluation for 'voiceid report' ({type(exc).__name__})")
        return
    print(f"kept as the latest evaluation: gallery/{where}")


def cmd_openset(args: argparse.Namespace) -> int:
    from shared.evaluation.openset import read_openset, score_openset
    from shared.evaluation.trials import embed_all

    settings = Settings.from_env()
    gallery, probes = read_openset(Path(args.spec))
    files = {f for paths in gallery.values() for f in paths} | {p for p, _ in probes}
    model_id, cache, _ = _caches(settings, False)
    emb = embed_all(files, Path(args.root), cache, _progress("embedding"))
    r = score_openset(gallery, probes, emb, model_id, settings.target_far, tail=settings.score_tail)
    print(f"gallery {len(gallery)} speakers; probes {r['known_probes']} known, {r['unknown_probes']} unknown")
    print(f"closed-set top-1: {r['top1']:.1f} %")
    print(f"DIR at 1 % false alarms: {r['dir']:.1f} % (threshold picked after seeing the scores)")
    print(f"product's own decision (score >= {r['own_threshold']:.2f}: target FAR {settings.target_far:g} "
          f"over {len(gallery)} speakers): "
          f"DIR {r['own_dir']:.1f} %, unknowns accepted {r['own_false_alarms']}/{r['unknown_probes']}")
    if args.report:
        Path(args.report).write_text(json.dumps(r, indent=2))
        print(f"wrote {args.report}")
    return 0


def cmd_watchlist(args: argparse.Namespace) -> int:
    from shared.evaluation.trials import embed_all
    from shared.evaluation.watchlist import read_spec, score_watchlist

    settings = Settings.from_env()
    spec = read_spec(Path(args.spec))
    model_id, cache, _ = _caches(settings, False)
    emb = embed_all(spec.files(), Path(args.root), cache, _progress("embedding"))
    r = score_watchlist(spec, emb, model_id, settings.watchlist_target_far, settings.min_speech_identify_s,
                        tail=settings.score_tail)
    print(f"watchlist {r['cases']} cases; gallery {r['customers']} customers; {r['probes']} probes "
          f"({r['failures_to_acquire']} refused by the front end)")
    for name, t in r["points"].items():
        mark = "  <- VOICEID_WATCHLIST_TARGET_FAR" if t["target_far"] == settings.watchlist_target_far else ""
        print(f"  target FAR {name:>6} (score >= {t['threshold']:.2f}): detection {t['detection_rate']:.1f} % "
              f"{_ci(t['detection_ci'])} ({t['detected']}/{t['listed_probes']}, right case {t['right_case']})  "
              f"false alarms {t['false_alarm_rate']:.2f} % {_ci(t['false_alarm_ci'])} "
              f"({t['false_alarms']}/{t['other_probes']}){mark}")
    if args.report:
        Path(args.report).write_text(json.dumps(r, indent=2, ensure_ascii=False))
        print(f"wrote {args.report}")
    return 0


LIVENESS_HELP = """Measure a spoof detector (ISO/IEC 30107-3) on a labelled set of live and attack clips.

PROTOCOL is a CSV with a header; its columns path (relative to --root), label (spoof or bonafide)
and generator (the attack species) are read by name, others ignored. Every clip is decoded as an
upload is. SCORES gets `attack_score label generator path decision` per clip, in order: a higher
attack_score is more attack-like; decision is live, attack or inconclusive at the detector's
operating point. The default detector is the product's own: its score is the calibrated liveness
score of the results (-log10 of the share of live speech at least as attack-like) and its decision
the one the pipeline takes at VOICEID_LIVENESS_LIVE_SHARE. Prints APCER per species and the worst, BPCER (pooled and per live corpus), EER,
APCER at BPCER 1 % and 5 %; writes SCORES.json (report) and SCORES.det.png.

examples (the team kit's development set; the shipped detector was trained on it, so measure
held-out figures with bench/liveness_backend.py, or on clips of your own):
  voiceid eval liveness ../shared/data/spoof/protocol.csv --root ../shared/data --out spoof.scores
  voiceid eval liveness ../shared/data/spoof/protocol.csv --root ../shared/data --out aasist.scores \
      --detector AASIST
"""


def _liveness_scores(args: argparse.Namespace, rows, settings: Settings):
    """(detector name, attack scores, decisions, threshold): the product's detector, or a published AASIST alone."""
    from shared.evaluation.liveness import feature_rows, product_scores, score_all
    from shared.liveness.calibration import threshold_for
    from shared.liveness.features import FeatureCache

    cache_dir = Path(settings.model_cache).expanduser().parent / "liveness"
    if args.detector == "product":
        from shared.embedding.embedder import get_embedder
        from shared.pipeline.liveness_check import aasist_weights, get_detector

        model = get_detector(settings).model
        ecapa = get_embedder(Settings(model="ecapa", model_cache=settings.model_cache, device=settings.device))
        features = feature_rows([Path(args.root) / r.path for r in rows], aasist_weights(settings), ecapa,
                                FeatureCache(cache_dir / "features-v2.npz"), "",
                                lambda items, desc: _progress(desc)(items))
        scores, decisions = product_scores(features, model, settings.liveness_live_share)
        return model.id, scores, decisions, threshold_for(settings.liveness_live_share)
    from shared.core.paths import team_kit
    from shared.liveness.detector import AasistDetector

    weights = Path(args.weights) if args.weights else (team_kit() or Path("../shared")) / "models" / "aasist"
    detector = AasistDetector(weights, args.detector)
    cache = FeatureCache(cache_dir / f"{detector.name}.npz")
    scores = score_all(rows, Path(args.root), detector, settings, cache, _progress("scoring"))
    return detector.name, scores, [detector.decide(s) for s in scores], detector.point.attack_from


def cmd_liveness(args: argparse.Namespace) -> int:
    from shared.evaluation import pad
    from shared.evaluation.det import PAD_AXES, WIDE_TICKS, save_det
    from shared.evaluation.liveness import read_protocol, write_scores
    from shared.evaluation.metrics import det_points

    settings = Settings.from_env()
    rows = read_protocol(Path(args.protocol))
    name, scores, decisions, threshold = _liveness_scores(args, rows, settings)
    out = Path(args.out)
    write_scores(out, rows, scores, decisions)
    attack = np.array([r.is_attack for r in rows])
    report = {"protocol": str(args.protocol), "detector": name,
              **pad.report(scores, attack, [r.generator for r in rows], [r.corpus for r in rows], threshold)}
    print(format_liveness(report))
    Path(f"{out}.json").write_text(json.dumps(report, indent=2))
    if report["note"]:  # one class only: no trade-off to plot
        print(f"wrote {out}, {out}.json (no DET plot: {report['note'].split(':')[0]})")
        return 0
    bpcer, apcer = det_points(scores, attack)
    drawn = save_det(Path(f"{out}.det.png"), {name: (apcer, bpcer)}, Path(args.protocol).stem,
                     axes=PAD_AXES, ticks=WIDE_TICKS)
    print(f"wrote {out}, {out}.json" + (f", {out}.det.png" if drawn else " (no DET plot: pip install 'voiceid[eval]')"))
    return 0


def format_liveness(r: dict) -> str:
    if r["note"]:
        return format_one_class(r)
    lines = [f"{r['detector']}: EER {r['eer']:.2f} %  ({r['attacks']} attacks, {r['live']} live clips)",
             f"  at its operating point (attack score >= {r['threshold']:g}): BPCER {r['bpcer']:.2f} %, "
             f"APCER pooled {r['apcer_pooled']:.2f} %, worst species {r['worst_species']} {r['worst_apcer']:.1f} %"]
    for target in (1, 5):
        at = r[f"at_bpcer_{target}"]
        lines.append(f"  at BPCER {at['bpcer']:.2f} % (target {target} %): APCER pooled {at['apcer_pooled']:.2f} %, "
                     f"worst species {at['worst_apcer']:.1f} %")
    lines.append("  APCER per species at the operating point: " +
                 ", ".join(f"{s} {v:.0f} %" for s, v in sorted(r["apcer"].items(), key=lambda kv: -kv[1])))
    lines.append("  BPCER per live corpus: " + ", ".join(f"{c} {v:.1f} %" for c, v in r["bpcer_per_corpus"].items()))
    return "\n".join(lines)


def format_one_class(r: dict) -> str:
    """A protocol of live speech only (BPCER) or of attacks only (APCER): what it can say, and why no more."""
    lines = [f"{r['detector']}: {r['note']}  ({r['attacks']} attacks, {r['live']} live clips)"]
    if r["live"]:
        lines.append(f"  at its operating point (attack score >= {r['threshold']:g}): BPCER {r['bpcer']:.2f} %")
        lines.append("  BPCER per live corpus: " + ", ".join(f"{c} {v:.1f} %" for c, v in r["bpcer_per_corpus"].items()))
    else:
        lines.append(f"  at its operating point (attack score >= {r['threshold']:g}): APCER pooled "
                     f"{r['apcer_pooled']:.2f} %, worst species {r['worst_species']} {r['worst_apcer']:.1f} %")
    return "\n".join(lines)


def add_eval_parser(sub) -> None:
    """``voiceid eval`` and its two commands."""
    fmt = argparse.RawDescriptionHelpFormatter
    ev = sub.add_parser("eval", help="measure accuracy on your own recordings (trials, open set, watchlist, liveness)",
                        description="Measure accuracy with the product's own scoring path.", formatter_class=fmt)
    evsub = ev.add_subparsers(dest="eval_command", required=True, metavar="KIND")
    p = evsub.add_parser("trials", help="verification trials (VoxCeleb format)", description=TRIALS_HELP,
                         formatter_class=fmt)
    p.add_argument("trials", help="trial list: `label enrol test` per line")
    p.add_argument("--root", required=True, help="folder the trial paths are relative to")
    p.add_argument("--out", required=True, help="scores file to write (also OUT.json report, OUT.det.png)")
    p.add_argument("--baseline", action="store_true",
                   help="also score the original PoC's way (plain cosine, SpeechBrain loading) side by side")
    p.set_defaults(func=cmd_trials)
    p = evsub.add_parser("openset", help="open-set identification from a JSON spec", description=OPENSET_HELP,
                         formatter_class=fmt)
    p.add_argument("spec")
    p.add_argument("--root", required=True, help="folder the spec's paths are relative to")
    p.add_argument("--report", help="also write the JSON report (with every probe's top match) here")
    p.set_defaults(func=cmd_openset)
    p = evsub.add_parser("watchlist", help="the fraud watchlist: detection and false alarms, from a JSON spec",
                         description=WATCHLIST_HELP, formatter_class=fmt)
    p.add_argument("spec")
    p.add_argument("--root", required=True, help="folder the spec's paths are relative to")
    p.add_argument("--report", help="also write the JSON report (with every probe's hits) here")
    p.set_defaults(func=cmd_watchlist)
    p = evsub.add_parser("liveness", help="spoof detection on live and attack clips (ISO/IEC 30107-3)",
                         description=LIVENESS_HELP, formatter_class=fmt)
    p.add_argument("protocol", help="CSV with path,label,generator columns")
    p.add_argument("--root", required=True, help="folder the protocol's paths are relative to")
    p.add_argument("--out", required=True, help="scores file to write (also OUT.json report, OUT.det.png)")
    p.add_argument("--detector", choices=("product", "AASIST", "AASIST-L"), default="product",
                   help="product (default): the pipeline's detector, VOICEID_LIVENESS_MODEL at "
                        "VOICEID_LIVENESS_LIVE_SHARE; AASIST, AASIST-L: a published network alone, at its own threshold")
    p.add_argument("--weights", help="AASIST, AASIST-L: folder with MODEL.pth and MODEL.conf (default: the team "
                                     "kit's models/aasist)")
    p.set_defaults(func=cmd_liveness)
