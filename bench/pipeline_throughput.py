"""Pipeline throughput against the bare model, on the same files in one process.

* **baseline**: SpeechBrain's ``EncoderClassifier.encode_batch`` on the already-decoded
  16 kHz samples of each file, one call per file (the model itself, nothing else);
* **pipeline**: what an enrol or identify trigger does to the file's bytes before
  the gallery: ffmpeg decode, VAD and the audio report, then the embedding
  (``shared.embedding.frontend.prepare`` + ``embed_prepared``);
* **pipeline + liveness**: the same, then the liveness check every input gets
  (``shared.pipeline.liveness_check.check``: the shipped detector).

Goal: pipeline throughput >= 0.8 x the baseline's (the pipeline adds at most 20 %).
Each side runs ``--rounds`` times, interleaved so that drift hits both; the best
round of each is compared.

    .venv/bin/python -m bench.pipeline_throughput [--files 30] [--rounds 3] [--json docs/pipeline_throughput.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from bench.common import decoded, kit_files, machine
from shared.core.settings import Settings
from shared.embedding.embedder import get_embedder
from shared.embedding.frontend import embed_prepared, prepare
from shared.pipeline import liveness_check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import torch

    settings = Settings.from_env()
    embedder = get_embedder(settings)
    model = embedder._model  # the EncoderClassifier itself
    paths = kit_files(each=(args.files + 1) // 2)[:args.files]  # LibriSpeech-multi and Hyke, alternating
    data = [p.read_bytes() for p in paths]
    samples = [decoded(p) for p in paths]
    audio_s = sum(len(s) for s in samples) / 16_000

    def baseline() -> None:
        with torch.inference_mode():
            for s in samples:
                model.encode_batch(torch.from_numpy(s).unsqueeze(0))

    def pipeline() -> None:
        for d in data:
            embed_prepared(prepare(d, settings), settings)

    def with_liveness() -> None:
        for d in data:
            liveness_check.check(embed_prepared(prepare(d, settings), settings), settings, "verify")

    with_liveness()  # warm all (VAD model, detector, ffmpeg page cache)
    baseline()
    sides = (("baseline", baseline), ("pipeline", pipeline), ("pipeline + liveness", with_liveness))
    times: dict[str, list[float]] = {name: [] for name, _ in sides}
    for _ in range(args.rounds):
        for name, fn in sides:
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    best = {k: min(v) for k, v in times.items()}
    ratio = best["baseline"] / best["pipeline"]
    print(f"machine: {machine()}\nmodel {embedder.info.id}; {len(data)} files, {audio_s:.0f} s of audio; "
          f"best of {args.rounds}\n")
    print("| | seconds | files/s | × real time |\n|---|---|---|---|")
    for k, v in best.items():
        print(f"| {k} | {v:.2f} | {len(data) / v:.1f} | {audio_s / v:.0f} |")
    print(f"\npipeline throughput / bare encode_batch: {ratio:.2f} (goal >= 0.8); with liveness "
          f"{best['baseline'] / best['pipeline + liveness']:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "model_id": embedder.info.id, "files": len(data),
                                         "audio_s": audio_s, "rounds": times, "best_s": best, "ratio": ratio,
                                         "ratio_with_liveness": best["baseline"] / best["pipeline + liveness"],
                                         "spread": {k: float(np.ptp(v)) for k, v in times.items()}}, indent=2))


if __name__ == "__main__":
    main()
