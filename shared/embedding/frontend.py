"""The step every input blob goes through: bytes -> checked audio -> embedding.

Shared by enrolment and identification so both see exactly the same front end:
size gate, decode (ffmpeg), duration gate, voice activity detection, net-speech
gate, quality figures, embedding. Every result reports the audio figures, also
when the input is rejected, so an operator sees why.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from shared.audio import decode as audio
from shared.audio.bandwidth import band_of, high_band_db
from shared.audio.quality import clipping_ratio, snr_db
from shared.audio.vad import detect_speech
from shared.core.errors import PermanentError
from shared.core.models import ModelInfo
from shared.core.records import BlobInput
from shared.core.settings import Settings
from shared.embedding.embedder import get_embedder


@dataclass(frozen=True)
class Measured:
    """What the front end measured of an input: the result's ``audio`` object and the steps' timings."""

    audio: dict
    timings_ms: dict


@dataclass(frozen=True)
class Embedded(Measured):
    """An input's embedding with what it took to get it."""

    vector: np.ndarray = field(repr=False)
    model: ModelInfo
    taps: dict = field(default_factory=dict, repr=False)  # the model's inner features of this input (liveness reads them)
    taps_model: str = ""  # the model id the taps come from
    samples: np.ndarray | None = field(default=None, repr=False)  # the audio embedded (the liveness check reads it)


def check_size(size: int | None, settings: Settings) -> None:
    """Refuse an upload over the byte limit before reading or decoding it."""
    if size is not None and size > settings.max_audio_bytes:
        raise PermanentError(f"the file is {size} bytes; the limit is {settings.max_audio_bytes}",
                             code="audio.too_large", hint="Upload a shorter recording or a compressed format.")


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def audio_report(clip: audio.Audio, net_speech_s: float, mask: np.ndarray, settings: Settings) -> dict:
    """The ``audio`` object of a result: what came in, how much speech, how clean, which band (phone or app)."""
    high = high_band_db(clip.samples, mask)
    return {
        "duration_s": round(clip.duration_s, 3),
        "net_speech_s": round(net_speech_s, 3),
        "clipping_ratio": round(clipping_ratio(clip.samples), 5),
        "snr_db": snr_db(clip.samples, mask),
        "channel": settings.channel,
        "band": band_of(high, clip.source.sample_rate),
        "high_band_db": None if high is None else round(high, 1),
        "input": clip.source.public(),
    }


def check_speech(net_s: float, minimum: float, report: dict) -> None:
    """Refuse inputs without enough speech to characterise a voice; the report goes into the result."""
    if net_s == 0:
        raise PermanentError("no speech was detected in the recording", code="audio.no_speech",
                             hint="Upload a recording in which the speaker talks.", details=report)
    if net_s < minimum:
        raise PermanentError(f"only {net_s:.2f} s of speech was detected; at least {minimum:.1f} s is needed",
                             code="audio.too_little_speech",
                             hint="Upload a longer recording of the speaker talking.", details=report)


@dataclass(frozen=True)
class Prepared(Measured):
    """Decoded, measured audio ready to embed: the front end up to (not including) the speech gate."""

    samples: np.ndarray = field(repr=False)
    net_speech_s: float


def prepare(data: bytes, settings: Settings) -> Prepared:
    """Decode one input and measure its speech; undecodable or over-long input raises :class:`PermanentError`."""
    t0 = time.perf_counter()
    clip = audio.decode(data, max_seconds=settings.max_audio_seconds, timeout_s=settings.ffmpeg_timeout_s,
                        channel=settings.channel)
    audio.check_duration(clip, max_seconds=settings.max_audio_seconds)
    decode_ms, t1 = _ms(t0), time.perf_counter()
    speech = detect_speech(clip.samples)
    report = audio_report(clip, speech.net_s, speech.mask(len(clip.samples)), settings)
    samples = speech.only_speech(clip.samples) if settings.embed_audio == "speech" else clip.samples
    if len(samples) == 0:  # trimming on and no speech: embed what there is (the gate will refuse it anyway)
        samples = clip.samples
    return Prepared(samples=samples, net_speech_s=speech.net_s, audio=report,
                    timings_ms={"decode": decode_ms, "vad": _ms(t1)})


def embed_prepared(prep: Prepared, settings: Settings) -> Embedded:
    """Embed prepared audio with the configured model (no gates)."""
    t0 = time.perf_counter()
    embedder = get_embedder(settings)
    vector, taps = embedder.embed_with_taps(prep.samples, window_s=settings.embed_window_s)
    return Embedded(vector=vector, model=embedder.info, audio=prep.audio, taps=taps, taps_model=embedder.taps_model_id,
                    samples=prep.samples, timings_ms={**prep.timings_ms, "embed": _ms(t0)})


def embed_input(inp: BlobInput, settings: Settings, *, min_speech_s: float) -> Embedded:
    """Decode, gate and embed one input; bad audio raises :class:`PermanentError`."""
    check_size(inp.length, settings)
    prep = prepare(inp.data, settings)
    check_speech(prep.net_speech_s, min_speech_s, prep.audio)
    return embed_prepared(prep, settings)
