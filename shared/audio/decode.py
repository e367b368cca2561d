"""Any container/codec in, 16 kHz mono float32 out, through the bundled ffmpeg.

ffmpeg decides the format from the bytes, never from the extension (the PoC's
"mp3" samples are really WAV). The upload is handed to ffmpeg as an anonymous
in-memory file (``memfd``): seekable, so MP4/MOV with the index at the end
decode, and nothing is ever written to disk. Samples come back through a pipe.
ffmpeg runs with a timeout and a duration cap; its exit status and its own
description of the input become precise error codes, and a file whose container
declares more audio than it holds is refused as truncated.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from shared.core.errors import PermanentError, TransientError

SAMPLE_RATE = 16_000
LAYOUT_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "3.0": 3, "quad": 4, "4.0": 4, "5.0": 5, "5.1": 6,
                   "6.1": 7, "7.1": 8}
TRUNCATION_TOLERANCE_S = 0.25


@dataclass(frozen=True)
class MediaInfo:
    """What ffmpeg says the input is (any field may be unknown)."""

    container: str | None = None
    codec: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    declared_s: float | None = None  # duration the container declares (over all its streams)
    duration_estimated: bool = False  # ffmpeg guessed the duration from the bitrate
    streams: int = 0  # streams in the container (audio, video, subtitles ...)

    def public(self) -> dict:
        return {"container": self.container, "codec": self.codec, "sample_rate": self.sample_rate,
                "channels": self.channels}


@dataclass(frozen=True)
class Audio:
    """Decoded audio ready for VAD and the model."""

    samples: np.ndarray  # float32, mono, SAMPLE_RATE
    source: MediaInfo = MediaInfo()
    sample_rate: int = SAMPLE_RATE

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary shipped by imageio-ffmpeg."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _channels(layout: str) -> int | None:
    layout = layout.strip()
    match = re.match(r"(\d+) channels", layout)
    if match:
        return int(match.group(1))
    return LAYOUT_CHANNELS.get(layout.split("(")[0])


def _stream_line(section: str) -> re.Match | None:
    return re.search(r"Stream #\d+:\d+\S*: Audio: (\w+)[^,\n]*, (\d+) Hz, ([^,\n]+)", section)


def parse_media_info(stderr: str) -> MediaInfo:
    """Read ffmpeg's ``Input #0`` description (container, first audio stream, declared duration)."""
    inp = stderr.split("Input #0, ", 1)
    if len(inp) < 2:
        return MediaInfo()
    section = inp[1].split("Output #0", 1)[0].split("Stream mapping:", 1)[0]
    container = section.split(", from", 1)[0].strip()
    duration = re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", section)
    declared = (int(duration.group(1)) * 3600 + int(duration.group(2)) * 60 + float(duration.group(3))
                if duration else None)
    stream = _stream_line(section)
    return MediaInfo(
        container=container, codec=stream.group(1) if stream else None,
        sample_rate=int(stream.group(2)) if stream else None, channels=_channels(stream.group(3)) if stream else None,
        declared_s=declared, duration_estimated="Estimating duration from bitrate" in stderr,
        streams=len(re.findall(r"^\s*Stream #0:\d+", section, flags=re.MULTILINE)),
    )


def output_channels(stderr: str) -> int:
    """Channels ffmpeg wrote to the pipe (from its ``Output #0`` description)."""
    section = stderr.split("Output #0", 1)[-1]
    stream = _stream_line(section)
    found = _channels(stream.group(3)) if stream else None
    return found or 1


def ffmpeg_command(path: str, max_seconds: float, channel: str) -> list[str]:
    """Decode the first audio stream of ``path`` to 16 kHz f32le on stdout.

    Decoding stops one second past ``max_seconds``: enough to tell "too long"
    without decoding an hour-long upload. ``channel="mix"`` downmixes in ffmpeg;
    a channel number keeps every channel so that one can be picked afterwards.
    """
    mix = ["-ac", "1"] if channel == "mix" else []
    return [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "info", "-i", path, "-map", "0:a:0",
            "-t", f"{max_seconds + 1:.3f}", *mix, "-ar", str(SAMPLE_RATE), "-f", "f32le", "pipe:1"]


def classify_ffmpeg_failure(stderr: str) -> PermanentError:
    """Turn ffmpeg's stderr into a stable error code with a hint for the sender."""
    text = stderr.lower()
    if "matches no streams" in text or "does not contain any stream" in text:
        return PermanentError("the file has no audio stream", code="audio.no_audio_stream",
                              hint="Upload a recording that contains an audio track.")
    if ("decoder" in text and "not found" in text) or "unknown codec" in text or "unsupported codec" in text:
        return PermanentError("the audio codec is not supported", code="audio.unsupported_codec",
                              hint="Convert the recording to WAV or FLAC and upload it again.")
    if "invalid data found" in text or "could not find codec parameters" in text or "moov atom not found" in text:
        return PermanentError("the file is not audio ffmpeg can read", code="audio.not_audio",
                              hint="Upload a WAV, FLAC, MP3, M4A, Ogg/Opus, WebM or video file with speech.")
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    last = lines[-1][:300] if lines else "no message"
    return PermanentError(f"ffmpeg could not decode the file: {last}", code="audio.decode_failed",
                          hint="Check that the file plays; convert it to WAV or FLAC and upload it again.")


PROTECTION_BOXES = (b"schm", b"tenc", b"senc", b"pssh")  # ISO-BMFF common encryption / DRM
STREAMING_SIZES = (0, 0xFFFFFFFF)  # WAV writers that did not know the length yet


