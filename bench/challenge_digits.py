"""Does the challenge hear the right digits? Utterance verification on real spoken digit strings.

    .venv/bin/python -m bench.challenge_digits [--strings 170] [--baseline 30] [--json docs/challenge_digits.json]

Digit strings are built from the team kit's FSDD recordings (real single spoken digits, 8 kHz, six
speakers): ``--length`` takes of one speaker, each a random digit, joined with 150-350 ms pauses, the
way a caller reads a prompted string. Each string is heard as recorded (8 kHz, through the product's
decoder) and through the real phone codecs of :mod:`shared.evaluation.conditions`. For every string the
recogniser (:mod:`shared.audio.digits`) is asked whether it holds (a) the digits spoken (an honest
answer), (b) a random other string and (c) the string with one digit changed (a caller, replay or clone
that got one digit wrong). Reports, per condition: honest answers accepted, wrong strings accepted (each
kind), the 1-best string exactly right; the margins across thresholds; the thresholds the rule picks
(the most accepting pair with at most 0.5 % random and 2 % one-off strings accepted in every condition)
with each condition left out in turn; and, on the first ``--baseline`` strings, the seconds per check beside the former
pocketsphinx check and beside the speaker embedding (ECAPA) of the same clip, in the same process. With
``--attacks``, every attack clip of the kit's spoof protocol (clones, TTS, vocoded and replayed speech: all made
before the challenge was issued) is asked for a fresh random string, the way it would answer a challenge.

Only FSDD has known digits: six male speakers reading single digits that were cut apart and joined again
(no coarticulation between digits, no background noise). Hyke's callers read digit lines too, but which
line each caller read is not in the kit.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import KIT, decoded, load_clip, machine, model_settings
from bench.pocketsphinx_digits import PocketsphinxDigits
from shared.audio import digits
from shared.evaluation.conditions import BY_NAME, build_file

CONDITIONS = ("as-recorded-8k", "g711-mulaw", "amr-nb-12k2", "amr-nb-4k75", "opus-8k", "g723-1-6k3")
RANDOM_MAX, ONE_OFF_MAX = 0.005, 0.02  # the goals: wrong strings a threshold may let through
GRIDS = (np.round(np.arange(-12.0, 6.01, 0.25), 2), np.round(np.arange(-2.0, 0.01, 0.1), 2))  # margin, mean


def takes() -> dict[str, dict[str, list[Path]]]:
    out: dict[str, dict[str, list[Path]]] = {}
    for path in sorted((KIT / "fsdd-digits").glob("*/*.flac")):
        digit, speaker, _ = path.stem.split("_")
        out.setdefault(speaker, {}).setdefault(digit, []).append(path)
    return out


def spoken_string(rng: np.random.Generator, by_digit: dict[str, list[Path]], length: int) -> tuple[str, np.ndarray]:
    text = "".join(str(d) for d in rng.integers(0, 10, length))
    pieces = [np.zeros(int(0.2 * digits.SAMPLE_RATE), np.float32)]
    for c in text:
        choice = by_digit[c][int(rng.integers(len(by_digit[c])))]
        pieces += [load_clip(choice).samples, np.zeros(int(rng.uniform(0.15, 0.35) * digits.SAMPLE_RATE), np.float32)]
    return text, np.concatenate(pieces)


def wrong_strings(rng: np.random.Generator, text: str) -> tuple[str, str]:
    """A random other string of the same length, and the string with one digit changed."""
    other = text
    while other == text:
        other = "".join(str(d) for d in rng.integers(0, 10, len(text)))
    i = int(rng.integers(len(text)))
    one_off = text[:i] + str((int(text[i]) + int(rng.integers(1, 10))) % 10) + text[i + 1:]
    return other, one_off


def through(condition: str, samples: np.ndarray, name: str, folder: Path) -> np.ndarray:
    """The string as the product would receive it under ``condition`` (the kit's 8 kHz takes as they are)."""
    if condition == "as-recorded-8k":
        return samples
    return decoded(build_file(samples, BY_NAME[condition], name, folder / name))


def pct(flags) -> float:
    return round(100 * float(np.mean(flags)), 2) if len(flags) else float("nan")


def rates(rows: list[dict], margin_from: float, mean_from: float) -> dict:
    ok = lambda heard: digits.decide(heard, margin_from, mean_from)  # noqa: E731
    return {"honest_accepted_pct": pct([ok(r["honest"]) for r in rows]),
            "random_accepted_pct": pct([ok(r["random"]) for r in rows]),
            "one_off_accepted_pct": pct([ok(r["one_off"]) for r in rows])}


def meets_goals(rows: list[dict], margin_from: float, mean_from: float) -> bool:
    """The wrong-string goals hold in every condition of ``rows``, not only pooled (an attacker picks the line)."""
    for condition in sorted({r["condition"] for r in rows}):
        r = rates([x for x in rows if x["condition"] == condition], margin_from, mean_from)
        if r["random_accepted_pct"] > 100 * RANDOM_MAX or r["one_off_accepted_pct"] > 100 * ONE_OFF_MAX:
            return False
    return True


def pick_thresholds(rows: list[dict], margins: np.ndarray, means: np.ndarray) -> tuple[float, float]:
    """The pair that accepts the most honest answers while the wrong-string goals hold in every condition of
    ``rows`` (ties: the stricter pair)."""
    best, best_pair = -1.0, (float(margins[-1]), float(means[-1]))
    for mean_from in means[::-1]:
        for margin_from in margins[::-1]:  # strict to lenient: a tie keeps the stricter
            if not meets_goals(rows, margin_from, mean_from):
                break  # more lenient margins only let more through
            honest = rates(rows, margin_from, mean_from)["honest_accepted_pct"]
            if honest > best:
                best, best_pair = honest, (float(margin_from), float(mean_from))
    return best_pair


def measure(recogniser: digits.DigitRecogniser, strings: list[tuple[str, str, np.ndarray, str, str]],
            conditions: tuple[str, ...]) -> tuple[list[dict], float]:
    rows, seconds, checks = [], 0.0, 0
    with tempfile.TemporaryDirectory() as tmp:
        for condition in conditions:
            for i, (speaker, text, samples, other, one_off) in enumerate(strings):
                audio = through(condition, samples, f"{condition}-{i:04d}", Path(tmp))
                t0 = time.perf_counter()
                hyps = recogniser.hear(audio)
                honest = recogniser.judge(hyps, text)
                seconds += time.perf_counter() - t0
                checks += 1
                rows.append({"condition": condition, "speaker": speaker, "exact": honest.exact, "honest": honest,
                             "random": recogniser.judge(hyps, other), "one_off": recogniser.judge(hyps, one_off)})
            done = [r for r in rows if r["condition"] == condition]
            print(f"{condition}: {rates(done, digits.MATCH_FROM, digits.MEAN_FROM)}, "
                  f"exact {pct([r['exact'] for r in done])} %", flush=True)
    return rows, seconds / max(checks, 1)


def baseline(recogniser: digits.DigitRecogniser, strings: list, count: int) -> dict:
    """Seconds per check of Whisper, pocketsphinx and the ECAPA embedding on the same clips, and pocketsphinx's rates."""
    from shared.embedding.embedder import get_embedder

    ecapa = get_embedder(model_settings("ecapa"))
    sphinx = PocketsphinxDigits()
    ecapa.embed(strings[0][2])  # warm both
    recogniser.check(strings[0][2], strings[0][1])
    times = {"whisper": 0.0, "pocketsphinx": 0.0, "ecapa_embedding": 0.0}
    flags = {"honest": [], "random": [], "one_off": [], "exact": []}
    for speaker, text, samples, other, one_off in strings[:count]:
        t0 = time.perf_counter()
        recogniser.check(samples, text)
        t1 = time.perf_counter()
        heard = sphinx.check(samples, text)
        t2 = time.perf_counter()
        ecapa.embed(samples)
        t3 = time.perf_counter()
        times["whisper"] += t1 - t0
        times["pocketsphinx"] += t2 - t1
        times["ecapa_embedding"] += t3 - t2
        flags["honest"].append(sphinx.matches(heard))
        flags["exact"].append(heard.exact)
        flags["random"].append(sphinx.matches(sphinx.check(samples, other)))
        flags["one_off"].append(sphinx.matches(sphinx.check(samples, one_off)))
    n = max(min(count, len(strings)), 1)
    seconds = {k: round(v / n, 3) for k, v in times.items()}
    return {"strings": n, "condition": "as-recorded-8k", "seconds_per_check": seconds,
            "whisper_over_ecapa": round(seconds["whisper"] / seconds["ecapa_embedding"], 2),
            "pocketsphinx": {"threshold": "0.0004 per frame (as shipped)",
                             **{f"{k}_pct": pct(v) for k, v in flags.items()}}}


def attacks_made_in_advance(recogniser: digits.DigitRecogniser, rng: np.random.Generator, length: int) -> dict:
    """Every attack clip of the kit (clones, TTS, vocoded and replayed speech, all made before any challenge) asked
    for a fresh random string: how many would pass the digit check."""
    from shared.evaluation.liveness import read_protocol

    rows = [r for r in read_protocol(KIT / "spoof" / "protocol.csv") if r.label == "spoof"]
    passed: dict[str, list[bool]] = {}
    for row in rows:
        issued = "".join(str(d) for d in rng.integers(0, 10, length))
        heard = recogniser.check(decoded(KIT / row.path), issued)
        passed.setdefault(row.generator, []).append(heard.match)
    every = [p for flags in passed.values() for p in flags]
    return {"clips": len(every), "passed": int(sum(every)), "passed_pct": pct(every),
            "by_generator": {g: f"{sum(f)}/{len(f)}" for g, f in sorted(passed.items())}}


def row_json(row: dict) -> dict:
    pick = lambda h: {"margin": h.margin, "mean_logprob": round(h.mean_logprob, 4),  # noqa: E731
                      "no_speech": round(h.no_speech, 4), "exact": h.exact}
    return {"condition": row["condition"], "speaker": row["speaker"], "exact": row["exact"],
            **{k: pick(row[k]) for k in ("honest", "random", "one_off")}}


def row_from_json(doc: dict) -> dict:
    """A row written by ``--rows``, as ``measure`` made it (the thresholds can be re-chosen without re-running)."""
    def heard(h: dict) -> digits.Heard:
        return digits.Heard(expected="0", heard="0" if h["exact"] else "", margin=h["margin"],
                            mean_logprob=h["mean_logprob"], no_speech=h["no_speech"])
    return {"condition": doc["condition"], "speaker": doc["speaker"], "exact": doc["exact"],
            **{k: heard(doc[k]) for k in ("honest", "random", "one_off")}}


def summarise(rows: list[dict], conditions: tuple[str, ...], margins: np.ndarray, means: np.ndarray) -> dict:
    by = {c: [r for r in rows if r["condition"] == c] for c in conditions}
    shipped = (digits.MATCH_FROM, digits.MEAN_FROM)
    held_out = {}
    for c in conditions:
        pair = pick_thresholds([r for r in rows if r["condition"] != c], margins, means)
        held_out[c] = {"thresholds_from_the_others": pair, **rates(by[c], *pair)}
    return {
        "shipped_thresholds": {"margin_from": shipped[0], "mean_logprob_from": shipped[1]},
        "rule_thresholds_all_conditions": pick_thresholds(rows, margins, means),
        "pooled": {**rates(rows, *shipped), "exact_one_best_pct": pct([r["exact"] for r in rows]),
                   "strings": len(rows), "wrong_strings": 2 * len(rows)},
        "by_condition": {c: {**rates(by[c], *shipped), "exact_one_best_pct": pct([r["exact"] for r in by[c]])}
                         for c in conditions},
        "each_condition_held_out": held_out,
        "by_margin_threshold": [{"margin_from": float(t), **rates(rows, t, shipped[1])} for t in margins[::4]],
        "by_mean_threshold": [{"mean_logprob_from": float(t), **rates(rows, shipped[0], t)} for t in means],
        "honest_refused_as_no_speech_pct": pct([r["honest"].no_speech >= digits.NO_SPEECH_BELOW for r in rows]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strings", type=int, default=170, help="strings per condition (each with 2 wrong ones)")
    parser.add_argument("--length", type=int, default=6)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--conditions", default=",".join(CONDITIONS))
    parser.add_argument("--baseline", type=int, default=30, help="strings timed beside pocketsphinx and ECAPA")
    parser.add_argument("--attacks", action="store_true", help="also ask every attack clip of the kit for digits")
    parser.add_argument("--window-s", type=float, default=digits.MAX_SECONDS,
                        help="Whisper's input window (30 s as trained; shorter is faster and less accurate)")
    parser.add_argument("--model", default="", help="a CTranslate2 Whisper folder (VOICEID_DIGITS_MODEL); default tiny.en")
    parser.add_argument("--json")
    parser.add_argument("--rows", help="also write every string's figures (JSON lines) for re-analysis")
    parser.add_argument("--from-rows", help="summarise a --rows file again (at the shipped thresholds; with --json, "
                                            "update that file's summary) and stop")
    args = parser.parse_args()
    if args.from_rows:
        rows = [row_from_json(json.loads(line)) for line in Path(args.from_rows).read_text().splitlines()]
        conditions = tuple(dict.fromkeys(r["condition"] for r in rows))
        summary = summarise(rows, conditions, *GRIDS)
        print(json.dumps(summary, indent=2))
        if args.json:  # the measured run's file, its summary re-made (machine, timings and attacks kept)
            kept = json.loads(Path(args.json).read_text()) if Path(args.json).is_file() else {}
            Path(args.json).write_text(json.dumps({**kept, **summary}, indent=2) + "\n")
        return
    conditions = tuple(c for c in args.conditions.split(",") if c)
    rng = np.random.default_rng(args.seed)
    speakers = takes()
    names = sorted(speakers)
    strings = []
    for i in range(args.strings):
        speaker = names[i % len(names)]
        text, samples = spoken_string(rng, speakers[speaker], args.length)
        strings.append((speaker, text, samples, *wrong_strings(rng, text)))
    recogniser = digits.DigitRecogniser(args.model, window_s=args.window_s)
    rows, seconds = measure(recogniser, strings, conditions)
    report = {"machine": machine(), "recogniser": f"{args.model or 'whisper tiny.en'} int8 (sha256 {recogniser.sha256[:12]}"
                            f"{', multilingual, held to English' if recogniser.multilingual else ''})",
              "window_s": args.window_s,
              "strings_per_condition": args.strings, "length": args.length, "speakers": names,
              "mean_string_s": round(float(np.mean([len(s[2]) for s in strings])) / digits.SAMPLE_RATE, 2),
              "seconds_per_check_all_conditions": round(seconds, 3),
              **summarise(rows, conditions, *GRIDS),
              "beside": baseline(recogniser, strings, args.baseline) if args.baseline else None,
              "attacks_made_in_advance": attacks_made_in_advance(recogniser, rng, args.length) if args.attacks else None}
    print(json.dumps({k: v for k, v in report.items() if not k.startswith("by_")}, indent=2))
    if args.rows:
        Path(args.rows).write_text("".join(json.dumps(row_json(r)) + "\n" for r in rows))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
