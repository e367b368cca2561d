import pytest

from shared.core.contract import result_blob_name
from shared.core.errors import PermanentError
from shared.core.names import (
    display_name,
    parse_enroll,
    parse_identify,
    speaker_key,
    split_trigger_name,
)


@pytest.mark.parametrize(("blob", "speaker"), [
    ("ann/a.flac", "ann"),
    ("ann.flac", "ann"),
    ("Barack Obama/Barack Obama Liberty.mp3", "Barack Obama"),
    ("Ann Lee.WAV", "Ann Lee"),
    ("1688/1688-142285-0000.flac", "1688"),
    ("noext", "noext"),
    ("O'Brien (work)!/take 1 %50.m4a", "O'Brien (work)!"),
    ("Zoë/clip.wav", "Zoë"),
    ("ann.backup.flac", "ann.backup"),
])
def test_enroll_names_map_to_speakers(blob, speaker):
    assert parse_enroll(blob).speaker == speaker


@pytest.mark.parametrize(("blob", "code"), [
    ("a/b/c.wav", "name.too_deep"),
    (" /c.wav", "name.empty_speaker"),
    ("../c.wav", "name.invalid"),
    ("unknown/c.wav", "name.reserved"),
    ("UNKNOWN.wav", "name.reserved"),
    ("x" * 200 + "/c.wav", "name.too_long"),
    ("ann/" + "y" * 1000, "name.too_long"),
])
def test_enroll_names_that_cannot_map_are_rejected_with_a_code(blob, code):
    with pytest.raises(PermanentError) as info:
        parse_enroll(blob)
    assert info.value.code == code
    assert info.value.hint


def test_identify_without_folder_is_1_to_n():
    target = parse_identify("probe.wav")
    assert (target.kind, target.claimed) == ("identify", None)


def test_identify_with_folder_is_a_claim():
    target = parse_identify("Ann  Lee/probe.wav")
    assert (target.kind, target.claimed) == ("verify", "Ann Lee")


def test_identify_deeper_than_claim_is_rejected():
    with pytest.raises(PermanentError) as info:
        parse_identify("a/b/probe.wav")
    assert info.value.code == "name.too_deep"


def test_one_matching_rule_for_speaker_names():
    assert speaker_key(" Ann \t Lee ") == speaker_key("ann lee") == speaker_key("ANN LEE")
    # NFC: "e" + combining acute equals the precomposed "é"
    assert speaker_key("Rene\u0301") == speaker_key("René")
    assert display_name("  Ann   Lee ") == "Ann Lee"


def test_trigger_name_splits_container():
    assert split_trigger_name("enroll/ann/a.flac") == ("enroll", "ann/a.flac")
    with pytest.raises(PermanentError):
        split_trigger_name("enroll")


def test_result_path_contract():
    assert result_blob_name("identify", "probe.wav") == "identify/probe.wav.json"
    assert result_blob_name("enroll", "ann/a.flac") == "enroll/ann/a.flac.json"