def looks_encrypted(data: bytes) -> bool:
    """An MP4/MOV/M4A carrying common-encryption or DRM boxes (ffmpeg only says it cannot decode it)."""
    return data[4:8] == b"ftyp" and any(box in data[: 8 << 20] for box in PROTECTION_BOXES)


def wav_shortfall(data: bytes) -> tuple[float, float] | None:
    """``(declared_s, present_s)`` when a WAV's data chunk claims more bytes than the file holds.

    ffmpeg quietly decodes what is there, so a cut or lying header must be read here.
    None when the file is not RIFF/WAVE, the length is the streaming marker, or all is present.
    """
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    pos, byte_rate = 12, 0
    while pos + 8 <= len(data):
        chunk, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        if chunk == b"fmt " and pos + 20 <= len(data):
            byte_rate = int.from_bytes(data[pos + 16:pos + 20], "little")
        if chunk == b"data":
            present = len(data) - pos - 8
            if size in STREAMING_SIZES or present >= size or byte_rate == 0:
                return None
            return size / byte_rate, present / byte_rate
        pos += 8 + size + (size & 1)
    return None


def check_wav_header(data: bytes) -> None:
    """Refuse a WAV whose header promises more audio than it holds (cut in transfer, or a lying header)."""
    shortfall = wav_shortfall(data)
    if shortfall and shortfall[0] - shortfall[1] > max(TRUNCATION_TOLERANCE_S, 0.02 * shortfall[0]):
        raise PermanentError(
            f"the WAV header declares {shortfall[0]:.2f} s of audio but the file holds {shortfall[1]:.2f} s",
            code="audio.truncated", hint="The upload looks cut short: upload the complete recording again.")


def _memfd(data: bytes) -> int:
    fd = os.memfd_create("voiceid-input")
    with open(fd, "wb", closefd=False) as fh:
        fh.write(data)
    return fd


def _run_ffmpeg(data: bytes, max_seconds: float, timeout_s: float, channel: str) -> subprocess.CompletedProcess:
    fd = _memfd(data)
    try:
        return subprocess.run(ffmpeg_command(f"/dev/fd/{fd}", max_seconds, channel), pass_fds=(fd,),
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:  # subprocess.run has killed ffmpeg already
        raise PermanentError(f"decoding took longer than {timeout_s:.0f} s", code="audio.decode_timeout",
                             hint="Upload a shorter or simpler recording.") from exc
    except OSError as exc:  # ffmpeg missing or not executable: the host is broken, not the input
        raise TransientError(f"cannot run ffmpeg: {exc}", code="audio.ffmpeg_unavailable") from exc
    finally:
        os.close(fd)


def pick_channel(interleaved: np.ndarray, channels: int, channel: str) -> np.ndarray:
    """One channel of interleaved samples (``channel`` is a 0-based index); mono input is used as it is."""
    if channels == 1:
        return interleaved
    index = int(channel)
    if index >= channels:
        raise PermanentError(f"channel {index} was asked for but the recording has {channels}",
                             code="audio.channel_missing",
                             hint="Set VOICEID_CHANNEL to mix or to an existing channel (0 = first).")
    usable = len(interleaved) - len(interleaved) % channels
    return np.ascontiguousarray(interleaved[:usable].reshape(-1, channels)[:, index])


def decode(data: bytes, *, max_seconds: float, timeout_s: float, channel: str = "mix") -> Audio:
    """Decode ``data`` (any format ffmpeg reads) to :class:`Audio`."""
    if not data:
        raise PermanentError("the file is empty", code="audio.empty", hint="Upload a file that contains audio.")
    check_wav_header(data)
    proc = _run_ffmpeg(data, max_seconds, timeout_s, channel)
    stderr = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        if looks_encrypted(data):
            raise PermanentError("the file is encrypted or DRM-protected", code="audio.encrypted",
                                 hint="Upload an unprotected export of the recording.")
        raise classify_ffmpeg_failure(stderr)
    info = parse_media_info(stderr)
    usable = len(proc.stdout) - len(proc.stdout) % 4
    samples = np.frombuffer(proc.stdout[:usable], dtype="<f4")
    if channel != "mix":
        samples = pick_channel(samples, output_channels(stderr), channel)
    if samples.size == 0:
        raise PermanentError("the file decodes to no audio samples", code="audio.no_samples",
                             hint="Upload a recording that contains speech.")
    audio = Audio(samples=samples.astype(np.float32, copy=True), source=info)
    check_complete(audio, max_seconds)
    return audio


def check_complete(audio: Audio, max_seconds: float) -> None:
    """Refuse a file whose container declares clearly more audio than could be decoded (cut short).

    Only for audio-only files: a container's declared duration spans all its streams,
    and a video track may run past the audio.
    """
    declared = audio.source.declared_s
    if declared is None or audio.source.duration_estimated or audio.source.streams != 1:
        return
    expected = min(declared, max_seconds + 1)
    if audio.duration_s < expected - max(TRUNCATION_TOLERANCE_S, 0.02 * expected):
        raise PermanentError(
            f"the file declares {declared:.2f} s of audio but only {audio.duration_s:.2f} s could be decoded",
            code="audio.truncated", hint="The upload looks cut short: upload the complete recording again.")


def check_duration(audio: Audio, *, max_seconds: float) -> None:
    """Refuse recordings longer than the configured cap (decoding already stopped just past it)."""
    if audio.duration_s > max_seconds:
        raise PermanentError(
            f"the recording is longer than the {max_seconds:.0f} s limit (decoding stopped at "
            f"{audio.duration_s:.0f} s)", code="audio.too_long",
            hint="Cut the recording to the part where the speaker talks.",
            details={"duration_s": round(audio.duration_s, 3), "input": audio.source.public()})
