"""The hard-channel conditions: SNRs as set, codecs as named, the same files every run."""

from __future__ import annotations

import numpy as np
import pytest

from shared.audio.channels import mix_at_snr, pink_noise, power
from shared.audio.decode import decode
from shared.evaluation.conditions import (
    BY_NAME,
    CODECS,
    CONDITIONS,
    build_file,
    degrade,
    seed_for,
)


def tone_speech(seconds: float = 2.0) -> np.ndarray:
    """A speech-band test signal: harmonics of 150 Hz up to 7 kHz, amplitude-modulated like syllables."""
    t = np.arange(int(seconds * 16000)) / 16000
    x = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 47))
    return (0.5 * x * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)) / np.max(np.abs(x))).astype(np.float32)


@pytest.mark.parametrize("snr_db", [0.0, 5.0, 15.0])
def test_noise_is_mixed_at_the_snr_asked_for(snr_db):
    speech = tone_speech()
    noise = pink_noise(len(speech), np.random.default_rng(1))
    mixed = mix_at_snr(speech, noise, snr_db)
    assert 10 * np.log10(power(speech) / power(mixed - speech)) == pytest.approx(snr_db, abs=1e-6)


def test_pink_noise_has_equal_power_per_octave():
    x = pink_noise(1 << 16, np.random.default_rng(2))
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / 16000)
    octave = [spectrum[(freqs >= f) & (freqs < 2 * f)].sum() for f in (250, 500, 1000, 2000)]
    assert max(octave) / min(octave) < 1.3  # white noise would double per octave (ratio 8 over three)


def test_seeds_are_stable_and_differ_per_clip_and_condition():
    assert seed_for("babble-5dB", "a/b.flac") == seed_for("babble-5dB", "a/b.flac")
    assert seed_for("babble-5dB", "a/b.flac") != seed_for("babble-5dB", "a/c.flac")
    assert seed_for("babble-5dB", "a/b.flac") != seed_for("noise-5dB", "a/b.flac")


def test_babble_needs_voices_from_outside_the_gallery():
    with pytest.raises(ValueError, match="babble pool"):
        degrade(tone_speech(), BY_NAME["babble-5dB"], np.random.default_rng(0))


def test_the_same_file_is_built_every_run(tmp_path):
    pool = [tone_speech(3.0) * 0.3, np.roll(tone_speech(3.0), 700)]
    a = build_file(tone_speech(), BY_NAME["babble-10dB"], "x/1.flac", tmp_path / "a" / "1.flac", pool)
    b = build_file(tone_speech(), BY_NAME["babble-10dB"], "x/1.flac", tmp_path / "b" / "1.flac", pool)
    assert a.suffix == ".wav" and a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize("name", [c.name for c in CONDITIONS if c.codec and c.kind == "codec"])
def test_every_codec_reaches_the_product_as_narrow_band_audio_of_the_same_length(tmp_path, name):
    condition = BY_NAME[name]
    clean = tone_speech()
    out = build_file(clean, condition, "x/1.flac", tmp_path / "1.flac")
    assert out.suffix == CODECS[condition.codec][1]
    got = decode(out.read_bytes(), max_seconds=60, timeout_s=30)
    assert abs(len(got.samples) - len(clean)) < 0.05 * 16000
    spectrum = np.abs(np.fft.rfft(got.samples.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(got.samples), 1 / 16000)
    above = spectrum[freqs > 4200].sum() / spectrum.sum()
    assert above < 0.01  # the phone band: nothing of the 4-7 kHz harmonics survives
    assert spectrum[(freqs > 300) & (freqs < 3400)].sum() / spectrum.sum() > 0.8


@pytest.mark.parametrize("name", [c.name for c in CONDITIONS if c.codec and "8000" in CODECS[c.codec][0]])
def test_every_8_khz_phone_codec_is_classed_narrow_band_and_the_clean_file_wide(tmp_path, name):
    """What the channel-aware statistics key on (shared.audio.bandwidth) holds for every 8 kHz codec built here.

    Opus is left out on purpose: at 16 kHz and 8 kbit/s it may code up to 6 kHz (its "medium band"),
    so which class it lands in depends on the talker (measured in docs/accuracy.md).
    """
    from shared.audio.bandwidth import NARROW, WIDE, band_of, high_band_db

    pool = [tone_speech(3.0) * 0.3, np.roll(tone_speech(3.0), 700)]
    clean = build_file(tone_speech(), BY_NAME["clean"], "x/1.flac", tmp_path / "clean" / "1.flac")
    coded = build_file(tone_speech(), BY_NAME[name], "x/1.flac", tmp_path / name / "1.flac", pool)
    for path, band in ((clean, WIDE), (coded, NARROW)):
        got = decode(path.read_bytes(), max_seconds=60, timeout_s=30)
        assert band_of(high_band_db(got.samples), got.source.sample_rate) == band, path


def test_a_short_piece_holds_one_to_three_seconds_of_speech_the_same_every_run():
    """short-1-3s: cut at the speech detector's segments, seeded per clip; a clip holding less stays whole."""
    from shared.audio.vad import detect_speech
    from tests.helpers import DATA

    clip = decode((DATA / "librispeech-multi").glob("*/*.flac").__next__().read_bytes(), max_seconds=600,
                  timeout_s=60).samples
    condition = BY_NAME["short-1-3s"]
    whole = detect_speech(clip).net_s
    assert whole > 4
    nets = []
    for name in ("a", "b", "c", "d"):
        piece = degrade(clip, condition, np.random.default_rng(seed_for(condition.name, name)))
        again = degrade(clip, condition, np.random.default_rng(seed_for(condition.name, name)))
        assert np.array_equal(piece, again) and len(piece) < len(clip)
        nets.append(detect_speech(piece.astype(np.float32)).net_s)
    assert all(0.7 <= n <= 3.6 for n in nets), nets  # the detector re-run on a cut piece is not exact
    assert len({round(n, 2) for n in nets}) > 1  # lengths vary per clip
    short = tone_speech(0.5) * 0  # silence: no speech to cut, the clip stays as it is (peak-normalised)
    assert len(degrade(short, condition, np.random.default_rng(1))) == len(short)
