from dataclasses import replace

import pytest

from shared.core.errors import PermanentError
from shared.core.records import Candidate, MatchJob, ShardPartial
from shared.core.settings import Settings
from shared.pipeline.fanin import assemble
from shared.results import documents as results
from tests.helpers import assert_valid

AUDIO = {"duration_s": 3.0, "net_speech_s": 2.5, "clipping_ratio": 0.0, "snr_db": 30.0, "channel": "mix",
         "input": {"container": "wav", "codec": "pcm_s16le", "sample_rate": 16000, "channels": 1}}
SETTINGS = Settings.from_env({"VOICEID_TARGET_FAR": "0.01", "VOICEID_TOP_K": "2"})  # threshold 2.0


def job(kind="identify", claimed=None, shards=(0, 1)):
    return MatchJob(request_id="r1", kind=kind, blob="p.wav" if not claimed else f"{claimed}/p.wav",
                    etag='"0x1"', shard=0, shards=shards, model_id="ecapa@abc", probe="r1/probe.npy",
                    claimed=claimed, received_at=0.0, audio=AUDIO, timings_ms={"decode": 1.0, "embed": 2.0})


def partials(*cands):
    return [ShardPartial("r1", i, tuple(c), scored=len(c), match_ms=0.1) for i, c in enumerate(cands)]


def test_identify_merges_shards_best_first_and_validates():
    doc = assemble(job(), partials([Candidate("Ann", 2.7, "ann"), Candidate("Bo", 0.2, "bo")],
                                   [Candidate("Cy", 2.6, "cy")]), SETTINGS)
    assert [c["speaker"] for c in doc["candidates"]] == ["Ann", "Cy"]
    assert doc["decision"] == "Ann"
    assert doc["voiceprints_scored"] == 3
    assert_valid(doc)


def test_identify_below_threshold_is_unknown():
    doc = assemble(job(), partials([Candidate("Ann", 1.99, "ann")], []), SETTINGS)
    assert doc["decision"] == "unknown"
    assert doc["candidates"][0]["speaker"] == "Ann"
    assert_valid(doc)


@pytest.mark.parametrize(("score", "decision", "step_up"), [
    (2.0, "accept", "accept"), (1.9999, "reject", "challenge"), (4.5, "accept", "accept"), (1.2, "reject", "reject")])
def test_verify_accepts_exactly_when_score_reaches_threshold(score, decision, step_up):
    """VOICEID_CHALLENGE=off: accept or reject at the threshold; the default (risk) asks for a challenge in the
    grey band below it (shared/pipeline/stepup.py)."""
    for challenge, expected in (("off", decision), ("risk", step_up)):
        settings = replace(SETTINGS, challenge=challenge)
        doc = assemble(job("verify", "ann", (1,)), partials([Candidate("Ann", score, "ann")]), settings)
        assert (doc["decision"], doc["claimed"], doc["threshold"]) == (expected, "Ann", 2.0)
        if expected == "challenge":  # the fan-in issues it and fills step_up in (tests/unit/pipeline/test_stepup.py)
            assert doc["step_up"] == {"reasons": ["score.grey_band"]}
        else:
            assert_valid(doc)


def test_verify_of_a_name_nobody_enrolled_is_a_reject_with_reason():
    doc = assemble(job("verify", "zed", (1,)), partials([]), SETTINGS)
    assert (doc["decision"], doc["score"], doc["reason"]) == ("reject", None, "not_enrolled")
    assert_valid(doc)


def test_rejected_document_carries_code_and_hint():
    err = PermanentError("the file is empty", code="audio.empty", hint="Upload audio.")
    doc = results.failure("enroll", "enroll", "ann/a.wav", '"0x2"', err, status="rejected", request_id="r")
    assert doc["error"] == {"code": "audio.empty", "message": "the file is empty", "hint": "Upload audio."}
    assert_valid(doc)


def test_schema_refuses_ok_enroll_without_speaker():
    doc = results.base("enroll", "enroll", "ann/a.wav", '"0x2"', model_id="m", request_id="r", audio=AUDIO)
    with pytest.raises(AssertionError):
        assert_valid(doc)
