"""Which band a file is: the product's ``high_band_db`` over the kit's corpora and the built phone conditions.

The channel-aware statistics (``shared/scoring/bands.py``) key on one bit per input, narrow- or
wide-band, read off the spectrum by ``shared/audio/bandwidth.py``. This prints, per source, the
spread of that measure and the share classed narrow, so the threshold (``NARROW_BELOW_DB``)
can be checked against every kind of audio the kit has: 8 kHz telephone and digit corpora,
16 kHz read speech, the PoC's web MP3s, the spoof set's live and synthetic speech, and each
phone codec and acoustic condition of ``shared/evaluation/conditions.py`` built from
LibriSpeech clips.

    .venv/bin/python -m bench.bandwidth [--per-source 40] [--json docs/bandwidth.json]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np

from bench.channels import BUILT, LISTS, babble_pool
from bench.common import KIT, decoded, machine
from shared.audio.bandwidth import NARROW, NARROW_BELOW_DB, band_of, high_band_db
from shared.audio.decode import decode
from shared.audio.vad import detect_speech
from shared.evaluation.conditions import BY_NAME, build_file

CORPORA = ("librispeech-single", "librispeech-multi", "hyke-telephone", "fsdd-digits", "seed-samples", "spoof")
CONDITIONS = ("band-300-3400", "g711-mulaw", "g711-alaw", "amr-nb-12k2", "amr-nb-4k75", "opus-8k", "g723-1-6k3",
              "phone-babble-10dB", "babble-0dB", "noise-0dB", "reverb-0.8s")
AUDIO = (".flac", ".wav", ".mp3")


def measure(path: Path) -> tuple[float | None, str]:
    """The product's measure and class of one file, through its decoder and VAD."""
    clip = decode(path.read_bytes(), max_seconds=600, timeout_s=60)
    level = high_band_db(clip.samples, detect_speech(clip.samples).mask(len(clip.samples)))
    return level, band_of(level, clip.source.sample_rate)


def row(name: str, got: list[tuple[float | None, str]]) -> dict:
    levels = np.array([v for v, _ in got if v is not None])
    return {"source": name, "files": len(got), "narrow_share": float(np.mean([b == NARROW for _, b in got])),
            "min_db": float(levels.min()), "median_db": float(np.median(levels)), "max_db": float(levels.max())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-source", type=int, default=40, help="files drawn per corpus (a stable draw)")
    parser.add_argument("--clips", type=int, default=15, help="LibriSpeech clips built under each condition")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = []
    for corpus in CORPORA:
        files = sorted(p for p in (KIT / corpus).rglob("*") if p.suffix.lower() in AUDIO)
        files = random.Random(corpus).sample(files, min(args.per_source, len(files)))
        rows.append(row(corpus, [measure(p) for p in files]))
    clean = sorted((KIT / "librispeech-single").glob("*/*.flac"))[: args.clips]
    pool = babble_pool(LISTS["librispeech-single"])
    for name in CONDITIONS:
        built = []
        for path in clean:
            rel = str(path.relative_to(KIT))
            target = (BUILT / name / rel).with_suffix(BY_NAME[name].suffix)
            if not target.is_file():
                build_file(decoded(path), BY_NAME[name], rel, target, pool)
            built.append(measure(target))
        rows.append(row(name, built))
    print(f"machine: {machine()}; narrow-band below {NARROW_BELOW_DB:g} dB (or a source at 8 kHz or less)\n")
    print("| source | files | high band, dB below the speech band: min / median / max | classed narrow |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['source']} | {r['files']} | {r['min_db']:.1f} / {r['median_db']:.1f} / {r['max_db']:.1f} | "
              f"{100 * r['narrow_share']:.0f} % |")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "threshold_db": NARROW_BELOW_DB, "rows": rows},
                                        indent=2))


if __name__ == "__main__":
    main()
