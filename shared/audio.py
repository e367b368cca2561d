"""Any container/codec in, 16 kHz mono float32 out, through the bundled ffmpeg.

ffmpeg decides the format from the bytes, never from the extension (the PoC's
"mp3" samples are really WAV). It reads from a pipe and writes raw samples to a
pipe, so no temp file is left behind; it runs with a timeout and a duration cap,
and its exit status and stderr become a precise error code.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .errors import PermanentError, TransientError

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class Audio:
    """Decoded speech ready for the model."""

    samples: np.ndarray  # float32, mono, SAMPLE_RATE
    sample_rate: int = SAMPLE_RATE

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary shipped by imageio-ffmpeg."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg_command(max_seconds: float) -> list[str]:
    """Decode stdin's first audio stream to 16 kHz mono f32le on stdout.

    Decoding stops one second past ``max_seconds``: enough to tell "too long"
    without decoding an hour-long upload.
    """
    return [
        ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error",
        "-i", "pipe:0", "-map", "0:a:0", "-t", f"{max_seconds + 1:.3f}",
        "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "pipe:1",
    ]


def classify_ffmpeg_failure(stderr: str) -> PermanentError:
    """Turn ffmpeg's stderr into a stable error code with a hint for the sender."""
    text = stderr.lower()
    if "matches no streams" in text or "does not contain any stream" in text:
        return PermanentError("the file has no audio stream", code="audio.no_audio_stream",
                              hint="Upload a recording that contains an audio track.")
    if "invalid data found" in text or "could not find codec parameters" in text:
        return PermanentError("the file is not audio ffmpeg can read", code="audio.not_audio",
                              hint="Upload a WAV, FLAC, MP3, M4A, Ogg/Opus or video file with speech.")
    if "decoder" in text and ("not found" in text or "unsupported" in text):
        return PermanentError("the audio codec is not supported", code="audio.unsupported_codec",
                              hint="Convert the recording to WAV or FLAC and upload it again.")
    last = stderr.strip().splitlines()[-1][:300] if stderr.strip() else "no message"
    return PermanentError(f"ffmpeg could not decode the file: {last}", code="audio.decode_failed",
                          hint="Check that the file plays; convert it to WAV or FLAC and upload it again.")


def decode(data: bytes, *, max_seconds: float, timeout_s: float) -> Audio:
    """Decode ``data`` (any format ffmpeg reads) to :class:`Audio`."""
    if not data:
        raise PermanentError("the file is empty", code="audio.empty", hint="Upload a file that contains audio.")
    try:
        proc = subprocess.run(ffmpeg_command(max_seconds), input=data, capture_output=True,
                              timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise PermanentError(f"decoding took longer than {timeout_s:.0f} s", code="audio.decode_timeout",
                             hint="Upload a shorter or simpler recording.") from exc
    except OSError as exc:  # ffmpeg missing or not executable: the host is broken, not the input
        raise TransientError(f"cannot run ffmpeg: {exc}", code="audio.ffmpeg_unavailable") from exc
    if proc.returncode != 0:
        raise classify_ffmpeg_failure(proc.stderr.decode("utf-8", "replace"))
    usable = len(proc.stdout) - len(proc.stdout) % 4
    samples = np.frombuffer(proc.stdout[:usable], dtype="<f4").astype(np.float32, copy=True)
    if samples.size == 0:
        raise PermanentError("the file decodes to no audio samples", code="audio.no_samples",
                             hint="Upload a recording that contains speech.")
    return Audio(samples=samples)


def check_duration(audio: Audio, *, min_seconds: float, max_seconds: float) -> None:
    """Refuse clips too short to characterise a voice, or longer than the configured cap."""
    if audio.duration_s < min_seconds:
        raise PermanentError(
            f"the recording is {audio.duration_s:.2f} s long; at least {min_seconds:.1f} s is needed",
            code="audio.too_short", hint="Upload a longer recording of the speaker talking.")
    if audio.duration_s > max_seconds:
        raise PermanentError(
            f"the recording is longer than the {max_seconds:.0f} s limit",
            code="audio.too_long", hint="Cut the recording to the part where the speaker talks.")
