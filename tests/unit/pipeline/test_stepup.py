"""Step-up (VOICEID_CHALLENGE): every liveness decision x score band x setting, then the fan-in on the in-memory storage."""

from __future__ import annotations

import json

import pytest

from shared.core import contract
from shared.core.errors import ConfigError
from shared.core.records import Candidate
from shared.core.settings import Settings
from shared.pipeline import challenge, fanin, lockout, stepup
from tests.helpers import assert_valid, memory_storage
from tests.unit.pipeline.test_fanin import add_partial, result, start

THRESHOLD, GREY = 2.0, 1.3  # -log10 of a 1 % and a 5 % false-accept rate
SCORES = {"above": 4.0, "grey": 1.6, "below": 0.5, "not enrolled": None}
LIVE, INCONCLUSIVE, ATTACK = "live", "inconclusive", "attack"
GREY_BAND = "score.grey_band"

# (policy, liveness, band) -> (decision, reasons); liveness None: the check is off
CASES = {
    **{("off", live, band): ("accept" if band == "above" else "reject", ())
       for live in (None, LIVE, INCONCLUSIVE, ATTACK) for band in SCORES},
    ("risk", LIVE, "above"): ("accept", ()),
    ("risk", None, "above"): ("accept", ()),
    ("risk", INCONCLUSIVE, "above"): ("challenge", ("liveness.inconclusive",)),
    ("risk", ATTACK, "above"): ("challenge", ("liveness.attack",)),
    ("risk", LIVE, "grey"): ("challenge", (GREY_BAND,)),
    ("risk", None, "grey"): ("challenge", (GREY_BAND,)),
    ("risk", INCONCLUSIVE, "grey"): ("challenge", ("liveness.inconclusive", GREY_BAND)),
    ("risk", ATTACK, "grey"): ("challenge", ("liveness.attack", GREY_BAND)),
    **{("risk", live, "below"): ("reject", ()) for live in (None, LIVE, INCONCLUSIVE, ATTACK)},
    **{("risk", live, "not enrolled"): ("reject", ()) for live in (None, LIVE, INCONCLUSIVE, ATTACK)},
    ("always", LIVE, "above"): ("challenge", ("policy.always",)),
    ("always", None, "above"): ("challenge", ("policy.always",)),
    ("always", INCONCLUSIVE, "above"): ("challenge", ("policy.always", "liveness.inconclusive")),
    ("always", ATTACK, "above"): ("challenge", ("policy.always", "liveness.attack")),
    ("always", LIVE, "grey"): ("challenge", ("policy.always", GREY_BAND)),
    ("always", None, "grey"): ("challenge", ("policy.always", GREY_BAND)),
    ("always", INCONCLUSIVE, "grey"): ("challenge", ("policy.always", "liveness.inconclusive", GREY_BAND)),
    ("always", ATTACK, "grey"): ("challenge", ("policy.always", "liveness.attack", GREY_BAND)),
    **{("always", live, "below"): ("reject", ()) for live in (None, LIVE, INCONCLUSIVE, ATTACK)},
    **{("always", live, "not enrolled"): ("reject", ()) for live in (None, LIVE, INCONCLUSIVE, ATTACK)},
}


def test_every_policy_liveness_and_score_band_is_covered():
    assert len(CASES) == 3 * 4 * len(SCORES)


@pytest.mark.parametrize(("policy", "live", "band"), sorted(CASES, key=str))
def test_the_outcome_of_a_verification_without_an_answer(policy, live, band):
    outcome = stepup.decide(SCORES[band], THRESHOLD, GREY, live, policy)
    assert (outcome.decision, outcome.reasons) == CASES[(policy, live, band)]


@pytest.mark.parametrize("policy", ["off", "risk", "always"])
def test_an_answer_is_decided_on_its_own_recording_from_the_grey_band_only_when_asked_for_it(policy):
    grey_step_up = {"match": True, "reasons": [GREY_BAND]}
    liveness_step_up = {"match": True, "reasons": ["liveness.attack"]}
    app_asked = {"match": True, "reasons": []}
    for answered in (grey_step_up, liveness_step_up, app_asked):  # an answer is never challenged again
        assert stepup.decide(4.0, THRESHOLD, GREY, ATTACK, policy, answered).decision == "accept"
        assert stepup.decide(0.5, THRESHOLD, GREY, LIVE, policy, answered).decision == "reject"
        assert stepup.decide(None, THRESHOLD, GREY, LIVE, policy, answered).decision == "reject"
    assert stepup.decide(1.6, THRESHOLD, GREY, LIVE, policy, grey_step_up).decision == "accept"
    assert stepup.decide(1.6, THRESHOLD, GREY, LIVE, policy, liveness_step_up).decision == "reject"
    assert stepup.decide(1.6, THRESHOLD, GREY, LIVE, policy, app_asked).decision == "reject"


