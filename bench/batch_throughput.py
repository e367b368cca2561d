"""Embedding throughput of 10 s clips by batch size, on the device the product picks (bench 6 on a GPU).

The product embeds one file per trigger. Batching files together only pays where the
hardware has parallelism a single 10 s clip cannot use: this bench measures it on the
machine at hand, with batch size 1 as the baseline in the same run. Clips are 10.0 s
windows of real kit speech, all the same length (no padding effects).

``--fp16-check`` answers the question a GPU run needs first: the weights travel to the
GPU machine as a float16 copy (the float32 checkpoint is larger than a call may carry),
so the embeddings of float16-rounded weights are compared with the original float32
ones, on this CPU.

    .venv/bin/python -m bench.batch_throughput [--clips 32] [--sizes 1,2,4,8,16] [--fp16-check] [--json F]
    VOICEID_DEVICE=cuda python -m bench.batch_throughput --clips 1024 --sizes 1,2,4,8,16,32,64   # on a GPU
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

RATE, CLIP_S = 16_000, 10.0


def ten_second_clips(count: int) -> np.ndarray:
    """``count`` windows of 10.0 s (repeating the kit files when more are asked for than they hold)."""
    n, out = int(CLIP_S * RATE), []
    for path in kit_files(each=40):
        samples = decoded(path)
        out += [samples[s:s + n] for s in range(0, len(samples) - n + 1, n)]
    if not out:
        raise SystemExit("no kit file holds 10 s of audio")
    return np.stack([out[i % len(out)] for i in range(count)]).astype(np.float32)


def throughput(model, clips: np.ndarray, size: int, device: str) -> float:
    """Clips per second embedding ``clips`` in batches of ``size`` (after one warm-up batch)."""
    import torch

    with torch.inference_mode():
        batch = torch.from_numpy(clips[:size]).to(device)
        model.encode_batch(batch, torch.ones(len(batch), device=device))
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        for i in range(0, len(clips), size):
            batch = torch.from_numpy(clips[i:i + size]).to(device)
            model.encode_batch(batch, torch.ones(len(batch), device=device))
        if device.startswith("cuda"):
            torch.cuda.synchronize()
    return len(clips) / (time.perf_counter() - start)


def fp16_agreement(model, clips: np.ndarray, device: str) -> float:
    """Lowest cosine between embeddings with the float32 weights and with the same weights rounded to float16."""
    import torch

    def embed() -> np.ndarray:
        with torch.inference_mode():
            out = [model.encode_batch(torch.from_numpy(c[None]).to(device), torch.ones(1, device=device))
                   .squeeze().float().cpu().numpy() for c in clips]
        vecs = np.stack(out)
        return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)

    reference = embed()
    saved = {k: v.clone() for k, v in model.mods.state_dict().items()}
    with torch.no_grad():
        for tensor in model.mods.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(tensor.half().float())
    rounded = embed()
    model.mods.load_state_dict(saved)
    return float((reference * rounded).sum(axis=1).min())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=32)
    parser.add_argument("--sizes", default="1,2,4,8,16")
    parser.add_argument("--fp16-check", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    embedder = get_embedder(Settings.from_env())
    model, device = embedder._model, embedder.device
    clips = ten_second_clips(args.clips)
    sizes = [int(s) for s in args.sizes.split(",")]
    rates = {size: throughput(model, clips, size, device) for size in sizes}
    base = rates[sizes[0]]
    print(f"machine: {machine()}\nmodel {embedder.info.id} on {device}; {len(clips)} clips of {CLIP_S:g} s\n")
    print("| batch | clips/s | × real time | vs batch 1 |\n|---|---|---|---|")
    for size, rate in rates.items():
        print(f"| {size} | {rate:.1f} | {rate * CLIP_S:.0f} | {rate / base:.2f} |")
    out = {"machine": machine(), "device": device, "model_id": embedder.info.id, "clips": len(clips),
           "clips_per_s": rates}
    if args.fp16_check:
        out["fp16_min_cosine"] = fp16_agreement(model, clips[:20], device)
        print(f"\nfloat16-rounded weights vs float32: lowest cosine {out['fp16_min_cosine']:.6f} on 20 clips")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
