"""Upload -> result latency of a 10 s identify probe: warm local host, 10,000-speaker gallery.

What a caller sees: from the start of the probe's upload to the moment its result
document can be read, through Azurite, the blob trigger, ffmpeg, the VAD, the model,
the match queue, the match workers (one per shard) and the fan-in. Probes are real
speech: 10.0 s cut from held-out LibriSpeech clips of 5 speakers enrolled through the
host, plus readers never enrolled (who must come back "unknown"). The other 10,000
speakers are synthetic voiceprints written straight into the gallery: each is a real
kit speaker's embedding turned by a random angle, so the gallery looks like speech to
the statistics. Probes run one at a time on an otherwise idle system, each after a
random pause of 0-1 s: the blob trigger scans once a second, and probes sent back to
back would lock onto its phase and measure it too kindly or too harshly.

Baselines measured in the same run, on the same probes:
* the bare model: ``EncoderClassifier.encode_batch`` on the probe's decoded samples;
* a storage round trip: upload the probe's bytes and read them back.

Goal (this 2-core machine): p50 <= 1.5 s.

    .venv/bin/python -m bench.latency [--gallery 10000] [--probes 30] [--json docs/latency.json]
"""

from __future__ import annotations

import argparse
import io
import json
import time
import wave
from pathlib import Path

import numpy as np

from bench.common import KIT, decoded, machine
from bench.live import live_stack, percentile, wait_fast
from shared.client.voiceid import unique_probe_name
from shared.core import contract
from shared.core.settings import Settings
from shared.embedding.embedder import get_embedder
from shared.evaluation.embedcache import EmbeddingCache
from shared.gallery.shards import Voiceprint
from shared.gallery.store import Gallery
from shared.scoring.normalization import l2

PROBE_S = 10.0
RATE = 16_000
ENROLLED = ("1688", "1998", "2033", "2414", "3005")
UNKNOWN_READERS = 15  # librispeech-single readers kept for unknown probes (one probe in six)


def wav_bytes(samples: np.ndarray) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return buf.getvalue()


def split(speaker: str) -> tuple[list[Path], list[Path]]:
    """A speaker's 3 longest clips (to enrol: the product wants 3 s of speech) and the rest (held out)."""
    clips = sorted((KIT / "librispeech-multi" / speaker).glob("*.flac"), key=lambda p: -p.stat().st_size)
    return clips[:3], sorted(clips[3:])


