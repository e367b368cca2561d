"""What sealing voiceprints at rest costs: open + parse of a sealed shard against parsing the plaintext blob.

A match worker reads a shard when its ETag changed (the shard cache keeps it otherwise), so
the cost that matters is one ``open`` (unwrap the data key, AES-256-GCM decrypt) on top of
``Shard.from_bytes``; enrolment pays one ``seal`` on top of ``to_bytes`` per write. Both are
timed here on synthetic shards as stored (:func:`bench.shard_memory.stored_shard`), with the
plaintext path as the baseline in the same process.

    .venv/bin/python -m bench.sealing_cost [--sizes 1000 10000 100000] [--json docs/sealing_cost.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bench.common import machine
from bench.shard_memory import stored_shard
from shared.core.keys import new_key_entry
from shared.gallery.shards import Shard
from shared.storage.sealing import Keyring

WHERE = "gallery/spkrec-ecapa-voxceleb/bench/shard-0000.npz"


def best_ms(fn, repeat: int) -> float:
    """The fastest of ``repeat`` runs: the cost without scheduler noise."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times) * 1000


def measure(n: int, ring: Keyring, repeat: int) -> dict:
    plain = stored_shard(n)
    sealed = ring.seal(plain, WHERE)
    shard = Shard.from_bytes(plain, etag='"x"')
    read_plain = best_ms(lambda: Shard.from_bytes(plain, etag='"x"'), repeat)
    read_sealed = best_ms(lambda: Shard.from_bytes(ring.open(sealed, WHERE), etag='"x"'), repeat)
    write_plain = best_ms(shard.to_bytes, repeat)
    write_sealed = best_ms(lambda: ring.seal(shard.to_bytes(), WHERE), repeat)
    return {"voiceprints": n, "blob_mb": round(len(plain) / 2**20, 2), "overhead_bytes": len(sealed) - len(plain),
            "read_plain_ms": round(read_plain, 2), "read_sealed_ms": round(read_sealed, 2),
            "read_ratio": round(read_sealed / read_plain, 3),
            "write_plain_ms": round(write_plain, 2), "write_sealed_ms": round(write_sealed, 2),
            "write_ratio": round(write_sealed / write_plain, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    ring = Keyring.parse(new_key_entry("bench"))
    rows = [measure(n, ring, args.repeat) for n in args.sizes]
    print(f"{'voiceprints':>11} {'MB':>7} {'read ms plain':>13} {'sealed':>8} {'ratio':>6} "
          f"{'write ms plain':>14} {'sealed':>8} {'ratio':>6}")
    for r in rows:
        print(f"{r['voiceprints']:>11,} {r['blob_mb']:>7} {r['read_plain_ms']:>13} {r['read_sealed_ms']:>8} "
              f"{r['read_ratio']:>6} {r['write_plain_ms']:>14} {r['write_sealed_ms']:>8} {r['write_ratio']:>6}")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
