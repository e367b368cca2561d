"""The fraud watchlist on the team kit: detection of listed fraudsters and false alarms on everyone else.

    .venv/bin/python -m bench.watchlist --json docs/watchlist.json          # N = 10 and 100, 10 draws each
    .venv/bin/python -m bench.watchlist --cases 10 --draws 3 --write-spec /tmp/wl.json  # one spec for voiceid eval

The pool is every kit speaker with at least two recordings: Hyke (30, phone line),
LibriSpeech-multi (10), LibriSpeech-split (60; its two clips are halves of one recording,
so their detection is optimistic), the PoC's seed identities (5 with two recordings) and the real reference
recordings of the Tortoise voices (27 more: "freeman" is the seed's Morgan Freeman, "pat2" is "pat",
and "lj" also has the HiFi-GAN demo's LJSpeech ground truth). FSDD
is left out: its 0.4 s digits are below the speech gates.

Each draw lists N speakers held back from the customer gallery: a case is made from the
speaker's first clip, their other clips are the fraudster calling again. Every other pool
speaker is a customer, enrolled with their first clip (the gallery whose statistics
calibrate every score, as in a deployment); their other clips, and the HiFi-GAN demo's VCTK
recordings of people in no group, are the innocent callers. Each draw is one spec,
scored by :func:`shared.evaluation.watchlist.score_watchlist` (what ``voiceid eval
watchlist`` runs); counts are summed over the draws.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from tqdm import tqdm

from bench.common import KIT, model_settings, write_results
from shared.embedding.embedder import get_embedder
from shared.evaluation.embedcache import cache_for
from shared.evaluation.metrics import wilson
from shared.evaluation.trials import embed_all
from shared.evaluation.watchlist import WatchlistSpec, score_watchlist

AUDIO = (".flac", ".wav", ".mp3")
SEED_TEST = {"bachan": "Amitabh Bachan", "Obama": "Barack Obama", "voldemort": "Voldemort", "freeman": "Morgan Freeman",
             "oprah": "Oprah Winfrey", "skj": "skj"}
SAME_PERSON = {"tortoise/freeman": "seed/Morgan Freeman", "tortoise/pat2": "tortoise/pat"}
DEMO = "spoof/bonafide/hifi-gan-demo/human"  # LJSpeech ground truth (e2e, ss: the Tortoise voice "lj") and VCTK (ms)
LJ_SPEECH = ("samples_e2e_", "samples_ss_")


def _clips(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(KIT)) for p in folder.iterdir() if p.suffix.lower() in AUDIO)


def pool() -> dict[str, tuple[str, list[str]]]:
    """speaker -> (corpus, clips, first = the case or the enrolment), every speaker with two or more recordings."""
    out: dict[str, tuple[str, list[str]]] = {}
    for corpus in ("hyke-telephone", "librispeech-multi", "librispeech-split"):
        for d in sorted(p for p in (KIT / corpus).iterdir() if p.is_dir()):
            out[f"{corpus}/{d.name}"] = (corpus, _clips(d))
    seed = KIT / "seed-samples"
    for d in sorted(p for p in (seed / "train").iterdir() if p.is_dir()):
        out[f"seed/{d.name}"] = ("seed-samples", _clips(d))
    for f in sorted((seed / "test").iterdir()):
        name = SEED_TEST.get(f.stem)
        if name and f"seed/{name}" in out:
            out[f"seed/{name}"][1].append(str(f.relative_to(KIT)))
        elif name:
            out[f"seed/{name}"] = ("seed-samples", [str(f.relative_to(KIT))])
    for d in sorted(p for p in (KIT / "spoof/bonafide/tortoise-voices").iterdir() if p.is_dir()):
        key = SAME_PERSON.get(f"tortoise/{d.name}", f"tortoise/{d.name}")
        corpus, clips = out.get(key, ("tortoise-voices", []))
        out[key] = (corpus, clips + _clips(d))
    corpus, clips = out["tortoise/lj"]
    out["tortoise/lj"] = (corpus, clips + [c for c in _clips(KIT / DEMO) if Path(c).name.startswith(LJ_SPEECH)])
    return {k: v for k, v in out.items() if len(v[1]) >= 2}


def outsiders() -> list[str]:
    """VCTK readers of the HiFi-GAN demo: nobody's customer, never listed, in no other group."""
    return [c for c in _clips(KIT / DEMO) if not Path(c).name.startswith(LJ_SPEECH)]


def draw_spec(speakers: dict[str, tuple[str, list[str]]], cases: int, rng: random.Random) -> tuple[dict, dict]:
    """One draw: the spec ``voiceid eval watchlist`` reads, and each probe's corpus."""
    listed = set(rng.sample(sorted(speakers), cases))
    spec = {"gallery": {}, "watchlist": {}, "probes": []}
    corpus_of = {}
    for name, (corpus, clips) in sorted(speakers.items()):
        (spec["watchlist"] if name in listed else spec["gallery"])[name] = clips[:1]
        for clip in clips[1:]:
            spec["probes"].append({"path": clip, "case": name if name in listed else None})
            corpus_of[clip] = corpus
    for clip in outsiders():
        spec["probes"].append({"path": clip, "case": None})
        corpus_of[clip] = "outsiders"
    return spec, corpus_of


