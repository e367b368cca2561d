"""Bulk ingestion: 1,000 enrolment files through the live pipeline; files per minute and CPU use.

A nightly ingestion job drops thousands of files into ``enroll/`` at once. This bench
does the same against a fresh Azurite and a warm local host: it makes ``--files``
enrolment files of real speech (5 s windows, 2.5 s apart, cut from the team kit's
telephone and read-speech clips and named after their speaker, like a folder upload),
uploads them all with 8 parallel connections (as ``az storage blob upload-batch`` does),
and waits until every result document is written. The clock runs from the first upload
to the last result. CPU use is read from /proc for the host process (with its ffmpeg
children) and for Azurite.

Baseline measured in the same run: the bare model (``encode_batch``) on the decoded
samples of the first ``--baseline`` files, one after another in this process.

    .venv/bin/python -m bench.bulk_ingest [--files 1000] [--json docs/bulk_ingest.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from bench.common import KIT, decoded, machine
from bench.latency import RATE, wav_bytes
from bench.live import cpu_seconds, live_stack, percentile
from shared.core import contract
from shared.core.settings import Settings
from shared.embedding.embedder import get_embedder
from shared.gallery.store import Gallery

WINDOW_S, HOP_S = 5.0, 2.5
CORPORA = ("hyke-telephone", "librispeech-single", "librispeech-multi")


def enrol_files(count: int) -> list[tuple[str, bytes, np.ndarray]]:
    """(blob name, WAV bytes, samples) of ``count`` windows of real speech, corpora interleaved."""
    pools = [sorted((KIT / c).glob("*/*.flac")) for c in CORPORA]
    sources = [p for group in zip(*(pool * 4 for pool in pools)) for p in group]
    out: list[tuple[str, bytes, np.ndarray]] = []
    n, hop = int(WINDOW_S * RATE), int(HOP_S * RATE)
    seen: set[Path] = set()
    for path in sources:
        if path in seen:
            continue
        seen.add(path)
        samples = decoded(path)
        for k, start in enumerate(range(0, len(samples) - n + 1, hop)):
            speaker = f"{path.parent.parent.name[:4]}-{path.parent.name}"
            out.append((f"{speaker}/{path.stem}-w{k}.wav", wav_bytes(samples[start:start + n]),
                        samples[start:start + n]))
            if len(out) == count:
                return out
    raise SystemExit(f"the kit yields only {len(out)} windows; ask for fewer --files")


def azurite_pid(client) -> int | None:
    port = re.search(r"BlobEndpoint=http://127.0.0.1:(\d+)", client.settings.storage_connection).group(1)
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if any(b"azurite" in c for c in cmd) and port.encode() in cmd:
                return int(proc.name)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--baseline", type=int, default=100, help="files the bare model embeds (default 100)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import torch

    files = enrol_files(args.files)
    audio_s = len(files) * WINDOW_S
    with live_stack() as (client, host):
        az_pid = azurite_pid(client)
        cpu0 = {"host": cpu_seconds(host.process.pid), "azurite": cpu_seconds(az_pid) if az_pid else 0.0}
        t0 = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            etags = list(tqdm(pool.map(lambda f: client.storage.write(contract.ENROLL, f[0], f[1]), files),
                              total=len(files), desc="upload", unit="file"))
        uploaded = time.perf_counter() - t0
        docs = [client.wait_result(contract.ENROLL, f[0], etag, timeout_s=3600)
                for f, etag in tqdm(list(zip(files, etags)), desc="results", unit="file")]
        wall = time.perf_counter() - t0
        cpu = {"host": cpu_seconds(host.process.pid) - cpu0["host"],
               "azurite": (cpu_seconds(az_pid) - cpu0["azurite"]) if az_pid else 0.0}
        speakers = client.speakers()
        embedder = get_embedder(Settings.from_env())  # loaded after the clock stopped, like the baseline
        stats = Gallery(client.storage, embedder.info, 1).load_stats()
    t1 = time.perf_counter()
    with torch.inference_mode():
        for _, _, samples in files[:args.baseline]:
            embedder._model.encode_batch(torch.from_numpy(samples).unsqueeze(0))
    bare = time.perf_counter() - t1
    statuses = {s: sum(d["status"] == s for d in docs) for s in {d["status"] for d in docs}}
    totals = [d["timings_ms"]["total"] for d in docs]
    cores = os.cpu_count() or 1
    summary = {
        "machine": machine(), "model_id": embedder.info.id, "files": len(files), "audio_s": audio_s,
        "upload_s": uploaded, "wall_s": wall, "files_per_min": len(files) / wall * 60, "statuses": statuses,
        "speakers": len(speakers), "voiceprints": sum(r["voiceprints"] for r in speakers),
        "cpu_s": cpu, "cpu_utilisation": {k: v / wall / cores for k, v in cpu.items()},
        "stats_built_from_voiceprints": stats.voiceprints, "per_file_total_ms_p50": percentile(totals, 50),
        "per_file_embed_ms_p50": percentile([d["timings_ms"].get("embed", 0.0) for d in docs if d["status"] == "ok"],
                                            50),
        "baseline_files": args.baseline, "baseline_s": bare, "baseline_files_per_min": args.baseline / bare * 60,
    }
    summary["ratio_to_bare_model"] = summary["files_per_min"] / summary["baseline_files_per_min"]
    print(f"machine: {summary['machine']}\nmodel {summary['model_id']}; {len(files)} files of {WINDOW_S:g} s "
          f"({audio_s / 60:.0f} min of audio); results: {statuses}; gallery now {summary['speakers']} speakers, "
          f"{summary['voiceprints']} voiceprints\n")
    print("| | seconds | files/min | × real time |\n|---|---|---|---|")
    print(f"| pipeline: upload -> every result | {wall:.0f} | {summary['files_per_min']:.0f} | {audio_s / wall:.0f} |")
    print(f"| baseline: bare encode_batch, {args.baseline} files | {bare:.1f} | "
          f"{summary['baseline_files_per_min']:.0f} | {args.baseline * WINDOW_S / bare:.0f} |")
    print(f"\npipeline / bare model: {summary['ratio_to_bare_model']:.2f}; uploads took {uploaded:.1f} s")
    print(f"CPU over the run ({cores} cores): host {summary['cpu_utilisation']['host']:.0%}, "
          f"Azurite {summary['cpu_utilisation']['azurite']:.0%}; the statistics now cover {stats.voiceprints} "
          f"of {summary['voiceprints']} voiceprints")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
