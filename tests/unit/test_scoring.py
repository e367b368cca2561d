import numpy as np
import pytest

from shared.records import Candidate
from shared.scoring import identify_decision, speaker_scores, top_k, verify_decision


def unit(v):
    v = np.asarray(v, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_mean_aggregation_scores_against_the_centroid():
    matrix = np.stack([unit([1, 0]), unit([0, 1]), unit([1, 1])])
    scores = speaker_scores(unit([1, 1]), matrix, ["a", "a", "b"], "mean")
    assert scores["a"] == pytest.approx(1.0)  # centroid of (1,0) and (0,1) points along (1,1)
    assert scores["b"] == pytest.approx(1.0)


def test_max_aggregation_takes_the_best_voiceprint():
    matrix = np.stack([unit([1, 0]), unit([0, 1])])
    scores = speaker_scores(unit([1, 0]), matrix, ["a", "a"], "max")
    assert scores == {"a": pytest.approx(1.0)}


def test_mean_and_max_differ_when_voiceprints_disagree():
    matrix = np.stack([unit([1, 0]), unit([0, 1])])
    probe = unit([1, 0])
    assert speaker_scores(probe, matrix, ["a", "a"], "mean")["a"] == pytest.approx(np.sqrt(0.5))
    assert speaker_scores(probe, matrix, ["a", "a"], "max")["a"] == pytest.approx(1.0)


def test_empty_shard_scores_nobody():
    assert speaker_scores(unit([1, 0]), np.zeros((0, 2), np.float32), [], "mean") == {}


def test_unknown_aggregation_is_refused():
    with pytest.raises(ValueError):
        speaker_scores(unit([1, 0]), np.stack([unit([1, 0])]), ["a"], "median")


def test_top_k_is_best_first_and_stable():
    cands = [Candidate("B", 0.5, "b"), Candidate("A", 0.9, "a"), Candidate("C", 0.5, "c"), Candidate("D", 0.1, "d")]
    assert [c.key for c in top_k(cands, 3)] == ["a", "b", "c"]


def test_identify_is_open_set():
    ranked = [Candidate("Ann", 0.61, "ann")]
    assert identify_decision(ranked, 0.6) == "Ann"
    assert identify_decision(ranked, 0.62) == "unknown"
    assert identify_decision([], 0.1) == "unknown"


def test_verify_accepts_exactly_at_threshold():
    assert verify_decision(0.5, 0.5) == "accept"
    assert verify_decision(0.4999, 0.5) == "reject"
    assert verify_decision(None, 0.5) == "reject"