def _add(total: dict, point: dict) -> None:
    for k in ("detected", "listed_probes", "right_case", "false_alarms", "other_probes"):
        total[k] = total.get(k, 0) + point[k]


def _finish(t: dict) -> dict:
    t["detection_rate"] = round(100.0 * t["detected"] / max(t["listed_probes"], 1), 2)
    t["detection_ci"] = [round(x, 2) for x in wilson(t["detected"], t["listed_probes"])]
    t["false_alarm_rate"] = round(100.0 * t["false_alarms"] / max(t["other_probes"], 1), 3)
    t["false_alarm_ci"] = [round(x, 3) for x in wilson(t["false_alarms"], t["other_probes"])]
    if "threshold" in t:
        t["threshold"] = round(t["threshold"], 3)
    return t


def _by_corpus(rows: list[dict], corpus_of: dict[str, str], totals: dict[str, dict]) -> None:
    """Counts at the product's operating point per corpus of the probe."""
    for row in rows:
        t = totals.setdefault(corpus_of[row["path"]], {})
        listed, flagged = row["case"] is not None, bool(row["hits"])
        right = flagged and row["hits"][0]["case"] == row["case"]
        _add(t, {"detected": int(listed and flagged), "listed_probes": int(listed), "right_case": int(listed and right),
                 "false_alarms": int(flagged and not listed), "other_probes": int(not listed)})


def run(cases: int, draws: int, seed: int, settings, model_id: str, emb) -> dict:
    """Every draw of ``cases`` speakers, scored; counts summed per operating point (and per corpus at the product's)."""
    speakers = pool()
    rng = random.Random(seed)
    totals: dict[str, dict] = {}
    corpora: dict[str, dict] = {}
    customers, failures = [], 0
    for _ in tqdm(range(draws), desc=f"N={cases}", unit="draw"):
        spec, corpus_of = draw_spec(speakers, cases, rng)
        r = score_watchlist(WatchlistSpec.from_dict(spec), emb, model_id, settings.watchlist_target_far,
                            settings.min_speech_identify_s, tail=settings.score_tail)
        customers.append(r["customers"])
        failures += r["failures_to_acquire"]
        for name, point in r["points"].items():
            _add(totals.setdefault(name, {"target_far": point["target_far"], "threshold": point["threshold"]}),
                 point)
        _by_corpus(r["probe_results"], corpus_of, corpora)
    return {"cases": cases, "draws": draws, "seed": seed, "pool_speakers": len(speakers),
            "customers_per_draw": sorted(set(customers)), "failures_to_acquire": failures,
            "points": {k: _finish(t) for k, t in totals.items()},
            "by_corpus_at_default": {k: _finish(t) for k, t in sorted(corpora.items())}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default="10,100", help="watchlist sizes N, comma-separated (default 10,100)")
    parser.add_argument("--draws", type=int, default=10, help="random watchlists per N (default 10)")
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--model", default="ecapa")
    parser.add_argument("--json", type=Path, help="write the results here (e.g. docs/watchlist.json)")
    parser.add_argument("--write-spec", type=Path, help="only write the first draw's spec (for voiceid eval watchlist)")
    args = parser.parse_args()
    sizes = [int(n) for n in args.cases.split(",")]
    speakers = pool()
    if args.write_spec:
        spec, _ = draw_spec(speakers, sizes[0], random.Random(args.seed))
        args.write_spec.write_text(json.dumps(spec, indent=1, ensure_ascii=False))
        print(f"wrote {args.write_spec}: {len(spec['watchlist'])} cases, {len(spec['gallery'])} customers, "
              f"{len(spec['probes'])} probes; run: voiceid eval watchlist {args.write_spec} --root {KIT}")
        return
    settings = model_settings(args.model)
    model_id = get_embedder(settings).info.id
    files = {c for _, clips in speakers.values() for c in clips} | set(outsiders())
    emb = embed_all(files, KIT, cache_for(settings), lambda xs: tqdm(list(xs), desc="embedding", unit="file"))
    results = {}
    for n in sizes:
        results[f"N={n}"] = r = run(n, args.draws, args.seed + n, settings, model_id, emb)
        for name, t in r["points"].items():
            print(f"N={n:<4} target FAR {name:>7}: threshold {t['threshold']:.2f}  detection "
                  f"{t['detection_rate']:.1f} % ({t['detected']}/{t['listed_probes']})  right case {t['right_case']}  "
                  f"false alarms {t['false_alarm_rate']:.2f} % ({t['false_alarms']}/{t['other_probes']})")
        for corpus, t in r["by_corpus_at_default"].items():
            print(f"    at the default, {corpus:<18} detection {t['detected']:>4}/{t['listed_probes']:<4} "
                  f"false alarms {t['false_alarms']:>3}/{t['other_probes']}")
    if args.json:
        write_results(args.json, settings.watchlist_target_far, {"model": model_id, **results})
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
