"""What the spoof detector costs beside the speaker model: AASIST scoring against ECAPA embedding, same clips.

    .venv/bin/python -m bench.liveness_speed [--clips 30] [--rounds 3] [--json docs/liveness_speed.json]

Kit clips of every live corpus (LibriSpeech, Hyke telephone, FSDD digits) decoded by the product's
decoder; each round times the bare ECAPA embedding of every clip (the baseline), then AASIST and
AASIST-L on the same clips (their fixed 4.04 s input: the first 64,600 samples, tiled when shorter),
interleaved round by round so that drift shows. Issue 19's budget: the detector adds at most 50 % to
the embedding time of a clip.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from bench.common import KIT, load_clip, machine
from shared.core.paths import team_kit
from shared.core.settings import Settings
from shared.embedding.embedder import get_embedder
from shared.liveness import aasist

CORPORA = ("librispeech-multi", "hyke-telephone", "fsdd-digits")


def kit_clips(count: int) -> list:
    per = max(count // len(CORPORA), 1)
    paths = [p for corpus in CORPORA for p in sorted((KIT / corpus).glob("*/*.flac"))[::7][:per]]
    return [load_clip(p).samples for p in paths]


def timed(fn, clips) -> float:
    t0 = time.perf_counter()
    for clip in clips:
        fn(clip)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json")
    args = parser.parse_args()
    clips = kit_clips(args.clips)
    audio_s = sum(len(c) for c in clips) / aasist.SAMPLE_RATE
    weights = (team_kit() or KIT.parent) / "models" / "aasist"
    ecapa = get_embedder(Settings(model="ecapa", device="cpu"))
    detectors = {name: aasist.load(weights / f"{name}.pth", weights / f"{name}.conf") for name in ("AASIST", "AASIST-L")}
    systems = {"ECAPA embed": ecapa.embed, **{f"{n} score": (lambda c, m=m: aasist.score(m, c))
                                             for n, m in detectors.items()}}
    for fn in systems.values():
        fn(clips[0])  # warm-up
    seconds = {name: [] for name in systems}
    for _ in range(args.rounds):
        for name, fn in systems.items():
            seconds[name].append(timed(fn, clips))
    best = {name: min(v) for name, v in seconds.items()}
    base = best["ECAPA embed"]
    report = {"machine": machine(), "torch_threads": torch.get_num_threads(), "clips": len(clips),
              "audio_s": round(audio_s, 1), "mean_clip_s": round(audio_s / len(clips), 2),
              "per_clip_ms": {n: round(1000 * s / len(clips), 1) for n, s in best.items()},
              "ratio_to_ecapa": {n: round(s / base, 3) for n, s in best.items()}}
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
