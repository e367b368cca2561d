"""VOICEID_ADAPTATION: the real ECAPA with a back-end learned from real kit speech is a model version of its own."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from shared.core.errors import TransientError
from shared.core.settings import Settings
from shared.embedding.adaptation import Adaptation, fit
from shared.embedding.embedder import get_embedder
from tests.helpers import MULTI, speech


@pytest.fixture(scope="module")
def learned(tmp_path_factory):
    """A WCCN back-end learned from 4 s pieces of six kit readers (three pieces each), through the real model."""
    settings = Settings.from_env()
    base = get_embedder(settings)
    speakers = sorted(p.name for p in MULTI.iterdir() if p.is_dir())[:6]
    rows, keys = [], []
    for s in speakers:
        audio = speech(s, 12.0)
        for piece in np.array_split(audio, 3):
            rows.append(base.embed(piece))
            keys.append(s)
    adaptation = fit(np.stack(rows), keys, base.info.id, "wccn")
    path = tmp_path_factory.mktemp("adapt") / "bank-wccn.npz"
    path.write_bytes(adaptation.to_bytes())
    return settings, base, adaptation, path


def test_the_adapted_model_embeds_through_the_base_model_and_then_the_back_end(learned):
    settings, base, adaptation, path = learned
    adapted = get_embedder(replace(settings, adaptation=str(path)))
    assert adapted is not base and adapted.info.id == adaptation.info().id != base.info.id
    assert adapted.info.name == f"{base.info.name}+wccn" and adapted.info.dim == base.info.dim
    clip = speech(sorted(p.name for p in MULTI.iterdir() if p.is_dir())[-1], 5.0)  # a reader it never saw
    got, taps = adapted.embed_with_taps(clip)
    assert np.allclose(got, adaptation.apply(base.embed(clip)), atol=1e-5)
    assert abs(float(np.linalg.norm(got)) - 1.0) < 1e-5
    assert adapted.taps_model_id == base.info.id and set(taps) == set(base.embed_with_taps(clip)[1])


def test_an_adaptation_learned_for_another_model_is_refused_with_what_to_do(learned, tmp_path):
    settings, _, adaptation, _ = learned
    foreign = Adaptation(base_model="spkrec-ecapa-voxceleb@000000000000", method="wccn", mean=adaptation.mean,
                         projection=adaptation.projection)
    path = tmp_path / "foreign.npz"
    path.write_bytes(foreign.to_bytes())
    with pytest.raises(TransientError) as err:
        get_embedder(replace(settings, adaptation=str(path)))
    assert err.value.code == "model.unavailable" and "learned for" in err.value.message
    (tmp_path / "broken.npz").write_bytes(b"not an adaptation")
    with pytest.raises(TransientError) as err:
        get_embedder(replace(settings, adaptation=str(tmp_path / "broken.npz")))
    assert err.value.code == "model.unavailable" and "voiceid adapt" in err.value.hint
