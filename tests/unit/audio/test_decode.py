"""The ffmpeg front end's pure parts, and the decoder on tiny synthetic inputs (real ffmpeg, no model)."""

import io
import wave

import numpy as np
import pytest

from shared.audio.decode import (
    Audio,
    MediaInfo,
    check_complete,
    check_duration,
    classify_ffmpeg_failure,
    decode,
    output_channels,
    parse_media_info,
    pick_channel,
)
from shared.audio.quality import clipping_ratio, snr_db
from shared.core.errors import PermanentError

STDERR = """[aist#0:0/pcm_mulaw @ 0x1] Guessed Channel Layout: mono
Input #0, wav, from '/dev/fd/3':
  Duration: 00:01:02.50, bitrate: 53 kb/s
  Stream #0:0: Audio: pcm_mulaw ([7][0][0][0] / 0x0007), 8000 Hz, mono, s16, 64 kb/s
Stream mapping:
  Stream #0:0 -> #0:0 (pcm_mulaw (native) -> pcm_f32le (native))
Output #0, f32le, to 'pipe:1':
  Stream #0:0: Audio: pcm_f32le, 16000 Hz, 5.1(side), flt, 256 kb/s
"""


def wav_bytes(seconds: float, rate: int = 8000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    pcm = (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def test_media_info_is_read_from_ffmpeg_output():
    info = parse_media_info(STDERR)
    assert info == MediaInfo(container="wav", codec="pcm_mulaw", sample_rate=8000, channels=1, declared_s=62.5,
                             streams=1)
    assert output_channels(STDERR) == 6
    assert parse_media_info("garbage") == MediaInfo()


def test_decodes_by_content_and_resamples_to_16k():
    audio = decode(wav_bytes(2.0), max_seconds=60, timeout_s=30)
    assert audio.sample_rate == 16000
    assert audio.duration_s == pytest.approx(2.0, abs=0.01)
    assert audio.samples.dtype == np.float32
    assert (audio.source.container, audio.source.sample_rate) == ("wav", 8000)


@pytest.mark.parametrize(("data", "code"), [(b"", "audio.empty"), (b"\x00\x01garbage" * 100, "audio.not_audio")])
def test_bad_bytes_get_a_code(data, code):
    with pytest.raises(PermanentError) as info:
        decode(data, max_seconds=60, timeout_s=30)
    assert info.value.code == code


def test_duration_cap_stops_decoding_early():
    audio = decode(wav_bytes(20.0), max_seconds=5, timeout_s=30)
    assert audio.duration_s == pytest.approx(6.0, abs=0.05)  # cap + 1 s, enough to say "too long"
    with pytest.raises(PermanentError) as info:
        check_duration(audio, max_seconds=5)
    assert info.value.code == "audio.too_long"


def test_truncation_is_declared_minus_decoded():
    samples = np.zeros(16000 * 10, dtype=np.float32)
    check_complete(Audio(samples, MediaInfo(declared_s=10.1, streams=1)), max_seconds=600)  # within tolerance
    check_complete(Audio(samples, MediaInfo(declared_s=40.0, duration_estimated=True, streams=1)), max_seconds=600)
    check_complete(Audio(samples, MediaInfo(declared_s=4000.0, streams=1)), max_seconds=9)  # capped, not truncated
    check_complete(Audio(samples, MediaInfo(declared_s=15.0, streams=2)), max_seconds=600)  # video may run longer
    with pytest.raises(PermanentError) as info:
        check_complete(Audio(samples, MediaInfo(declared_s=15.0, streams=1)), max_seconds=600)
    assert info.value.code == "audio.truncated"


def test_pick_channel_deinterleaves():
    interleaved = np.array([1, 10, 2, 20, 3, 30], dtype=np.float32)
    assert pick_channel(interleaved, 2, "1").tolist() == [10, 20, 30]
    assert pick_channel(interleaved, 1, "1").tolist() == interleaved.tolist()
    with pytest.raises(PermanentError):
        pick_channel(interleaved, 2, "2")


def test_ffmpeg_messages_map_to_codes():
    assert classify_ffmpeg_failure("Stream map '0:a:0' matches no streams.").code == "audio.no_audio_stream"
    assert classify_ffmpeg_failure("pipe:0: Invalid data found when processing input").code == "audio.not_audio"
    assert classify_ffmpeg_failure("Decoder (codec none) not found for input stream").code == "audio.unsupported_codec"
    assert classify_ffmpeg_failure("something else").code == "audio.decode_failed"


def test_quality_figures():
    rng = np.random.default_rng(0)
    quiet = 0.001 * rng.standard_normal(16000).astype(np.float32)
    loud = 0.1 * rng.standard_normal(16000).astype(np.float32)
    samples = np.concatenate([quiet, loud])
    mask = np.zeros(len(samples), bool)
    mask[16000:] = True
    assert snr_db(samples, mask) == pytest.approx(40.0, abs=0.5)
    assert snr_db(samples, np.zeros(len(samples), bool)) is None
    assert clipping_ratio(np.array([0.0, 1.0, -1.0, 0.5], np.float32)) == 0.5
