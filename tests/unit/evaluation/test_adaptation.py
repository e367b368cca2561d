"""The learned back-end (voiceid adapt): WCCN / LDA on the gallery's own voiceprints, judged on held-back speakers."""

from __future__ import annotations

import numpy as np
import pytest

from shared.core.errors import PermanentError
from shared.embedding.adaptation import Adaptation, fit
from shared.evaluation.adaptation import better, evaluate, fold_of

DIM = 32


def deployment(speakers: int = 60, per_speaker: int = 4, nuisance: float = 2.0, seed: int = 0):
    """Voiceprints whose session noise lives mostly in a few directions (a bank's channels), unit length."""
    rng = np.random.default_rng(seed)
    channel = np.linalg.qr(rng.standard_normal((DIM, 4)))[0]  # four nuisance directions
    rows, keys = [], []
    for s in range(speakers):
        identity = rng.standard_normal(DIM)
        for _ in range(per_speaker):
            v = identity + nuisance * channel @ rng.standard_normal(4) + 0.3 * rng.standard_normal(DIM)
            rows.append(v / np.linalg.norm(v))
            keys.append(f"spk{s:03d}")
    return np.array(rows, np.float32), keys


@pytest.mark.parametrize("method", ["wccn", "lda"])
def test_a_back_end_learned_without_the_held_back_speakers_beats_the_base_where_sessions_vary(method):
    vectors, keys = deployment()
    base, adapted = evaluate(vectors, keys, "test@1", method, folds=5)
    before, after = base.report(0.01), adapted.report(0.01)
    assert base.labels.sum() == adapted.labels.sum() == 60 * 2  # every speaker held back once, two probes each
    assert after["eer"] < 0.5 * before["eer"], (before, after)
    assert better(before, after, 0.01)[0]


def test_no_fold_learns_from_the_speakers_it_scores():
    keys = [f"spk{i}" for i in range(200)]
    folds = [fold_of(k, 5) for k in keys]
    assert set(folds) == set(range(5)) and [fold_of(k, 5) for k in keys] == folds  # stable, every fold used


def test_promotion_needs_a_lower_eer_and_min_dcf_and_a_calibrated_operating_point():
    base = {"eer": 3.0, "min_dcf": 0.30, "far": 1.1}
    assert better(base, {"eer": 2.0, "min_dcf": 0.25, "far": 1.3}, 0.01)[0]
    assert not better(base, {"eer": 3.0, "min_dcf": 0.25, "far": 1.0}, 0.01)[0]
    assert not better(base, {"eer": 2.0, "min_dcf": 0.35, "far": 1.0}, 0.01)[0]
    ok, why = better(base, {"eer": 2.0, "min_dcf": 0.2, "far": 4.0}, 0.01)
    assert not ok and "outside" in why


def test_the_adapted_model_is_a_new_version_with_unit_vectors_and_survives_its_file():
    vectors, keys = deployment(speakers=20)
    a = fit(vectors, keys, "spkrec-ecapa-voxceleb@0575cb64845e", "wccn", provenance={"speakers": 20})
    info = a.info()
    assert info.name == "spkrec-ecapa-voxceleb+wccn" and info.dim == DIM and len(info.version) == 12
    out = a.apply(vectors)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    again = Adaptation.from_bytes(a.to_bytes())
    assert again.info() == info and again.provenance == {"speakers": 20}
    assert np.allclose(again.apply(vectors[0]), out[0], atol=1e-6)
    other = fit(vectors[:-8], keys[:-8], "spkrec-ecapa-voxceleb@0575cb64845e", "wccn")
    assert other.info().version != info.version  # other data, other model version, other gallery
    lda = fit(vectors, keys, "spkrec-ecapa-voxceleb@0575cb64845e", "lda", dim=8)
    assert lda.info().dim == 8 and lda.info().name.endswith("+lda")


def test_an_unknown_method_is_refused():
    vectors, keys = deployment(speakers=5)
    with pytest.raises(PermanentError):
        fit(vectors, keys, "m@1", "plda")
