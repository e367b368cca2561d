"""Every bad input ends as a result document with a stable code and a hint, and the host keeps running.

Each case is built from real speech with the bundled ffmpeg (tests/media.py) and uploaded through storage
to the running host, as a user would. The test host runs with lowered limits (tests/e2e/conftest.py HOST_ENV).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import media
from tests.helpers import assert_valid, clips

pytestmark = pytest.mark.e2e


def pcm_wav(tmp: Path) -> bytes:
    return media.make("wav-pcm16", clips("1688")[1], tmp).read_bytes()


CASES = {  # name -> (builder(tmp) -> bytes, expected code)
    "empty": (lambda tmp: b"", "audio.empty"),
    "random-bytes": (lambda tmp: os.urandom(64_000), "audio.not_audio"),
    "truncated-header": (lambda tmp: pcm_wav(tmp)[:40], "audio.not_audio"),
    "header-lies": (lambda tmp: media.lying_header_wav(pcm_wav(tmp)), "audio.truncated"),
    "cut-in-the-middle": (lambda tmp: (w := pcm_wav(tmp))[: len(w) // 2], "audio.truncated"),
    "flac-cut-in-the-middle": (lambda tmp: media.make("flac", clips("1688")[1], tmp).read_bytes()[:100_000],
                               "audio.truncated"),
    "silence": (lambda tmp: media.silence(tmp / "s.wav").read_bytes(), "audio.no_speech"),
    "noise-without-speech": (lambda tmp: media.noise(tmp / "n.wav").read_bytes(), "audio.no_speech"),
    "too-little-speech": (lambda tmp: media.trim(clips("1998")[1], tmp / "t.flac", 0.7).read_bytes(),
                          "audio.too_little_speech"),
    "over-the-size-limit": (lambda tmp: media.long_recording(clips("1688")[1], tmp / "big.wav", 130,
                                                             "-c:a", "pcm_s16le").read_bytes(), "audio.too_large"),
    "over-the-duration-limit": (lambda tmp: media.long_recording(clips("1688")[1], tmp / "long.opus", 900)
                                .read_bytes(), "audio.too_long"),
    "video-without-audio": (lambda tmp: media.video_without_audio(tmp / "v.mp4").read_bytes(),
                            "audio.no_audio_stream"),
    "unsupported-codec": (lambda tmp: media.unsupported_codec_wav(pcm_wav(tmp)), "audio.unsupported_codec"),
    "encrypted-mp4": (lambda tmp: media.encrypted_mp4(clips("1688")[1], tmp / "e.mp4").read_bytes(),
                      "audio.encrypted"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_gets_a_rejected_result_with_code_and_hint(case, client, host, tmp_path):
    build, code = CASES[case]
    data = build(tmp_path)
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    blob = f"bad-{case}.wav"
    doc = client.wait_result("identify", blob, client.upload("identify", blob, path), timeout_s=180)
    assert doc["status"] == "rejected", doc
    assert doc["error"]["code"] == code, doc["error"]
    assert doc["error"]["hint"] and doc["error"]["message"]
    assert_valid(doc)
    assert host.alive()
    assert sum(code in line and blob in line for line in host.log_text().splitlines()) >= 1


def test_speech_gates_report_what_was_measured(client, host, tmp_path):
    path = media.trim(clips("1998")[1], tmp_path / "short.flac", 0.7)
    doc = client.wait_result("identify", "gate-report.flac", client.upload("identify", "gate-report.flac", path))
    assert doc["error"]["code"] == "audio.too_little_speech"
    assert 0 < doc["audio"]["net_speech_s"] < 1.0
    assert doc["audio"]["duration_s"] == pytest.approx(0.7, abs=0.05)


def test_an_over_long_recording_is_not_decoded_to_the_end(client, host, tmp_path):
    path = media.long_recording(clips("1688")[1], tmp_path / "long.opus", 900)
    doc = client.wait_result("identify", "long-report.opus", client.upload("identify", "long-report.opus", path))
    assert doc["error"]["code"] == "audio.too_long"
    assert doc["audio"]["duration_s"] == pytest.approx(121, abs=1)  # limit 120 s + 1 s, not 900 s


def test_enrolment_needs_more_speech_than_identification(client, host, tmp_path):
    path = media.trim(clips("2033")[1], tmp_path / "four-seconds.flac", 4.0)  # 2.55 s of net speech: 1.5 < it < 3
    enrol = client.wait_result("enroll", "Short Sam/four-seconds.flac",
                               client.upload("enroll", "Short Sam/four-seconds.flac", path))
    probe = client.wait_result("identify", "four-seconds.flac", client.upload("identify", "four-seconds.flac", path))
    assert (enrol["status"], enrol["error"]["code"]) == ("rejected", "audio.too_little_speech")
    assert probe["status"] == "ok"
