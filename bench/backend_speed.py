"""Embedding speed of each backend on the same clips, in one process (ECAPA is the baseline).

    .venv/bin/python -m bench.backend_speed

Twenty LibriSpeech clips through the product's decoder; each backend embeds them after
one warm-up call; ECAPA runs first and last so drift would show.
"""

from __future__ import annotations

import time

from bench.common import KIT, load_clip, machine
from shared.core.settings import Settings
from shared.embedding.embedder import get_embedder


def main() -> None:
    clips = [load_clip(p).samples for p in sorted((KIT / "librispeech-multi").glob("*/*.flac"))[:20]]
    audio_s = sum(len(c) for c in clips) / 16_000
    print(f"machine: {machine()}; {len(clips)} clips, {audio_s:.0f} s of audio")
    base = None
    for model in ("ecapa", "campplus", "resemblyzer", "fusion", "fusion-campplus", "ecapa"):
        embedder = get_embedder(Settings(model=model))
        embedder.embed(clips[0])
        t0 = time.perf_counter()
        for c in clips:
            embedder.embed(c)
        took = time.perf_counter() - t0
        base = base or took
        print(f"{model:12s} {audio_s / took:6.0f}x real time  {took:6.2f} s  ({took / base:.2f}x ECAPA's time)")


if __name__ == "__main__":
    main()
