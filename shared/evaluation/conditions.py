"""Hard channels, built reproducibly from clean speech: phone codecs, band limits, noise, babble, rooms.

A customer enrols in the app (wide-band, quiet) and later calls the contact centre (narrow-band,
a phone codec) or calls from a street. None of the kit's trial lists has that mismatch, so the
evaluation makes it: every :class:`Condition` turns a clean 16 kHz clip into the file a
deployment would receive under it. Codecs are the real ones (ffmpeg's G.711 mu-law and A-law,
OpenCORE AMR-NB, libopus, G.723.1), written in their own containers, so the product's decoder
reads them exactly as it would a real upload; noise, babble and rooms are mixed in numpy with a
random generator seeded by the condition and the clip, so a re-run builds the same files.

The bundled ffmpeg has no GSM 06.10 encoder; G.723.1 at 6.3 kbit/s stands in for the low-rate
legacy codec.

Short speech (``short-1-3s``) is a condition too: a piece of the clip holding 1 to 3 s of speech
(the length and the place seeded per clip), cut at the speech detector's segments with 0.1 s
around, as a caller's short answer or an emotional outburst would be.
"""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.audio.channels import (
    SAMPLE_RATE,
    babble,
    band,
    in_room,
    mix_at_snr,
    peak,
    pink_noise,
    room_response,
)
from shared.audio.decode import ffmpeg_exe

PHONE_BAND = "highpass=f=300:poles=2,highpass=f=300:poles=2,lowpass=f=3400:poles=2,lowpass=f=3400:poles=2"

# codec -> (ffmpeg output arguments at 8 kHz unless said, file suffix)
CODECS: dict[str, tuple[list[str], str]] = {
    "g711-mulaw": (["-ar", "8000", "-c:a", "pcm_mulaw", "-f", "wav"], ".wav"),
    "g711-alaw": (["-ar", "8000", "-c:a", "pcm_alaw", "-f", "wav"], ".wav"),
    "amr-nb-12k2": (["-ar", "8000", "-c:a", "libopencore_amrnb", "-b:a", "12.2k", "-f", "amr"], ".amr"),
    "amr-nb-4k75": (["-ar", "8000", "-c:a", "libopencore_amrnb", "-b:a", "4.75k", "-f", "amr"], ".amr"),
    "opus-8k": (["-ar", "16000", "-c:a", "libopus", "-b:a", "8k", "-application", "voip", "-f", "ogg"], ".ogg"),
    "g723-1": (["-ar", "8000", "-c:a", "g723_1", "-b:a", "6.3k", "-f", "wav"], ".wav"),
}


@dataclass(frozen=True)
class Condition:
    """One way a probe (or an enrolment) reaches the product.

    ``kind``: ``clean``, ``band`` (300-3,400 Hz at 16 kHz), ``codec`` (``codec`` names one of
    :data:`CODECS`, through the phone band), ``babble`` (``talkers`` other voices at ``snr_db``),
    ``noise`` (stationary pink noise at ``snr_db``), ``reverb`` (a room of ``rt60_s``), or
    ``phone-babble`` (babble at ``snr_db``, then the ``codec`` line: a call from a busy place), or
    ``short`` (a piece holding ``short_s`` seconds of speech, the length drawn between the two).
    """

    name: str
    kind: str
    codec: str = ""
    snr_db: float = 0.0
    talkers: int = 3
    rt60_s: float = 0.0
    short_s: tuple[float, float] = (0.0, 0.0)

    @property
    def suffix(self) -> str:
        return CODECS[self.codec][1] if self.codec else ".wav"

    @property
    def needs_babble(self) -> bool:
        return self.kind in ("babble", "phone-babble")


CONDITIONS: tuple[Condition, ...] = (
    Condition("clean", "clean"),
    Condition("band-300-3400", "band"),
    Condition("g711-mulaw", "codec", codec="g711-mulaw"),
    Condition("g711-alaw", "codec", codec="g711-alaw"),
    Condition("amr-nb-12k2", "codec", codec="amr-nb-12k2"),
    Condition("amr-nb-4k75", "codec", codec="amr-nb-4k75"),
    Condition("opus-8k", "codec", codec="opus-8k"),
    Condition("g723-1-6k3", "codec", codec="g723-1"),
    *(Condition(f"babble-{s}dB", "babble", snr_db=s) for s in (15, 10, 5, 0)),
    *(Condition(f"noise-{s}dB", "noise", snr_db=s) for s in (15, 10, 5, 0)),
    Condition("reverb-0.3s", "reverb", rt60_s=0.3),
    Condition("reverb-0.8s", "reverb", rt60_s=0.8),
    Condition("phone-babble-10dB", "phone-babble", codec="g711-mulaw", snr_db=10),
    Condition("short-1-3s", "short", short_s=(1.0, 3.0)),
)
BY_NAME = {c.name: c for c in CONDITIONS}


