"""1:N scoring time per probe against 1k .. 1M voiceprints, with the growth curve as a PNG.

What is timed is the match worker's own function (``shared.scoring.probe.score_shard``) on a
shard already held in memory (``shared.gallery.cache``: workers download a shard once per
version): stage 1 (the probe against every speaker model, one matrix-vector product,
then the shortlist) and stage 2 (AS-norm and calibration of the shortlisted speakers).
The baseline, timed in the same run on the same matrix, is the bare product
``centred @ probe`` alone, the least any exact search must do. Exact search only: it
meets the goal (1M in <= 100 ms on 2 cores), so no ANN index is used, and none has to
prove its recall.

Voiceprints are synthetic (unit vectors around a shared channel direction, one per
speaker, 192 dimensions like ECAPA); probes are drawn the same way. Timing does not
depend on the values.

    .venv/bin/python -m bench.scoring_scale [--sizes 1000,10000,100000,1000000] \
        [--json docs/scoring_scale.json] [--png docs/scoring_scale.png]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from bench.common import machine
from shared.core.records import MatchJob
from shared.core.settings import Settings
from shared.gallery.cache import PreparedShard
from shared.gallery.shards import Shard
from shared.scoring.normalization import l2
from shared.scoring.probe import score_shard
from shared.scoring.stats import build

DIM = 192
STATS_SPEAKERS = 2000  # statistics come from a sample: their build is not what is timed


def synthetic(n: int, rng: np.random.Generator, channel: np.ndarray) -> np.ndarray:
    out = np.empty((n, DIM), np.float32)
    for start in range(0, n, 100_000):
        block = rng.standard_normal((min(100_000, n - start), DIM), dtype=np.float32)
        out[start:start + len(block)] = l2(l2(block) + 0.5 * channel)
    return out


def timed(fn, repeats: int) -> list[float]:
    fn()  # warm
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(1000 * (time.perf_counter() - t))
    return out


def measure(n: int, rng: np.random.Generator, channel: np.ndarray, settings: Settings, repeats: int) -> dict:
    matrix = synthetic(n, rng, channel)
    keys = [f"s{i:07d}" for i in range(n)]
    shard = Shard(matrix=matrix, entries=tuple({"key": k, "speaker": k} for k in keys), etag='"bench"')
    sample = slice(0, min(n, STATS_SPEAKERS))
    stats = build(keys[sample], matrix[sample], "synthetic@0", margins=False)
    t = time.perf_counter()
    prepared = PreparedShard.build(shard, stats, '"stats"')
    prepare_s = time.perf_counter() - t
    probes = synthetic(repeats + 1, rng, channel)
    job = MatchJob(request_id="bench", kind="identify", blob="bench", etag='"bench"', shard=0, shards=(0,),
                   model_id="synthetic@0", probe="bench.npy")
    probe_iter = iter(list(probes) * 2)
    product = timed(lambda: prepared.centred @ stats.cohort.center(next(probe_iter)), repeats)
    full = timed(lambda: score_shard(job, next(probe_iter), prepared, stats, settings), repeats)
    return {"voiceprints": n, "matrix_mb": round(matrix.nbytes / 2**20, 1), "prepare_s": round(prepare_s, 2),
            "baseline_ms": {"p50": float(np.median(product)), "p95": float(np.percentile(product, 95))},
            "score_shard_ms": {"p50": float(np.median(full)), "p95": float(np.percentile(full, 95))},
            "ratio_p50": float(np.median(full) / np.median(product))}


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = [r["voiceprints"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(n, [r["score_shard_ms"]["p50"] for r in rows], "o-", label="score_shard (stage 1 + 2), p50")
    ax.loglog(n, [r["baseline_ms"]["p50"] for r in rows], "s--", label="bare matrix-vector product, p50")
    ax.axhline(100, color="grey", linestyle=":", label="goal for 1M: 100 ms")
    ax.set_xlabel("voiceprints in the shard")
    ax.set_ylabel("ms per probe")
    ax.set_title("1:N scoring time per probe (2-core CPU, exact search)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--png", type=Path)
    args = parser.parse_args()
    settings = Settings.from_env()
    rng = np.random.default_rng(0)
    channel = l2(rng.standard_normal(DIM)).astype(np.float32)
    print(f"machine: {machine()}\n")
    print("| voiceprints | matrix MB | prepare once (s) | bare product p50 ms | score_shard p50 ms | p95 ms | ratio |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        r = measure(n, rng, channel, settings, args.repeats)
        rows.append(r)
        print(f"| {n:,} | {r['matrix_mb']} | {r['prepare_s']} | {r['baseline_ms']['p50']:.2f} | "
              f"{r['score_shard_ms']['p50']:.2f} | {r['score_shard_ms']['p95']:.2f} | {r['ratio_p50']:.2f} |",
              flush=True)
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2))
    if args.png:
        plot(rows, args.png)


if __name__ == "__main__":
    main()
