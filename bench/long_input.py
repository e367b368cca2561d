"""What a long input costs: embedding time and peak memory for 1-10 minutes of speech.

The duration cap (VOICEID_MAX_AUDIO_SECONDS) is a resource guard, not an accuracy
matter (accuracy stops improving after a few seconds of speech: docs/audio.md), so
it is set from what one input may cost a worker. Each length runs in a fresh child
process so that its peak RSS is its own.

    .venv/bin/python -m bench.long_input        # about 2 minutes on 2 cores
"""

from __future__ import annotations

import json
import subprocess
import sys

from bench.common import KIT, machine

LENGTHS_S = (60, 300, 600)
CHILD = """
import json, resource, sys, time
import numpy as np
from shared.audio.decode import decode
from shared.embedding.embedder import get_embedder
from shared.core.settings import Settings
model = get_embedder(Settings.from_env())
clips = sorted(__import__("pathlib").Path(sys.argv[2]).glob("*.flac"))
speech = np.concatenate([decode(c.read_bytes(), max_seconds=600, timeout_s=60).samples for c in clips])
seconds = float(sys.argv[1])
samples = np.resize(speech, int(seconds * 16000))
model.embed(samples[:16000 * 5])
rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
model.embed(samples)
took = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "embed_s": took,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rss_before_mb": rss_before / 1024}))
"""


def main() -> None:
    print(f"machine: {machine()}")
    print(f"{'audio s':>8s} {'embed s':>8s} {'x real time':>12s} {'peak RSS MB':>12s} {'of which input':>15s}")
    for seconds in LENGTHS_S:
        out = subprocess.run([sys.executable, "-c", CHILD, str(seconds), str(KIT / "librispeech-multi" / "1688")],
                             capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        row = json.loads(out)
        print(f"{seconds:8d} {row['embed_s']:8.2f} {seconds / row['embed_s']:12.1f} {row['peak_rss_mb']:12.0f} "
              f"{row['peak_rss_mb'] - row['rss_before_mb']:15.0f}", flush=True)


if __name__ == "__main__":
    main()
