"""The real ECAPA model through the product's embedder."""

from __future__ import annotations

import numpy as np
import pytest

from shared.core.settings import Settings
from shared.embedding.embedder import get_embedder
from tests.helpers import speech

pytestmark = pytest.mark.backend("ecapa")

@pytest.fixture(scope="module")
def model(kit):
    return get_embedder(Settings.from_env({}))  # the default model, ECAPA, whatever the shell says


def test_long_input_is_embedded_in_windows_that_agree_with_the_whole(model):
    samples = speech("1688", 75)
    windowed = model.embed(samples, window_s=30)  # three 25 s windows
    whole = model.embed(samples, window_s=600)
    assert float(windowed @ whole) >= 0.98
    assert np.linalg.norm(windowed) == pytest.approx(1.0, abs=1e-5)


def test_embeddings_separate_speakers(model):
    a1, a2 = model.embed(speech("1688", 10)), model.embed(speech("1688", 20)[-160000:])
    b = model.embed(speech("2033", 10))
    assert float(a1 @ a2) > 0.6 > float(a1 @ b)


def test_model_id_records_the_weights(model):
    assert model.info.name == "spkrec-ecapa-voxceleb"
    assert model.info.version == "0575cb64845e"  # sha256 prefix of embedding_model.ckpt (models/PROVENANCE.txt)
    assert model.info.dim == 192