def probes(count: int) -> list[tuple[str, bytes, np.ndarray]]:
    """(expected answer, WAV bytes, samples): 10 s windows of held-out speech, about 1 in 6 from unknown readers."""
    out = []
    held = {s: np.concatenate([decoded(p) for p in split(s)[1]]) for s in ENROLLED}
    unknown = sorted((KIT / "librispeech-single").glob("*/*.flac"))[:UNKNOWN_READERS]
    n = int(PROBE_S * RATE)
    for i in range(count):
        if i % 6 == 5:
            samples, expected = decoded(unknown[i // 6 % UNKNOWN_READERS])[:n], "unknown"
        else:
            speaker = ENROLLED[i % len(ENROLLED)]
            audio = held[speaker]
            start = (i // len(ENROLLED)) * n // 2 % max(1, len(audio) - n)
            samples, expected = audio[start:start + n], speaker
        if len(samples) == n:
            out.append((expected, wav_bytes(samples), samples))
    return out


def synthetic_gallery(real: np.ndarray, count: int, seed: int = 0) -> list[Voiceprint]:
    """``count`` synthetic speakers, each a real embedding turned away by a random angle (cosine about 0.3-0.6)."""
    rng = np.random.default_rng(seed)
    base = real[rng.integers(len(real), size=count)]
    noise = l2(rng.normal(size=base.shape))
    noise = l2(noise - (noise * base).sum(1, keepdims=True) * base)  # orthogonal to the base
    angle = rng.uniform(0.93, 1.27, size=(count, 1))  # radians: cosine 0.6 .. 0.3 to the base voice
    vectors = l2(np.cos(angle) * base + np.sin(angle) * noise).astype(np.float32)
    return [Voiceprint(voiceprint_id=f"synthetic-{i}", key=f"synthetic-{i:06d}", speaker=f"synthetic-{i:06d}",
                       embedding=v) for i, v in enumerate(vectors)]


def real_embeddings(settings: Settings, model_id: str) -> np.ndarray:
    """Kit voices to turn into synthetic speakers: never the unknown probes' readers nor the enrolled speakers."""
    cache = EmbeddingCache(settings, model_id)
    paths = (sorted((KIT / "librispeech-single").glob("*/*.flac"))[UNKNOWN_READERS:]
             + sorted((KIT / "hyke-telephone").glob("*/*_1.flac")))
    return np.stack([v for v in (cache.get(p).vector for p in paths) if v is not None])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gallery", type=int, default=10_000, help="synthetic speakers (default 10000)")
    parser.add_argument("--probes", type=int, default=30)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import torch

    settings = Settings.from_env()
    embedder = get_embedder(settings)
    model_id = embedder.info.id
    todo = probes(args.probes + 2)
    with live_stack() as (client, host):
        gallery = Gallery(client.storage, embedder.info, client.settings.shard_count)
        gallery.add_many(synthetic_gallery(real_embeddings(settings, model_id), args.gallery))
        gallery.refresh_stats()
        enrol = [(f"{s}/{p.name}", p) for s in ENROLLED for p in split(s)[0]]
        from shared.cli.connect import upload_and_wait

        docs = upload_and_wait(client, contract.ENROLL, enrol, wait=True, timeout_s=600)
        assert all(d["status"] == "ok" for d in docs), [d for d in docs if d["status"] != "ok"]
        rows, rng = [], np.random.default_rng(1)
        for i, (expected, data, samples) in enumerate(todo):
            blob = unique_probe_name(Path(f"probe-{i}.wav"))
            time.sleep(rng.uniform(0.0, 1.0))
            t0 = time.perf_counter()
            etag = client.storage.write(contract.IDENTIFY, blob, data)
            doc = wait_fast(client, contract.IDENTIFY, blob, etag)
            latency = time.perf_counter() - t0
            t1 = time.perf_counter()
            with torch.inference_mode():
                embedder._model.encode_batch(torch.from_numpy(samples).unsqueeze(0))
            bare = time.perf_counter() - t1
            t2 = time.perf_counter()
            rt_etag = client.storage.write(contract.MATCH_STATE, f"bench/{blob}", data)
            assert client.storage.read(contract.MATCH_STATE, f"bench/{blob}")[1] == rt_etag
            roundtrip = time.perf_counter() - t2
            rows.append({"expected": expected, "decision": doc.get("decision"), "status": doc["status"],
                         "latency_s": latency, "bare_model_s": bare, "storage_roundtrip_s": roundtrip,
                         "timings_ms": doc.get("timings_ms", {}), "scored": doc.get("voiceprints_scored")})
    measured = rows[2:]  # the first two warm the caches (shards, statistics) of a fresh host
    lat = [r["latency_s"] for r in measured]
    bare = [r["bare_model_s"] for r in measured]
    rt = [r["storage_roundtrip_s"] for r in measured]
    right = sum(r["decision"] == r["expected"] for r in measured)
    summary = {"machine": machine(), "model_id": model_id, "gallery_speakers": args.gallery + len(ENROLLED),
               "shards": client.settings.shard_count, "probes": len(measured), "probe_s": PROBE_S,
               "latency_p50_s": percentile(lat, 50), "latency_p95_s": percentile(lat, 95),
               "bare_model_p50_s": percentile(bare, 50), "storage_roundtrip_p50_s": percentile(rt, 50),
               "right": right, "scored": measured[0]["scored"],
               "stages_p50_ms": {k: percentile([r["timings_ms"].get(k, 0.0) for r in measured], 50)
                                 for k in measured[0]["timings_ms"]}}
    print(f"machine: {summary['machine']}\nmodel {model_id}; gallery {summary['gallery_speakers']} speakers "
          f"({summary['scored']} voiceprints scored per probe) in {summary['shards']} shards; "
          f"{len(measured)} probes of {PROBE_S:g} s, one at a time\n")
    print("| | p50 s | p95 s |\n|---|---|---|")
    print(f"| upload -> result | {summary['latency_p50_s']:.3f} | {summary['latency_p95_s']:.3f} |")
    print(f"| baseline: bare encode_batch of the probe | {summary['bare_model_p50_s']:.3f} | "
          f"{percentile(bare, 95):.3f} |")
    print(f"| baseline: storage round trip of the probe | {summary['storage_roundtrip_p50_s']:.3f} | "
          f"{percentile(rt, 95):.3f} |")
    print(f"\nlatency / bare model: {summary['latency_p50_s'] / summary['bare_model_p50_s']:.1f}x; "
          f"decisions right: {right}/{len(measured)}")
    print("stages (p50 ms, as the result reports them): " +
          ", ".join(f"{k} {v:.0f}" for k, v in summary["stages_p50_ms"].items()))
    if args.json:
        args.json.write_text(json.dumps({**summary, "rows": measured}, indent=2))


if __name__ == "__main__":
    main()