def seed_for(condition: str, clip: str) -> int:
    """A stable seed per (condition, clip): the same file every run, different noise for every clip."""
    return int.from_bytes(hashlib.sha256(f"{condition}|{clip}".encode()).digest()[:8], "little")


def band_limit(x: np.ndarray, low: float = 300.0, high: float = 3400.0) -> np.ndarray:
    return band(x, low, high, order=6)


def encode(samples: np.ndarray, codec: str, out: Path) -> None:
    """Write 16 kHz float samples through the phone band and ``codec`` into ``out`` (its own container)."""
    args, _ = CODECS[codec]
    with tempfile.NamedTemporaryFile(suffix=".f32") as raw:
        raw.write(np.ascontiguousarray(samples, np.float32).tobytes())
        raw.flush()
        cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "f32le", "-ar",
               str(SAMPLE_RATE), "-ac", "1", "-i", raw.name, "-af", PHONE_BAND, *args, str(out)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"ffmpeg could not encode {codec}: {done.stderr.strip()[-400:]}")


def write_wav(samples: np.ndarray, out: Path) -> None:
    """16-bit PCM WAV at 16 kHz (what an app upload of the condition would be)."""
    import wave

    pcm = np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(out), "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(SAMPLE_RATE)
        fh.writeframes(pcm.tobytes())


def speech_piece(x: np.ndarray, rng: np.random.Generator, low_s: float, high_s: float) -> np.ndarray:
    """A piece of ``x`` holding between ``low_s`` and ``high_s`` seconds of detected speech (the whole clip when it
    holds less), starting at a random point of its speech, with 0.1 s of signal around."""
    from shared.audio.vad import detect_speech

    mask = detect_speech(np.asarray(x, np.float32)).mask(len(x))
    spoken = np.cumsum(mask)
    want = int(rng.uniform(low_s, high_s) * SAMPLE_RATE)
    if len(x) == 0 or spoken[-1] <= want:
        return x
    first = int(rng.integers(0, spoken[-1] - want + 1))  # speech samples before the piece
    start = int(np.searchsorted(spoken, first + 1))
    end = int(np.searchsorted(spoken, first + want)) + 1
    pad = SAMPLE_RATE // 10
    return x[max(0, start - pad):min(len(x), end + pad)]


def degrade(samples: np.ndarray, condition: Condition, rng: np.random.Generator,
            babble_pool: Sequence[np.ndarray] = ()) -> np.ndarray:
    """The clean clip under ``condition``'s acoustics (before any codec), peak-normalised."""
    x = np.asarray(samples, np.float64)
    if condition.kind == "band":
        x = band_limit(x)
    elif condition.needs_babble:
        if not babble_pool:
            raise ValueError(f"{condition.name} needs a babble pool (voices outside the gallery)")
        x = mix_at_snr(x, babble(babble_pool, condition.talkers, len(x), rng), condition.snr_db)
    elif condition.kind == "noise":
        x = mix_at_snr(x, pink_noise(len(x), rng), condition.snr_db)
    elif condition.kind == "reverb":
        x = in_room(x, room_response(rng, condition.rt60_s, reflections=0.25, gap_s=0.003))
    elif condition.kind == "short":
        x = speech_piece(x, rng, *condition.short_s)
    return peak(x)


def build_file(samples: np.ndarray, condition: Condition, clip: str, out: Path,
               babble_pool: Sequence[np.ndarray] = ()) -> Path:
    """Write ``clip`` (its clean 16 kHz samples) as received under ``condition`` to ``out`` (suffix replaced)."""
    out = out.with_suffix(condition.suffix)
    out.parent.mkdir(parents=True, exist_ok=True)
    x = degrade(samples, condition, np.random.default_rng(seed_for(condition.name, clip)), babble_pool)
    if condition.codec:
        encode(x, condition.codec, out)
    else:
        write_wav(x, out)
    return out
