"""Every embedding backend behind the one interface, with real weights where they exist."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from shared.core.errors import TransientError
from shared.core.models import FUSED_PARTS
from shared.core.settings import Settings
from shared.embedding.embedder import get_embedder
from shared.embedding.ge2e import at_loudness
from shared.evaluation.embedcache import EmbeddingCache, cache_for
from tests.helpers import TEAM_KIT_MODELS, speech

XVECTOR_DIR = Path(os.environ.get("VOICEID_XVECTOR_SOURCE", TEAM_KIT_MODELS / "spkrec-xvect-voxceleb"))


def separates_speakers(settings: Settings, dim: int) -> None:
    model = get_embedder(settings)
    assert model.info.dim == dim
    a1, a2 = model.embed(speech("1688", 10)), model.embed(speech("1688", 20)[-160000:])
    b = model.embed(speech("2033", 10))
    assert np.linalg.norm(a1) == pytest.approx(1.0, abs=1e-5)
    assert float(a1 @ a2) > float(a1 @ b) + 0.05


@pytest.mark.backend("resemblyzer")
def test_resemblyzer_is_a_real_second_model(kit):
    settings = Settings(model="resemblyzer")
    separates_speakers(settings, dim=256)
    info = get_embedder(settings).info
    assert info.name == "resemblyzer-ge2e"
    assert info.version == "39373b86598f"  # sha256 prefix of resemblyzer 0.1.4's pretrained.pt
    assert info.id != get_embedder(Settings()).info.id  # its voiceprints live in their own gallery


@pytest.mark.backend("fusion")
def test_fusion_is_both_models_side_by_side_at_equal_weight(kit):
    settings = Settings(model="fusion")
    separates_speakers(settings, dim=448)
    fused = get_embedder(settings)
    assert tuple(p.info.dim for p in fused.parts) == FUSED_PARTS[fused.info.name]  # what scoring centres per part
    clip = speech("1688", 10)
    joined = fused.embed(clip)
    for part, block in zip(fused.parts, np.split(joined, [fused.parts[0].info.dim])):
        assert float(block @ part.embed(clip)) == pytest.approx(1 / np.sqrt(2), abs=1e-4)


@pytest.mark.backend("xvector")
@pytest.mark.skipif(not (XVECTOR_DIR / "hyperparams.yaml").is_file(),
                    reason=f"x-vector weights are not available offline (no {XVECTOR_DIR}; the Hugging Face hub is "
                           "unreachable here): put speechbrain/spkrec-xvect-voxceleb there or set "
                           "VOICEID_XVECTOR_SOURCE to run this test")
def test_xvector_with_real_weights(kit):
    separates_speakers(Settings(model="xvector", model_source=str(XVECTOR_DIR)), dim=512)


def test_xvector_without_weights_says_what_to_do(tmp_path):
    with pytest.raises(TransientError) as err:
        get_embedder(Settings(model="xvector", model_source=str(tmp_path)))  # a folder without the model files
    assert err.value.code == "model.unavailable"
    assert "VOICEID_MODEL_SOURCE" in err.value.hint


def test_loudness_normalisation_keeps_silence_finite():
    assert not np.isnan(at_loudness(np.zeros(1600, np.float32))).any()
    louder = at_loudness(np.full(1600, 0.001, np.float32))
    assert 10 * np.log10(np.mean(louder.astype(np.float64) ** 2)) == pytest.approx(-30, abs=0.01)


@pytest.mark.backend("fusion-campplus")
def test_ecapa_campplus_fusion_and_its_parts_cache(kit, tmp_path):
    settings = Settings(model="fusion-campplus", model_cache=str(tmp_path / "models"))
    try:
        separates_speakers(settings, dim=384)
    except TransientError as err:
        pytest.skip(f"CAM++ weights not installed: {err.hint}")
    fused = get_embedder(settings)
    assert [p.info.name for p in fused.parts] == ["spkrec-ecapa-voxceleb", "campplus-sv-zh-en-common-advanced"]
    clip = kit / "librispeech-multi" / "1688" / "1688-142285-0000.flac"
    direct = EmbeddingCache(settings, fused.info.id, root=tmp_path / "direct").get(clip)  # the fused model itself
    composed = cache_for(settings).get(clip)  # joined from the parts' caches
    assert composed.vector.shape == (384,)
    assert float(direct.vector @ composed.vector) == pytest.approx(1.0, abs=1e-5)
    assert composed.net_speech_s == direct.net_speech_s