def test_the_settings_refuse_what_the_policy_cannot_run_with():
    with pytest.raises(ConfigError, match="VOICEID_CHALLENGE must be"):
        Settings.from_env({"VOICEID_CHALLENGE": "sometimes"})
    with pytest.raises(ConfigError, match="VOICEID_CHALLENGE_GREY_FAR"):
        Settings.from_env({"VOICEID_CHALLENGE_GREY_FAR": "0.005"})  # below the target FAR: no band
    with pytest.raises(ConfigError, match="VOICEID_CHALLENGE_MAX"):
        Settings.from_env({"VOICEID_CHALLENGE_MAX": "0"})
    assert Settings().challenge == "risk" and stepup.grey_bottom(Settings()) == pytest.approx(GREY, abs=0.01)


SETTINGS = Settings(lockout_failures=3, challenge_max=2)


def finish(storage, name: str, score: float, liveness: dict | None = None, settings: Settings = SETTINGS) -> dict:
    job = start(storage, f"ann/{name}.wav", shards=(0,), claimed="Ann", request_id=name)
    job = job.__class__(**{**job.__dict__, "liveness": liveness})
    add_partial(storage, job, 0, Candidate("Ann", score, "ann", 0.3))
    fanin.try_finish(storage, job, settings)
    return result(storage, job)


def test_a_grey_band_verification_asks_for_a_challenge_whose_digits_stay_out_of_the_result():
    storage = memory_storage()
    doc = finish(storage, "g1", 1.6)
    assert_valid(doc)
    assert doc["decision"] == "challenge" and doc["step_up"]["reasons"] == [GREY_BAND]
    assert doc["step_up"]["nonce"] == stepup.nonce_for("g1")
    issued = challenge.pending(storage, doc["step_up"]["nonce"])
    assert issued.reasons == (GREY_BAND,) and issued.key == contract.key_hash("ann") and issued.used_by is None
    assert issued.digits not in json.dumps(doc) and "digits" not in doc["step_up"]
    assert challenge.with_open_digits(storage, doc)["step_up"]["digits"] == issued.digits
    assert "digits" not in challenge.with_open_digits(storage, doc, now=issued.expires_at + 1)["step_up"]
    state, _ = lockout._read(storage, "ann")
    assert state.failures == {} and list(state.challenges) == ["g1"]  # a step-up is not a failure


def test_a_step_up_issued_twice_for_one_request_is_one_challenge():
    storage = memory_storage()
    first = stepup.require(storage, start(storage, "ann/x.wav", claimed="Ann", request_id="x"), (GREY_BAND,), SETTINGS)
    again = stepup.require(storage, start(storage, "ann/x.wav", claimed="Ann", request_id="x"), (GREY_BAND,), SETTINGS)
    assert first == again
    assert list(lockout._read(storage, "ann")[0].challenges) == ["x"]


def test_an_attack_with_a_matching_voice_asks_for_a_challenge_and_a_clear_reject_does_not():
    storage = memory_storage()
    attack = {"decision": "attack", "score": 3.1, "model": "m", "threshold": 1.7, "policy": "reject"}
    doc = finish(storage, "a1", 6.0, liveness=attack)
    assert (doc["decision"], doc["step_up"]["reasons"]) == ("challenge", ["liveness.attack"])
    low = finish(storage, "a2", 0.2, liveness=attack)
    assert (low["decision"], low["step_up"]) == ("reject", None)
    assert list(lockout._read(storage, "ann")[0].failures) == ["a2"]


def test_past_the_claims_share_of_challenges_a_step_up_is_a_reject_that_counts():
    storage = memory_storage()
    assert [finish(storage, f"s{n}", 1.6)["decision"] for n in range(2)] == ["challenge", "challenge"]
    third = finish(storage, "s2", 1.6)
    assert (third["decision"], third["reason"], third["step_up"]) == ("reject", "challenge_limit", None)
    assert_valid(third)
    assert list(lockout._read(storage, "ann")[0].failures) == ["s2"]
    assert finish(storage, "s3", 4.0)["decision"] == "accept"  # a clear accept needs no challenge


def test_off_keeps_todays_decisions():
    storage = memory_storage()
    off = Settings(lockout_failures=3, challenge="off")
    assert finish(storage, "o1", 1.6, settings=off)["decision"] == "reject"
    assert finish(storage, "o2", 4.0, liveness={"decision": "inconclusive", "score": 1.0, "model": "m",
                                                "threshold": 1.7, "policy": "reject"}, settings=off)["decision"] == "accept"


def test_the_results_route_adds_the_open_digits_and_is_not_cached():
    from shared.api.http import ApiRequest
    from shared.api.routes import handle

    storage = memory_storage()
    doc = finish(storage, "api1", 1.6)
    path = f"results/{doc['blob']}.json"  # results/identify/ann/api1.wav.json
    got = handle(ApiRequest("GET", path, "http://127.0.0.1:7071/api"), storage, SETTINGS)
    issued = challenge.pending(storage, doc["step_up"]["nonce"])
    assert got.status == 200 and got.headers["Cache-Control"] == "no-store"
    assert got.doc["step_up"]["digits"] == issued.digits and got.doc["decision"] == "challenge"
    challenge.take(storage, issued.nonce, "Ann", "the-answer")  # answered: the digits are no longer handed out
    again = handle(ApiRequest("GET", path, "http://127.0.0.1:7071/api"), storage, SETTINGS)
    assert "digits" not in again.doc["step_up"]
