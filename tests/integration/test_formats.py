"""Every format the front end must read, built with the bundled ffmpeg from real speech, decoded and embedded.

"Decodes" is not enough: each decoded file must still be the same speech, so its ECAPA embedding is compared
with the original's (8 kHz telephony formats with an 8 kHz PCM copy, since the band they lose is not their fault).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.audio.decode import decode
from shared.core.settings import Settings
from shared.embedding.embedder import get_embedder
from tests.helpers import clips
from tests.media import FORMATS, make, two_speaker_stereo

NARROWBAND = {"wav-mulaw-8k", "wav-alaw-8k", "amr-nb", "wav-8k"}
EXPECTED = {  # what ffmpeg must report about the input
    "wav-mulaw-8k": ("pcm_mulaw", 8000, 1), "wav-alaw-8k": ("pcm_alaw", 8000, 1), "amr-nb": ("amr_nb", 8000, 1),
    "mp4-video": ("aac", 16000, 1), "webm-opus": ("opus", 48000, 1), "stereo-48k": ("pcm_s16le", 48000, 2),
    "surround-5.1": ("flac", 16000, 6), "wav-pcm24": ("pcm_s24le", 16000, 1),
}


@pytest.fixture(scope="module")
def model(kit):
    return get_embedder(Settings.from_env())


@pytest.fixture(scope="module")
def speech(kit) -> Path:
    return clips("1688")[1]  # 12.6 s of read speech, 16 kHz FLAC


@pytest.fixture(scope="module")
def reference(model, speech, tmp_path_factory):
    """Embeddings of the original and of a plain 8 kHz PCM copy."""
    out = tmp_path_factory.mktemp("ref")
    wide = decode(speech.read_bytes(), max_seconds=600, timeout_s=60)
    narrow = decode(make("wav-8k", speech, out).read_bytes(), max_seconds=600, timeout_s=60)
    return {"wide": model.embed(wide.samples), "narrow": model.embed(narrow.samples), "duration": wide.duration_s}


def decoded(path: Path, channel: str = "mix"):
    return decode(path.read_bytes(), max_seconds=600, timeout_s=60, channel=channel)


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_format_decodes_to_the_same_speech(name, model, speech, reference, tmp_path):
    path = make(name, speech, tmp_path)
    audio = decoded(path)
    assert audio.sample_rate == 16000
    assert audio.duration_s == pytest.approx(reference["duration"], abs=0.05)
    ref = reference["narrow"] if name in NARROWBAND else reference["wide"]
    cosine = float(model.embed(audio.samples) @ ref)
    assert cosine >= (0.85 if name in NARROWBAND else 0.93), f"{name}: cosine {cosine:.3f} to the original"
    if name in EXPECTED:
        info = audio.source
        assert (info.codec, info.sample_rate, info.channels) == EXPECTED[name]


def test_extension_is_ignored(speech, reference, tmp_path):
    """The PoC's "mp3" samples are WAV: content decides, never the name."""
    wav = make("wav-pcm16", speech, tmp_path)
    disguised = tmp_path / "really-a-wav.mp3"
    disguised.write_bytes(wav.read_bytes())
    audio = decoded(disguised)
    assert (audio.source.container, audio.source.codec) == ("wav", "pcm_s16le")


def test_one_channel_of_a_two_speaker_call_is_chosen(model, tmp_path, kit):
    left, right = clips("1998")[1], clips("2033")[1]
    call = two_speaker_stereo(left, right, tmp_path / "call.wav")
    emb = {ch: model.embed(decoded(call, ch).samples) for ch in ("0", "1")}
    ref_left = model.embed(decoded(left).samples)
    ref_right = model.embed(decoded(right).samples)
    assert float(emb["0"] @ ref_left) > 0.8 > float(emb["0"] @ ref_right)
    assert float(emb["1"] @ ref_right) > 0.8 > float(emb["1"] @ ref_left)


def test_a_missing_channel_is_refused_but_mono_is_used_as_is(speech, tmp_path):
    from shared.core.errors import PermanentError

    stereo = make("stereo-48k", speech, tmp_path)
    with pytest.raises(PermanentError) as info:
        decoded(stereo, "2")
    assert info.value.code == "audio.channel_missing"
    assert decoded(make("flac", speech, tmp_path), "1").duration_s > 12
