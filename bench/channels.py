"""Hard channels: enrol clean and wide-band, probe over phone codecs, band limits, babble, noise and rooms.

A customer enrols in the app and later calls the contact centre, or calls from a street. This
builds those probes from the kit's wide-band development speech (``shared/evaluation/conditions.py``:
real codecs through ffmpeg, noise and babble mixed at a set SNR, synthetic rooms; the same files
every run) and scores them with the product's own path beside the PoC's plain cosine:

- **probe-side conditions**: each trial list's enrolments stay clean, every test file goes
  through the condition (``librispeech-single``: 60 readers, enrol one half of a clip, probe the
  other; ``librispeech-multi``: 10 readers, 9 other clips each). Babble comes from voices of the
  other corpus, never from the gallery being scored.
- **reverse**: enrol over the phone, probe clean (the app after a phone enrolment).
- **mixed-channel gallery**: half the readers enrolled by phone, half in the app; every probe in
  both channels; the FAR at the operating point for callers of each channel and each gallery half.
- **strict targets**: FAR at the 0.1 % and 0.01 % points where the trial count allows.
- **short speech** (``short-1-3s``): every probe cut to a piece holding 1-3 s of speech (enrol long,
  probe short), and both sides cut (short against short); ``--lists`` adds the kit's telephone list
  (``hyke-telephone``) to the read speech.

Nothing is tuned on any condition: the scoring is the shipped default, chosen on the clean lists.

    .venv/bin/python -m bench.channels [--models ecapa,campplus] [--conditions clean,g711-mulaw] \\
        [--json docs/channels.json]

Files are built once under ~/.cache/voiceid/conditions and embeddings cached as in bench.accuracy;
the first run of one model embeds about 3,300 files (~15 min on 2 CPU cores with ECAPA and its PoC).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

import numpy as np

from bench.common import KIT, TRIALS, decoded, machine, model_settings, write_results
from shared.audio.decode import ffmpeg_exe
from shared.core.settings import Settings
from shared.embedding.embedder import get_embedder
from shared.evaluation import metrics as evaluation
from shared.evaluation.conditions import BY_NAME, CONDITIONS, Condition, build_file
from shared.evaluation.embedcache import EmbeddingCache, FileEmbedding, cache_for
from shared.evaluation.pocbaseline import POC_THRESHOLD, baseline_settings, poc_cosine
from shared.evaluation.trials import Trial, read_trials, score_trials
from shared.scoring.calibration import threshold_for

LISTS = {"librispeech-single": "librispeech-multi", "librispeech-multi": "librispeech-single"}  # list -> babble source
MORE_LISTS = {"hyke-telephone": "librispeech-multi"}  # telephone speech, for the short condition (--lists)
DEFAULT_LISTS = tuple(LISTS)
BOTH_SIDES = ("short-1-3s",)  # also scored with enrolments under the condition: short against short
REVERSE = ("g711-mulaw", "amr-nb-12k2")
MIXED_PHONE = "amr-nb-12k2"
STRICT = (0.001, 0.0001)
POC_CONDITIONS = ("clean", "g711-mulaw", "amr-nb-12k2", "opus-8k", "babble-5dB", "noise-5dB", "reverb-0.8s",
                  "phone-babble-10dB")  # the PoC baseline's own embeddings cost as much as the product's
PCM_UNREADABLE = ("g723-1",)  # WAV containers of codecs soundfile cannot decode
BUILT = Path("~/.cache/voiceid/conditions").expanduser()


def babble_pool(corpus: str) -> list[np.ndarray]:
    """Every clip of ``corpus`` (decoded once): the voices of a busy place, none of them enrolled."""
    return [decoded(p) for p in sorted((KIT / corpus).glob("*/*.flac"))]


def as_pcm_wav(path: Path) -> Path:
    """A 16-bit PCM WAV copy at the file's own rate: what the PoC's soundfile loader can read of a codec file.

    The PoC cannot open AMR or Ogg at all; a contact centre handing it calls would transcode them first.
    """
    out = path.with_name(path.name + ".pcm.wav")
    if not out.is_file():
        subprocess.run([ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-i", str(path), "-c:a", "pcm_s16le",
                        str(out)], check=True, capture_output=True, timeout=120)
    return out


class Conditioned:
    """Embeddings of kit files as received under a condition (files built on first use)."""

    def __init__(self, cache: EmbeddingCache, pcm_only: bool = False):
        self.cache = cache
        self.pcm_only = pcm_only  # the PoC's loader reads PCM WAV and FLAC only
        self.pools: dict[str, list[np.ndarray]] = {}

    def get(self, rel: str, condition: Condition, pool_corpus: str) -> FileEmbedding:
        if condition.kind == "clean":
            return self.cache.get(KIT / rel)
        target = (BUILT / condition.name / rel).with_suffix(condition.suffix)
        if not target.is_file():
            if condition.needs_babble and pool_corpus not in self.pools:
                self.pools[pool_corpus] = babble_pool(pool_corpus)
            pool = self.pools[pool_corpus] if condition.needs_babble else ()
            build_file(decoded(KIT / rel), condition, rel, target, pool)
        if self.pcm_only and (target.suffix != ".wav" or condition.codec in PCM_UNREADABLE):
            target = as_pcm_wav(target)
        return self.cache.get(target)


def report(scores: np.ndarray, labels: np.ndarray, threshold: float) -> dict:
    at = evaluation.rates_at(scores, labels, threshold)
    out = {"eer": evaluation.eer(scores, labels), "min_dcf": evaluation.min_dcf(scores, labels),
           "far": at["far"], "far_ci": at["far_ci"], "frr": at["frr"], "fa": at["false_accepts"],
           "non": at["non_targets"]}
    for target in STRICT:
        s = evaluation.rates_at(scores, labels, threshold_for(target))
        out[f"far_at_{target:g}"] = {"far": s["far"], "fa": s["false_accepts"], "frr": s["frr"]}
    return out


def score_condition(trials: list[Trial], clean: dict, cond: dict, settings: Settings, model_id: str,
                    threshold: float, side: str) -> dict:
    """The product's scores with the enrol (``side`` "enrol"), the test files ("test") or both ("both") under the
    condition."""
    emb = dict(clean)
    for t in trials:
        if side in ("test", "both"):
            emb[t.test] = cond[t.test]
        if side in ("enrol", "both"):
            for f in t.enrol:
                emb[f] = cond[f]
    r = score_trials(trials, emb, settings, model_id, threshold)
    return report(r.scores, r.labels, threshold)


def poc_condition(trials: list[Trial], clean: dict, cond: dict, side: str) -> dict:
    def vec(f: str, under: bool) -> np.ndarray:
        return (cond if under else clean)[f].vector

    cos = np.array([poc_cosine([vec(f, side == "enrol") for f in t.enrol], vec(t.test, side == "test"))
                    for t in trials])
    labels = np.array([t.label == 1 for t in trials])
    return {"eer": evaluation.eer(cos, labels), "far": evaluation.rates_at(cos, labels, POC_THRESHOLD)["far"]}


def mixed_gallery(trials: list[Trial], clean: dict, phone: dict, settings: Settings, model_id: str,
                  threshold: float) -> dict:
    """Half the gallery enrolled by phone (every other speaker, sorted), half in the app; probes in both channels."""
    speakers = sorted({t.enrol for t in trials})
    by_phone = {g for i, g in enumerate(speakers) if i % 2 == 0}
    emb = dict(clean)
    for g in by_phone:
        for f in g:
            emb[f] = phone[f]
    out = {}
    for channel, source in (("app", clean), ("phone", phone)):
        probe_emb = dict(emb)
        for t in trials:
            probe_emb[t.test] = source[t.test]
        r = score_trials(trials, probe_emb, settings, model_id, threshold)
        out[f"callers_{channel}"] = report(r.scores, r.labels, threshold)
        for half, members in (("phone_enrolled", by_phone), ("app_enrolled", set(speakers) - by_phone)):
            m = np.array([t.enrol in members for t in trials])
            at = evaluation.rates_at(r.scores[m], r.labels[m], threshold)
            out[f"callers_{channel}"][half] = {"far": at["far"], "fa": at["false_accepts"], "non": at["non_targets"],
                                               "frr": at["frr"]}
    return out


def run_model(model: str, conditions: list[Condition], target_far: float, poc_conditions: set[str],
              lists: tuple[str, ...] = DEFAULT_LISTS, extras: bool = True, both: tuple[str, ...] = BOTH_SIDES) -> dict:
    """Every condition on every list; ``extras``: also the reverse conditions and the mixed-channel gallery."""
    settings = model_settings(model, target_far=target_far)
    model_id = get_embedder(settings).info.id
    threshold = threshold_for(target_far)
    product = Conditioned(cache_for(settings))
    poc = None
    if poc_conditions:
        ecapa = baseline_settings(settings)
        poc = Conditioned(EmbeddingCache(ecapa, get_embedder(ecapa).info.id, front_end="poc"), pcm_only=True)
    out: dict = {"model_id": model_id, "lists": {}}
    for name, pool in ((n, {**LISTS, **MORE_LISTS}[n]) for n in lists):
        trials = read_trials(TRIALS / f"{name}.txt")
        enrols = sorted({f for t in trials for f in t.enrol})
        tests = sorted({t.test for t in trials})
        clean = {f: product.get(f, BY_NAME["clean"], pool) for f in enrols + tests}
        clean_poc = {f: poc.get(f, BY_NAME["clean"], pool) for f in enrols + tests} if poc else {}
        rows: dict = {"speakers": len(enrols), "probe": {}, "reverse": {}, "both": {}}
        for c in conditions:
            t0 = time.time()
            cond = {f: product.get(f, c, pool) for f in tests}
            rows["probe"][c.name] = {"product": score_condition(trials, clean, cond, settings, model_id, threshold,
                                                                "test")}
            if poc and c.name in poc_conditions:
                cond_poc = {f: poc.get(f, c, pool) for f in tests}
                rows["probe"][c.name]["poc"] = poc_condition(trials, clean_poc, cond_poc, "test")
            p = rows["probe"][c.name]["product"]
            print(f"{model} {name} {c.name}: EER {p['eer']:.2f} % FAR@op {p['far']:.2f} % "
                  f"({time.time() - t0:.0f} s)", flush=True)
        for cname in REVERSE if extras else ():
            c = BY_NAME[cname]
            cond = {f: product.get(f, c, pool) for f in enrols}
            rows["reverse"][cname] = {"product": score_condition(trials, clean, cond, settings, model_id, threshold,
                                                                 "enrol")}
            if poc:
                cond_poc = {f: poc.get(f, c, pool) for f in enrols}
                rows["reverse"][cname]["poc"] = poc_condition(trials, clean_poc, cond_poc, "enrol")
        for c in (c for c in conditions if c.name in both):
            cond = {f: product.get(f, c, pool) for f in enrols + tests}
            rows["both"][c.name] = {"product": score_condition(trials, clean, cond, settings, model_id, threshold,
                                                               "both")}
            p = rows["both"][c.name]["product"]
            print(f"{model} {name} {c.name} on both sides: EER {p['eer']:.2f} % FAR@op {p['far']:.2f} %", flush=True)
        if extras:
            phone = {f: product.get(f, BY_NAME[MIXED_PHONE], pool) for f in enrols + tests}
            rows["mixed"] = mixed_gallery(trials, clean, phone, settings, model_id, threshold)
        out["lists"][name] = rows
    return out


def ratio(eer: float, clean: float) -> str:
    """EER as a multiple of the clean figure; undefined where the clean EER is 0 (no error to multiply)."""
    return f"{eer / clean:.2f}" if clean > 0 else ("1.00" if eer == 0 else "– (clean 0)")


def print_tables(results: dict) -> None:
    for model, res in results.items():
        for name, rows in res["lists"].items():
            clean = rows["probe"]["clean"]["product"]["eer"]
            print(f"\n{res['model_id']} — {name} ({rows['speakers']} enrolled, clean wide-band enrolment)\n")
            print("| probe condition | product EER % | × clean | minDCF | FAR at op % | FRR at op % "
                  "| PoC EER % | PoC FAR at 0.25 % |")
            print("|---|---|---|---|---|---|---|---|")
            for cname, r in rows["probe"].items():
                p, b = r["product"], r.get("poc")
                poc = f"{b['eer']:.2f} | {b['far']:.1f}" if b else "– | –"
                print(f"| {cname} | {p['eer']:.2f} | {ratio(p['eer'], clean)} | {p['min_dcf']:.3f} | "
                      f"{p['far']:.2f} ({p['fa']}/{p['non']}) | {p['frr']:.2f} | {poc} |")
            for cname, r in rows.get("both", {}).items():
                p = r["product"]
                print(f"| {cname} on both sides | {p['eer']:.2f} | {ratio(p['eer'], clean)} | {p['min_dcf']:.3f} | "
                      f"{p['far']:.2f} ({p['fa']}/{p['non']}) | {p['frr']:.2f} | – | – |")
            for cname, r in rows["reverse"].items():
                p, b = r["product"], r.get("poc")
                poc = f"{b['eer']:.2f} | {b['far']:.1f}" if b else "– | –"
                print(f"| enrol {cname}, probe clean | {p['eer']:.2f} | {ratio(p['eer'], clean)} | "
                      f"{p['min_dcf']:.3f} | {p['far']:.2f} ({p['fa']}/{p['non']}) | {p['frr']:.2f} | {poc} |")
            print(f"\nmixed gallery (half enrolled over {MIXED_PHONE}):" if "mixed" in rows else "")
            for ch, r in rows.get("mixed", {}).items():
                print(f"  {ch}: FAR {r['far']:.2f} % (phone-enrolled {r['phone_enrolled']['far']:.2f}, "
                      f"app-enrolled {r['app_enrolled']['far']:.2f}), FRR {r['frr']:.2f} %, EER {r['eer']:.2f} %")


def summary(results: dict) -> None:
    """One table over models: EER per condition on both lists (× the same model's clean), worst FAR at the op point."""
    models = list(results)
    lists = list(next(iter(results.values()))["lists"])
    first = results[models[0]]["lists"]
    print("\n| condition | " + " | ".join(f"{m} EER % ({', '.join(lists)})" for m in ["PoC"] + models)
          + " | FAR at op % (range over lists, " + ", ".join(models) + ") |")
    print("|---|" + "---|" * (len(models) + 2))
    names = [(side, c) for side in ("probe", "both", "reverse") for c in first[lists[0]].get(side, {})]
    for side, cname in names:
        label = {"probe": cname, "both": f"{cname} on both sides"}.get(side, f"enrol {cname}, probe clean")
        poc = [first[lst][side][cname].get("poc") for lst in lists]
        cells = [" / ".join(f"{p['eer']:.2f}" for p in poc) if all(poc) else "–"]
        fars = []
        for m in models:
            rows = results[m]["lists"]
            got = [rows[lst].get(side, {}).get(cname, {}).get("product") for lst in lists]
            if not all(got):
                cells.append("–")
                continue
            clean = [rows[lst]["probe"]["clean"]["product"]["eer"] for lst in lists]
            cells.append(" / ".join(f"{g['eer']:.2f}" for g in got)
                         + f" (× {max(g['eer'] / max(c, 1e-9) for g, c in zip(got, clean)):.1f})"
                         if min(clean) > 0 else " / ".join(f"{g['eer']:.2f}" for g in got))
            fars.append(f"{min(g['far'] for g in got):.2f}–{max(g['far'] for g in got):.2f}")
        print(f"| {label} | " + " | ".join(cells) + " | " + "; ".join(fars) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="ecapa", help="comma-separated VOICEID_MODEL values")
    parser.add_argument("--conditions", default=",".join(c.name for c in CONDITIONS))
    parser.add_argument("--target-far", type=float, default=0.01)
    parser.add_argument("--poc-conditions", default=",".join(POC_CONDITIONS),
                        help="conditions that also get the PoC baseline (plain ECAPA cosine; '' for none)")
    parser.add_argument("--lists", default=",".join(DEFAULT_LISTS),
                        help=f"trial lists to score (default: {', '.join(LISTS)}; also {', '.join(MORE_LISTS)})")
    parser.add_argument("--probe-only", action="store_true",
                        help="only the listed conditions: skip the reverse conditions and the mixed-channel gallery")
    parser.add_argument("--both", default=",".join(BOTH_SIDES),
                        help="conditions also scored with the enrolments under them (matched channel; default: "
                             "the short condition)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--summary", type=Path, nargs="+", metavar="JSON",
                        help="print the table over models of earlier runs' --json files, and stop")
    args = parser.parse_args()
    if args.summary:
        merged: dict = {}
        for path in args.summary:
            merged.update(json.loads(path.read_text())["results"])
        summary(merged)
        return
    conditions = [BY_NAME[c] for c in args.conditions.split(",")]
    if conditions[0].name != "clean":
        conditions.insert(0, BY_NAME["clean"])
    results = {}
    for i, model in enumerate(args.models.split(",")):
        poc = set(filter(None, args.poc_conditions.split(","))) if i == 0 else set()
        results[model] = run_model(model, conditions, args.target_far, poc, tuple(args.lists.split(",")),
                                   extras=not args.probe_only, both=tuple(filter(None, args.both.split(","))))
    print(f"\nmachine: {machine()}; operating point: target FAR {args.target_far:.2%}")
    print_tables(results)
    summary(results)
    if args.json:
        write_results(args.json, args.target_far, results)


if __name__ == "__main__":
    main()
