"""The ffmpeg front end on small real inputs (real ffmpeg, no model)."""

import io
import wave

import numpy as np
import pytest

from shared.audio import check_duration, classify_ffmpeg_failure, decode
from shared.errors import PermanentError


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


def test_decodes_by_content_and_resamples_to_16k():
    audio = decode(wav_bytes(2.0), max_seconds=60, timeout_s=30)
    assert audio.sample_rate == 16000
    assert audio.duration_s == pytest.approx(2.0, abs=0.01)
    assert audio.samples.dtype == np.float32


@pytest.mark.parametrize(("data", "code"), [(b"", "audio.empty"), (b"\x00\x01garbage" * 100, "audio.not_audio")])
def test_bad_bytes_get_a_code(data, code):
    with pytest.raises(PermanentError) as info:
        decode(data, max_seconds=60, timeout_s=30)
    assert info.value.code == code


def test_duration_cap_stops_decoding_early():
    audio = decode(wav_bytes(20.0), max_seconds=5, timeout_s=30)
    assert audio.duration_s == pytest.approx(6.0, abs=0.05)  # cap + 1 s, enough to say "too long"
    with pytest.raises(PermanentError) as info:
        check_duration(audio, min_seconds=1, max_seconds=5)
    assert info.value.code == "audio.too_long"


def test_too_short_is_rejected():
    with pytest.raises(PermanentError) as info:
        check_duration(decode(wav_bytes(0.3), max_seconds=60, timeout_s=30), min_seconds=1, max_seconds=60)
    assert info.value.code == "audio.too_short"


def test_ffmpeg_messages_map_to_codes():
    assert classify_ffmpeg_failure("Stream map '0:a:0' matches no streams.").code == "audio.no_audio_stream"
    assert classify_ffmpeg_failure("pipe:0: Invalid data found when processing input").code == "audio.not_audio"
    assert classify_ffmpeg_failure("something else").code == "audio.decode_failed"
