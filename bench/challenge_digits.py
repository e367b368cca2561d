"""Does the challenge hear the right digits? Utterance verification on real spoken digit strings.

    .venv/bin/python -m bench.challenge_digits [--strings 200] [--length 6] [--json docs/challenge_digits.json]

Digit strings are built from the team kit's FSDD recordings (real single spoken digits, 8 kHz, six
speakers): ``--length`` takes of one speaker, each a random digit, joined with 150-350 ms pauses, the
way a caller reads a prompted string. For every string the recogniser (:mod:`shared.audio.digits`)
is asked whether it holds (a) the digits spoken (a genuine answer) and (b) a random other string
of the same length (an answer that does not fit the challenge: a replay, a clone made in advance,
a caller reading the wrong line). Reports the true-match rate, the false-match rate of random
strings at the shipped threshold (``MATCH_FROM``), the exact 1-best string accuracy, and both
rates across thresholds, so the threshold is chosen by measurement. Hyke's callers read digit lines
too, but which lines each caller read is not in the kit (the source README shows one example
sheet), so they cannot be scored.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from bench.common import KIT, load_clip, machine
from shared.audio import digits


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strings", type=int, default=200)
    parser.add_argument("--length", type=int, default=6)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    recogniser = digits.DigitRecogniser()
    speakers = takes()
    names = sorted(speakers)
    genuine, other, exact, seconds, audio_s = [], [], 0, 0.0, 0.0
    for i in range(args.strings):
        text, audio = spoken_string(rng, speakers[names[i % len(names)]], args.length)
        wrong = text
        while wrong == text:
            wrong = "".join(str(d) for d in rng.integers(0, 10, args.length))
        t0 = time.perf_counter()
        heard = recogniser.check(audio, text)
        seconds += time.perf_counter() - t0
        audio_s += len(audio) / digits.SAMPLE_RATE
        genuine.append(heard.margin)
        exact += heard.heard == text
        other.append(recogniser.check(audio, wrong).margin)
    genuine, other = np.array(genuine), np.array(other)
    grid = [round(t, 5) for t in np.arange(-0.0006, 0.00081, 0.0001)]
    report = {
        "machine": machine(), "strings": args.strings, "length": args.length, "speakers": names,
        "threshold": digits.MATCH_FROM,
        "true_match_pct": round(100 * float(np.mean(genuine >= digits.MATCH_FROM)), 2),
        "false_match_of_random_strings_pct": round(100 * float(np.mean(other >= digits.MATCH_FROM)), 2),
        "exact_one_best_pct": round(100 * exact / args.strings, 2),
        "ms_per_check": round(1000 * seconds / args.strings, 1), "mean_string_s": round(audio_s / args.strings, 2),
        "by_threshold": [{"threshold": t, "true_match_pct": round(100 * float(np.mean(genuine >= t)), 2),
                          "false_match_pct": round(100 * float(np.mean(other >= t)), 2)} for t in grid],
    }
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
