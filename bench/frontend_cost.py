"""Front-end cost (decode + VAD) per minute of audio, as a ratio to the ECAPA embedding of the same audio.

Builds one minute of real speech (LibriSpeech reader 1688, clips joined) in WAV, MP3, Opus and MP4 (H.264 video
with an AAC track), then times, in this one process and on the same samples: ffmpeg decoding (through the
product's decoder), silero VAD, and the embedding (the baseline). Best of REPEATS runs each.

    .venv/bin/python -m bench.frontend_cost      # about 1 minute on 2 cores

Goal (issue 4): front end <= 35 % of embedding time.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.common import KIT, machine
from shared.audio.decode import decode
from shared.audio.vad import detect_speech
from shared.core.settings import Settings
from shared.embedding.embedder import get_embedder
from tests.media import ffmpeg, make

REPEATS = 5
FORMATS = {"WAV": "wav-pcm16", "MP3": "mp3", "Opus": "ogg-opus", "MP4": "mp4-video"}


def best_of(fn, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def one_minute(out_dir: Path) -> Path:
    clips = sorted((KIT / "librispeech-multi" / "1688").glob("*.flac"))
    listing = out_dir / "list.txt"
    listing.write_text("".join(f"file '{c}'\n" for c in clips))
    out = out_dir / "minute.flac"
    ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-t", "60", str(out))
    return out


def main() -> None:
    model = get_embedder(Settings.from_env())
    print(f"machine: {machine()}; model {model.info.id}; best of {REPEATS}")
    print(f"{'format':6s} {'audio s':>8s} {'decode s':>9s} {'VAD s':>7s} {'embed s':>8s} {'front/embed':>12s}")
    with tempfile.TemporaryDirectory() as tmp:
        source = one_minute(Path(tmp))
        for label, name in FORMATS.items():
            data = make(name, source, Path(tmp)).read_bytes()
            audio = decode(data, max_seconds=600, timeout_s=120)
            t_decode = best_of(lambda: decode(data, max_seconds=600, timeout_s=120))
            t_vad = best_of(lambda: detect_speech(audio.samples))
            t_embed = best_of(lambda: model.embed(audio.samples), 3)
            ratio = (t_decode + t_vad) / t_embed
            print(f"{label:6s} {audio.duration_s:8.1f} {t_decode:9.3f} {t_vad:7.3f} {t_embed:8.3f} {ratio:11.0%}",
                  flush=True)


if __name__ == "__main__":
    main()
