"""Memory a match worker needs per voiceprint: one prepared shard, measured as the process's resident growth.

A synthetic shard of ``--voiceprints`` ECAPA-sized voiceprints (3 per speaker, every index
field filled as an enrolment fills it) is written to bytes as stored, read back as a worker
reads it, and prepared (speaker models, centred models, the key index and names a probe
uses). The bench reports resident memory before and after, and splits it into the numeric
arrays (``PreparedShard.nbytes``) and the rest (the parsed index). The baseline is the
stored blob's own size, measured in the same run.

    .venv/bin/python -m bench.shard_memory [--voiceprints 100000] [--json docs/shard_memory.json]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
from pathlib import Path

import numpy as np

from bench.common import machine
from shared.gallery.cache import PreparedShard
from shared.gallery.shards import Shard
from shared.scoring.normalization import l2, speaker_models
from shared.scoring.stats import build

DIM, PER_SPEAKER = 192, 3


def rss_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def stored_shard(n: int) -> bytes:
    rng = np.random.default_rng(0)
    matrix = l2(rng.normal(size=(n, DIM))).astype(np.float32)
    entries = tuple({"voiceprint_id": f"{i:020x}", "key": f"customer {i // PER_SPEAKER:09d}",
                     "speaker": f"Customer {i // PER_SPEAKER:09d}",
                     "blob": f"enroll/Customer {i // PER_SPEAKER:09d}/call-{i % PER_SPEAKER}.wav",
                     "etag": '"0x8DCB1F2A3B4C5D6"', "sha256": f"{i:064x}", "duration_s": 31.52,
                     "net_speech_s": 24.1, "created_at": "2026-11-24T10:15:00.123Z"} for i in range(n))
    return Shard(matrix=matrix, entries=entries).to_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--voiceprints", type=int, default=100_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    blob = stored_shard(args.voiceprints)
    shard = Shard.from_bytes(blob, etag='"x"')
    keys, models = speaker_models(shard.matrix, shard.keys)
    stats = build(keys, models, "spkrec-ecapa-voxceleb@bench")
    del shard, keys, models
    gc.collect()
    before = rss_bytes()
    prepared = PreparedShard.build(Shard.from_bytes(blob, etag='"x"'), stats, '"s"')
    prepared.index, prepared.names  # what a 1:1 claim and a result need
    gc.collect()
    grown = rss_bytes() - before
    n = args.voiceprints
    out = {"machine": machine(), "voiceprints": n, "speakers": len(prepared.keys), "stored_blob_bytes": len(blob),
           "resident_growth_bytes": grown, "numeric_bytes": prepared.nbytes,
           "per_voiceprint": {"stored": len(blob) / n, "resident": grown / n, "numeric": prepared.nbytes / n,
                              "index_and_rest": (grown - prepared.nbytes) / n}}
    print(f"machine: {out['machine']}\n{n} voiceprints, {out['speakers']} speakers, {DIM}-d float32\n")
    print("| bytes per voiceprint | |\n|---|---|")
    for k, v in out["per_voiceprint"].items():
        print(f"| {k} | {v:,.0f} |")
    print(f"\nresident growth for the shard: {grown / 2**20:.0f} MiB (stored blob {len(blob) / 2**20:.0f} MiB)")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
