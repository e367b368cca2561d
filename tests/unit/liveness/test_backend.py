"""The linear back-end: it learns a separable direction, weighs classes equally and round-trips its bytes."""

from __future__ import annotations

import numpy as np

from shared.liveness.backend import LinearBackend, class_weights


def test_it_finds_the_one_informative_feature_and_survives_a_round_trip():
    rng = np.random.default_rng(3)
    live = rng.normal(size=(400, 5))
    attacks = rng.normal(size=(40, 5))  # ten times fewer attacks: the class weights must make up for it
    attacks[:, 2] += 4.0
    x, y = np.vstack([live, attacks]), np.array([False] * 400 + [True] * 40)
    backend = LinearBackend.fit(x, y, l2=1.0, meta={"features": "test"})
    assert np.argmax(np.abs(backend.weights)) == 2 and backend.weights[2] > 0
    scores = backend.attack_scores(x)
    assert np.mean(scores[y] > 0) > 0.95 and np.mean(scores[~y] < 0) > 0.95  # balanced, not "everything is live"
    again = LinearBackend.from_bytes(backend.to_bytes())
    assert np.allclose(again.attack_scores(x), scores) and again.meta == {"features": "test"}


def test_a_constant_feature_does_not_break_the_standardisation():
    x = np.column_stack([np.zeros(20), np.r_[np.zeros(10), np.ones(10)]])
    backend = LinearBackend.fit(x, np.r_[np.zeros(10, bool), np.ones(10, bool)])
    assert np.isfinite(backend.attack_scores(x)).all()


def test_class_weights_make_classes_and_groups_count_equally():
    attack = np.array([False] * 6 + [True] * 2)
    w = class_weights(attack)
    assert np.isclose(w[~attack].sum(), 0.5) and np.isclose(w[attack].sum(), 0.5)
    groups = np.array(["big"] * 5 + ["small"] + ["a", "b"])
    g = class_weights(attack, groups)
    assert np.isclose(g[5], 0.25) and np.allclose(g[:5], 0.05) and np.allclose(g[6:], 0.25)
