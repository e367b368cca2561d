import numpy as np
import pytest

from shared.core.records import Candidate
from shared.scoring.decisions import identify_decision, top_k, verify_decision
from shared.scoring.normalization import speaker_models


def unit(v):
    v = np.asarray(v, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_speaker_model_is_the_normalised_centroid():
    matrix = np.stack([unit([1, 0]), unit([0, 1]), unit([1, 1])])
    keys, models = speaker_models(matrix, ["a", "a", "b"])
    assert keys == ["a", "b"]
    assert models[0] == pytest.approx(unit([1, 1]))  # centroid of (1,0) and (0,1) points along (1,1)
    assert models[1] == pytest.approx(unit([1, 1]))


def test_empty_shard_has_no_models():
    keys, models = speaker_models(np.zeros((0, 2), np.float32), [])
    assert keys == [] and models.shape == (0, 2)


def test_top_k_is_best_first_and_stable():
    cands = [Candidate("B", 0.5, "b"), Candidate("A", 0.9, "a"), Candidate("C", 0.5, "c"), Candidate("D", 0.1, "d")]
    assert [c.key for c in top_k(cands, 3)] == ["a", "b", "c"]


def test_top_k_keeps_one_candidate_per_speaker():
    """During a re-shard a speaker can be scored in two shards: still one candidate, the better one."""
    cands = [Candidate("A", 0.4, "a"), Candidate("B", 0.5, "b"), Candidate("A", 0.9, "a")]
    assert [(c.key, c.score) for c in top_k(cands, 3)] == [("a", 0.9), ("b", 0.5)]


def test_identify_is_open_set():
    ranked = [Candidate("Ann", 0.61, "ann")]
    assert identify_decision(ranked, 0.6) == "Ann"
    assert identify_decision(ranked, 0.62) == "unknown"
    assert identify_decision([], 0.1) == "unknown"


def test_verify_accepts_exactly_at_threshold():
    assert verify_decision(0.5, 0.5) == "accept"
    assert verify_decision(0.4999, 0.5) == "reject"
    assert verify_decision(None, 0.5) == "reject"
