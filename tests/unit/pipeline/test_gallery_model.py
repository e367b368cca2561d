"""A model change without its gallery refuses (gallery.other_model) instead of losing every enrolled speaker."""

from __future__ import annotations

import pytest

from shared.core.errors import DeploymentError
from shared.core.models import ModelInfo
from shared.gallery.store import Gallery
from shared.pipeline.gallery_model import require_own_gallery
from shared.results import documents as results
from tests.helpers import assert_valid, memory_storage

ECAPA = ModelInfo(name="spkrec-ecapa-voxceleb", version="0575cb64845e", dim=192)
CAMPP = ModelInfo(name="campplus-sv-zh-en-common-advanced", version="92f29b94e694", dim=192)


def test_a_fresh_deployment_and_the_galleries_own_model_pass():
    storage = memory_storage()
    require_own_gallery(Gallery(storage, CAMPP, 4), "campplus")  # nothing stored yet: the first enrolment starts it
    Gallery(storage, ECAPA, 4).set_layout(4)
    require_own_gallery(Gallery(storage, ECAPA, 4), "ecapa")


def test_another_models_gallery_makes_the_configured_one_refuse_with_the_reembed_hint():
    storage = memory_storage()
    Gallery(storage, ECAPA, 4).set_layout(4)
    with pytest.raises(DeploymentError) as caught:
        require_own_gallery(Gallery(storage, CAMPP, 4), "campplus")
    err = caught.value
    assert err.code == "gallery.other_model" and err.status == "error"
    assert "voiceid reembed --to campplus" in err.hint and ECAPA.id in err.message
    assert err.details == {"stored_models": [ECAPA.id]}
    doc = results.failure("identify", "identify", "call.wav", '"0x1"', err, status=err.status, request_id="r1",
                          timings_ms={"total": 1.0})
    assert doc["status"] == "error" and doc["error"]["code"] == "gallery.other_model"
    assert_valid(doc)
