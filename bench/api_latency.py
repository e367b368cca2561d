"""What the HTTP API adds to an identification: POST + poll vs. a plain blob upload + poll.

Same warm local host, same Azurite, same probes (held-out real LibriSpeech clips of enrolled
speakers), interleaved: each probe is identified once through storage (the baseline: upload
to ``identify/``, then read ``results/`` every 20 ms) and once through the API (``POST
/api/identify``, then ``GET`` the ``result`` URL every 20 ms), in alternating order, each after a
random 0-1 s pause (the blob trigger scans once a second; back-to-back probes would lock onto
its phase). Reported: p50/p95 of each, their ratio, and the cost of the request alone (POST vs
upload) which is the API's own overhead.

    .venv/bin/python -m bench.api_latency [--rounds 2] [--json docs/api_latency.json]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import requests

from bench.common import KIT, machine
from bench.live import live_stack, percentile, wait_fast
from shared.client.bulk import enroll_files
from shared.client.voiceid import unique_probe_name
from shared.core import contract
from shared.localhost.functionkeys import FunctionKeys

SPEAKERS = ("1688", "1998", "2033", "2414", "3005")
MULTI = KIT / "librispeech-multi"


def clips(speaker: str) -> list[Path]:
    return sorted((MULTI / speaker).glob("*.flac"))


def enrol_clips(speaker: str, count: int) -> list[Path]:
    """The longest clips, never the last two (the probes)."""
    return sorted(clips(speaker)[:-2], key=lambda p: p.stat().st_size, reverse=True)[:count]


def enrol(client) -> None:
    pairs = [(f"{s}/{p.name}", p) for s in SPEAKERS for p in enrol_clips(s, 2)]
    split = KIT / "librispeech-split"
    pairs += [(f"reader-{r.name}/a.flac", r / "a.flac") for r in sorted(split.iterdir())[20:26] if r.is_dir()]
    report = enroll_files(client, pairs, timeout_s=300)
    assert not report.failed, report.failed


def via_storage(client, probe: Path) -> tuple[float, float, dict]:
    blob = unique_probe_name(probe)
    data = probe.read_bytes()
    start = time.perf_counter()
    etag = client.storage.write(contract.IDENTIFY, blob, data)
    sent = time.perf_counter()
    doc = wait_fast(client, contract.IDENTIFY, blob, etag)
    return time.perf_counter() - start, sent - start, doc


def via_http(session: requests.Session, api: str, probe: Path) -> tuple[float, float, dict]:
    data = probe.read_bytes()
    start = time.perf_counter()
    r = session.post(f"{api}/identify", data=data, headers={"Content-Type": "audio/flac"}, timeout=60)
    sent = time.perf_counter()
    assert r.status_code == 202, r.text
    url = r.json()["result"]
    while True:
        got = session.get(url, timeout=60)
        if got.status_code == 200:
            return time.perf_counter() - start, sent - start, got.json()
        assert got.status_code == 202, got.text
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2, help="passes over the 10 probes (default 2)")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    rng = random.Random(7)
    probes = [p for s in SPEAKERS for p in clips(s)[-2:]]
    assert MULTI.is_dir(), "the team kit's speech is needed (../shared/data)"
    with live_stack() as (client, host):
        enrol(client)
        session = requests.Session()
        session.headers["x-functions-key"] = FunctionKeys(client.storage).function_keys("http_api")["default"]
        times = {"storage": [], "http": []}
        sends = {"storage": [], "http": []}
        right = {"storage": 0, "http": 0}
        for n, probe in enumerate(probes * args.rounds):
            order = ["storage", "http"] if n % 2 == 0 else ["http", "storage"]
            for path in order:
                time.sleep(rng.random())
                total, send, doc = (via_storage(client, probe) if path == "storage"
                                    else via_http(session, host.api_url, probe))
                times[path].append(total)
                sends[path].append(send)
                right[path] += doc.get("decision") == probe.parent.name
    summary = {
        "machine": machine(), "probes": len(times["storage"]),
        "storage": {"p50_s": percentile(times["storage"], 50), "p95_s": percentile(times["storage"], 95),
                    "send_p50_ms": 1000 * percentile(sends["storage"], 50), "correct": right["storage"]},
        "http": {"p50_s": percentile(times["http"], 50), "p95_s": percentile(times["http"], 95),
                 "send_p50_ms": 1000 * percentile(sends["http"], 50), "correct": right["http"]},
    }
    summary["ratio_p50"] = summary["http"]["p50_s"] / summary["storage"]["p50_s"]
    summary["ratio_send_p50"] = summary["http"]["send_p50_ms"] / summary["storage"]["send_p50_ms"]
    print(json.dumps(summary, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
