"""Build test recordings in every format the front end must read, with the bundled ffmpeg, from real speech."""

from __future__ import annotations

import subprocess
from pathlib import Path

from shared.audio.decode import ffmpeg_exe

VIDEO = ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=10"]

# name -> (suffix, extra inputs placed before the speech, output options)
FORMATS: dict[str, tuple[str, list[str], list[str]]] = {
    "wav-pcm8": (".wav", [], ["-c:a", "pcm_u8"]),
    "wav-pcm16": (".wav", [], ["-c:a", "pcm_s16le"]),
    "wav-pcm24": (".wav", [], ["-c:a", "pcm_s24le"]),
    "wav-pcm32": (".wav", [], ["-c:a", "pcm_s32le"]),
    "wav-float": (".wav", [], ["-c:a", "pcm_f32le"]),
    "wav-mulaw-8k": (".wav", [], ["-ar", "8000", "-c:a", "pcm_mulaw"]),
    "wav-alaw-8k": (".wav", [], ["-ar", "8000", "-c:a", "pcm_alaw"]),
    "flac": (".flac", [], ["-c:a", "flac"]),
    "mp3": (".mp3", [], ["-c:a", "libmp3lame", "-b:a", "64k"]),
    "m4a-aac": (".m4a", [], ["-c:a", "aac", "-b:a", "64k", "-f", "mp4"]),
    "ogg-vorbis": (".ogg", [], ["-c:a", "libvorbis", "-q:a", "3"]),
    "ogg-opus": (".opus", [], ["-c:a", "libopus", "-b:a", "24k"]),
    "webm-opus": (".webm", [], ["-c:a", "libopus", "-b:a", "24k", "-f", "webm"]),
    "amr-nb": (".amr", [], ["-ar", "8000", "-ac", "1", "-c:a", "libopencore_amrnb", "-b:a", "12.2k"]),
    "mp4-video": (".mp4", VIDEO, ["-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast",
                                  "-c:a", "aac", "-shortest"]),
    "mov-video": (".mov", VIDEO, ["-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast",
                                  "-c:a", "aac", "-shortest", "-f", "mov"]),
    "mkv-video": (".mkv", VIDEO, ["-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast",
                                  "-c:a", "libvorbis", "-shortest"]),
    "webm-video": (".webm", VIDEO, ["-map", "0:v", "-map", "1:a", "-c:v", "libvpx", "-deadline", "realtime",
                                    "-b:v", "50k", "-c:a", "libopus", "-shortest"]),
    "stereo-48k": (".wav", [], ["-ac", "2", "-ar", "48000"]),
    "surround-5.1": (".flac", [], ["-af", "pan=5.1|FL=c0|FR=c0|FC=c0|LFE=c0|BL=c0|BR=c0"]),
    "wav-8k": (".wav", [], ["-ar", "8000"]),
    "wav-22k": (".wav", [], ["-ar", "22050"]),
    "wav-44k": (".wav", [], ["-ar", "44100"]),
}


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-nostdin", "-y", "-hide_banner", "-loglevel", "error", *args], check=True)


def make(name: str, speech: Path, out_dir: Path) -> Path:
    """``speech`` re-encoded as format ``name`` in ``out_dir``."""
    suffix, inputs, options = FORMATS[name]
    out = out_dir / f"{name}{suffix}"
    ffmpeg(*inputs, "-i", str(speech), *options, str(out))
    return out


def two_speaker_stereo(left: Path, right: Path, out: Path) -> Path:
    """A call recording: one speaker on the left channel, another on the right."""
    ffmpeg("-i", str(left), "-i", str(right), "-filter_complex", "[0:a][1:a]amerge=inputs=2[a]", "-map", "[a]",
           "-t", "6", str(out))
    return out


def silence(out: Path, seconds: float = 5.0) -> Path:
    ffmpeg("-f", "lavfi", "-i", f"anullsrc=r=16000:cl=mono:d={seconds}", str(out))
    return out


def noise(out: Path, seconds: float = 5.0) -> Path:
    ffmpeg("-f", "lavfi", "-i", f"anoisesrc=r=16000:d={seconds}:c=pink:a=0.3", str(out))
    return out


def video_without_audio(out: Path) -> Path:
    ffmpeg(*VIDEO, "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", str(out))
    return out


def trim(speech: Path, out: Path, seconds: float) -> Path:
    ffmpeg("-i", str(speech), "-t", str(seconds), str(out))
    return out


def long_recording(speech: Path, out: Path, seconds: float, *options: str) -> Path:
    """``speech`` looped to ``seconds``; low-bitrate Opus (small file, long audio) unless ``options`` say otherwise."""
    options = options or ("-c:a", "libopus", "-b:a", "8k")
    ffmpeg("-stream_loop", "-1", "-i", str(speech), "-t", str(seconds), *options, str(out))
    return out


def unsupported_codec_wav(speech_wav: bytes) -> bytes:
    """A WAV whose format tag (0x7A21) names a codec the bundled ffmpeg cannot decode."""
    data = bytearray(speech_wav)
    fmt = data.index(b"fmt ")
    data[fmt + 8:fmt + 10] = (0x7A21).to_bytes(2, "little")
    return bytes(data)


def lying_header_wav(speech_wav: bytes, factor: int = 4) -> bytes:
    """A WAV whose RIFF and data sizes claim ``factor`` times the audio it holds."""
    data = bytearray(speech_wav)
    chunk = data.index(b"data")
    size = int.from_bytes(data[chunk + 4:chunk + 8], "little")
    data[chunk + 4:chunk + 8] = (size * factor).to_bytes(4, "little")
    data[4:8] = (len(data) - 8 + size * (factor - 1)).to_bytes(4, "little")
    return bytes(data)


def encrypted_mp4(speech: Path, out: Path) -> Path:
    """AAC in MP4 with common encryption (CENC, AES-CTR), as DRM-protected exports are."""
    ffmpeg("-i", str(speech), "-c:a", "aac", "-encryption_scheme", "cenc-aes-ctr",
           "-encryption_key", "76a6c65c5ea762046bd749a2e632ccbb", "-encryption_kid", "a7e61c373e219033c21091fa607bf3b8",
           str(out))
    return out
