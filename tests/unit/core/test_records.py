import pytest

from shared.core.errors import PermanentError
from shared.core.records import Candidate, MatchJob, ShardPartial


def test_match_job_round_trips_and_ignores_unknown_fields():
    job = MatchJob(request_id="r", kind="verify", blob="ann/x.wav", etag='"0x1"', shard=2, shards=(2,),
                   model_id="m@v", probe="r/probe.npy", claimed="Ann")
    assert MatchJob.from_json(job.to_json()) == job
    assert MatchJob.from_json(job.to_json()[:-1] + ', "future": 1}') == job


def test_malformed_job_is_permanent():
    with pytest.raises(PermanentError) as info:
        MatchJob.from_json(b"not json")
    assert info.value.code == "job.malformed"


def test_partial_round_trips():
    partial = ShardPartial("r", 1, (Candidate("Ann", 0.7, "ann"),), scored=3, match_ms=0.4)
    assert ShardPartial.from_json(partial.to_json()) == partial
