"""The fraud watchlist's logic on the in-memory storage: screening, policy, removal, audit, API, fan-in."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest

from shared.api.http import ApiRequest
from shared.api.routes import handle
from shared.core import contract
from shared.core.errors import ConfigError, PermanentError
from shared.core.models import ModelInfo
from shared.core.names import parse_watchlist
from shared.core.records import Candidate, MatchJob, ShardPartial
from shared.core.settings import Settings
from shared.gallery.cache import shard_cache
from shared.gallery.shards import Voiceprint
from shared.gallery.store import Gallery, stored_models
from shared.gallery.watchlist import cases, watchlist_gallery, watchlist_models
from shared.pipeline import fanin, watchlist
from shared.results import audit
from shared.scoring.watchlist import Hit, Screening, watchlist_threshold
from tests.helpers import assert_valid, memory_storage, unit_vectors

MODEL = ModelInfo(name="test-model", version="0123456789ab", dim=48)
SETTINGS = replace(Settings.from_env(), watchlist_target_far=0.001)  # the session's voiceprint keys
CUSTOMERS = 40


def voiceprint(key: str, vec: np.ndarray, blob: str, container: str = contract.ENROLL) -> Voiceprint:
    return Voiceprint(voiceprint_id=f"{container}-{blob}", key=key.casefold(), speaker=key, embedding=vec,
                      blob=f"{container}/{blob}", created_at="2026-12-03T10:00:00.000Z")


@pytest.fixture
def deployment():
    """A customer gallery of 40 speakers with statistics, and a watchlist of 3 cases (random voices)."""
    shard_cache(SETTINGS).clear()
    storage = memory_storage()
    vecs = unit_vectors(CUSTOMERS + 3, MODEL.dim, seed=7)
    gallery = Gallery(storage, MODEL, 2)
    gallery.add_many([voiceprint(f"customer-{i}", vecs[i], f"customer-{i}/a.wav") for i in range(CUSTOMERS)])
    gallery.refresh_stats()
    listed = watchlist_gallery(storage, MODEL)
    cases_ = {}
    for n, vec in enumerate(vecs[CUSTOMERS:]):
        case = f"FR-{n:04d}"
        listed.add(voiceprint(case, vec, f"{case}/call.wav", contract.WATCHLIST))
        storage.write(contract.WATCHLIST, f"{case}/call.wav", b"audio")
        storage.write_json(contract.RESULTS, contract.result_blob_name(contract.WATCHLIST, f"{case}/call.wav"), {})
        cases_[case] = vec
    return storage, vecs, cases_


def near(vec: np.ndarray, seed: int, noise: float = 0.25) -> np.ndarray:
    """Another recording of the same voice: the vector plus a little noise."""
    out = vec + noise * np.random.default_rng(seed).normal(size=vec.shape) / np.sqrt(vec.size)
    return (out / np.linalg.norm(out)).astype(np.float32)


def test_a_listed_voice_is_found_and_named_and_a_customer_is_not(deployment):
    storage, vecs, listed = deployment
    found = watchlist.screen_probe(storage, SETTINGS, MODEL, near(listed["FR-0001"], 1), "wide")
    assert found.cases == 3 and found.matched
    assert found.hits[0].case == "FR-0001" and found.hits[0].score >= found.threshold
    assert found.threshold == pytest.approx(watchlist_threshold(0.001, 3))
    for i in range(10):  # customers calling again are not on the watchlist
        assert not watchlist.screen_probe(storage, SETTINGS, MODEL, near(vecs[i], 100 + i), "wide").matched
    assert found.public() == [{"case": "FR-0001", "score": round(found.hits[0].score, 4)}]


def test_the_threshold_grows_with_the_watchlist_so_innocent_callers_are_flagged_at_the_target_rate():
    assert watchlist_threshold(0.001, 1) == pytest.approx(3.0)
    assert watchlist_threshold(0.001, 100) > watchlist_threshold(0.001, 10) > watchlist_threshold(0.001, 1)
    assert watchlist_threshold(0.001, 100) == pytest.approx(5.0, abs=0.01)  # about 0.001 / 100 per case


def test_an_empty_watchlist_screens_nothing_and_another_model_sees_no_case(deployment):
    storage, vecs, listed = deployment
    other = ModelInfo(name="other-model", version="ffffffffffff", dim=MODEL.dim)
    Gallery(storage, other, 1).add(voiceprint("someone", vecs[0], "someone/a.wav"))
    found = watchlist.screen_probe(storage, SETTINGS, other, listed["FR-0000"], "wide")
    assert found == Screening(hits=(), threshold=found.threshold, cases=0)


def test_the_policy_rejects_or_flags():
    listed = Screening(hits=(Hit("FR-1", 6.5),), threshold=4.5, cases=10)
    watchlist.refuse_if_listed(listed, "flag", "enroll.watchlist", {})  # flag: nothing raised
    watchlist.refuse_if_listed(Screening((), 4.5, 10), "reject", "enroll.watchlist", {})  # no match: nothing
    with pytest.raises(PermanentError) as err:
        watchlist.refuse_if_listed(listed, "reject", "enroll.watchlist", {"audio": {"duration_s": 3.0}})
    assert err.value.code == "enroll.watchlist" and "fraud team" in err.value.hint
    assert err.value.details["watchlist"] == [{"case": "FR-1", "score": 6.5}]


def test_the_watchlist_lives_beside_the_customer_gallery_never_in_it(deployment):
    storage, _, _ = deployment
    assert stored_models(storage) == [MODEL.id] and watchlist_models(storage) == [MODEL.id]
    assert all(e["key"].startswith("customer-") for n in range(2) for e in Gallery(storage, MODEL, 2).load(n).entries)
    names = [i.name for i in storage.list(contract.GALLERY, contract.WATCHLIST_GALLERY)]
    assert names == [f"watchlist/{MODEL.name}/{MODEL.version}/layout.json",
                     f"watchlist/{MODEL.name}/{MODEL.version}/shard-0000.npz"]
    from shared.ops.rotation import SEALED_BLOBS

    assert SEALED_BLOBS[contract.GALLERY].match(names[1])  # rotate-key re-seals the watchlist too


def test_removing_a_case_deletes_its_voiceprints_uploads_and_results_and_is_audited(deployment):
    storage, _, _ = deployment
    rows = cases(storage)
    assert [(r["case"], r["voiceprints"], r["model_id"]) for r in rows] == [
        ("FR-0000", 1, MODEL.id), ("FR-0001", 1, MODEL.id), ("FR-0002", 1, MODEL.id)]
    report = watchlist.remove_case(storage, SETTINGS, "fr-0001", actor="cli:analyst")  # any spelling of the id
    assert report.to_dict() == {"case": "fr-0001", "found": True, "voiceprints": 1, "models": [MODEL.id],
                                "uploads": 1, "results": 1}
    assert [r["case"] for r in cases(storage)] == ["FR-0000", "FR-0002"]
    assert storage.read(contract.WATCHLIST, "FR-0001/call.wav") is None
    assert storage.read(contract.WATCHLIST, "FR-0000/call.wav") is not None
    again = watchlist.remove_case(storage, SETTINGS, "FR-0001", actor="cli:analyst")
    assert not again.found
    events = [e for e in audit.read(storage) if e["action"] == "watchlist_remove"]
    assert [(e["actor"], e["outcome"], e["voiceprints"]) for e in events] == [
        ("cli:analyst", "removed", 1), ("cli:analyst", "not_found", 0)]
    with pytest.raises(PermanentError):
        watchlist.remove_case(storage, SETTINGS, "  ", actor="cli:analyst")


def test_the_api_adds_lists_and_removes_cases_with_the_actor_on_record(deployment):
    storage, _, _ = deployment
    base = "http://127.0.0.1:7071/api"
    added = handle(ApiRequest("POST", "watchlist/FR-0042", base, params={"filename": "call.wav"},
                              headers={"content-type": "audio/wav"}, body=b"RIFF audio"), storage, SETTINGS)
    assert added.status == 202 and added.doc["kind"] == "watchlist"
    assert added.doc["blob"] == "watchlist/FR-0042/call.wav"
    assert storage.read(contract.WATCHLIST, "FR-0042/call.wav")[0] == b"RIFF audio"
    upload = [e for e in audit.read(storage) if e["action"] == "watchlist_upload"]
    assert [(e["actor"], e["speaker"], e["blob"]) for e in upload] == [("http-api", "FR-0042", "watchlist/FR-0042/call.wav")]
    pending = handle(ApiRequest("GET", "results/watchlist/FR-0042/call.wav.json", base), storage, SETTINGS)
    assert pending.status == 202
    listed = handle(ApiRequest("GET", "watchlist", base), storage, SETTINGS)
    assert listed.status == 200 and listed.doc["total"] == 3 and "embedding" not in str(listed.doc)
    removed = handle(ApiRequest("DELETE", "watchlist/FR-0000", base), storage, SETTINGS)
    assert removed.status == 200 and removed.doc["found"] and removed.doc["voiceprints"] == 1
    bad = handle(ApiRequest("POST", "watchlist/unknown", base, body=b"x"), storage, SETTINGS)
    assert bad.status == 400 and bad.doc["error"]["code"] == "name.reserved"
    assert handle(ApiRequest("PUT", "watchlist/FR-1", base), storage, SETTINGS).status == 405


def test_a_flagged_verification_carries_its_cases_and_counts_against_the_claim():
    storage = memory_storage()
    settings = replace(SETTINGS, lockout_failures=1)
    etag = storage.write(contract.IDENTIFY, "Ann/call.wav", b"audio")
    job = MatchJob(request_id="r1", kind="verify", blob="Ann/call.wav", etag=etag, shard=0, shards=(0,),
                   model_id="test@1", probe=contract.probe_blob("r1"), claimed="Ann", received_at=time.time(),
                   audio={"duration_s": 4.0, "input": {}}, watchlist=[{"case": "FR-7", "score": 6.1}])
    partial = ShardPartial(request_id="r1", shard=0, candidates=(Candidate("Ann", 9.0, "ann", 0.8),), scored=3,
                           match_ms=1.0, calibration={"speakers": 40})
    storage.write(contract.MATCH_STATE, f"{contract.partial_prefix('r1')}0000.json", partial.to_json().encode())
    assert MatchJob.from_json(job.to_json()).watchlist == [{"case": "FR-7", "score": 6.1}]
    assert fanin.try_finish(storage, job, settings)
    doc = storage.read_json(contract.RESULTS, contract.result_blob_name(contract.IDENTIFY, job.blob))
    assert_valid(doc)
    assert doc["decision"] == "accept" and doc["watchlist"] == [{"case": "FR-7", "score": 6.1}]
    verify = [e for e in audit.read(storage) if e["action"] == "verify"]
    assert verify[0]["watchlist"] == ["FR-7"]  # every match is on record with its case
    assert any(e["action"] == "lockout" for e in audit.read(storage))  # flagged: a failure of the claim


def test_a_job_from_a_version_without_the_watchlist_still_reads():
    old = ('{"request_id": "r", "kind": "identify", "blob": "b.wav", "etag": "e", "shard": 0, "shards": [0], '
           '"model_id": "m@1", "probe": "r/probe.npy"}')
    assert MatchJob.from_json(old).watchlist is None


def test_watchlist_names_and_settings():
    assert parse_watchlist("FR-0042/call.wav").speaker == "FR-0042"
    assert parse_watchlist("FR-0042.wav").speaker == "FR-0042"
    for bad in ("a/b/c.wav", "unknown/x.wav", "/x.wav"):
        with pytest.raises(PermanentError):
            parse_watchlist(bad)
    env = {"VOICEID_WATCHLIST_TARGET_FAR": "0.01", "VOICEID_WATCHLIST_ENROLL": "flag"}
    s = Settings.from_env(env)
    assert (s.watchlist_target_far, s.watchlist_enroll, s.watchlist_verify) == (0.01, "flag", "reject")
    for key, value in (("VOICEID_WATCHLIST_TARGET_FAR", "0.7"), ("VOICEID_WATCHLIST_VERIFY", "block")):
        with pytest.raises(ConfigError, match=key):
            Settings.from_env({key: value})
