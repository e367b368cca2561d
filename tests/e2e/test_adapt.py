"""voiceid adapt and reembed --adaptation against a real Azurite, with real kit speech and the real model."""

from __future__ import annotations

import json

import pytest

from shared.client.voiceid import VoiceId
from shared.core import contract
from shared.core.errors import PermanentError
from shared.core.names import speaker_key
from shared.core.records import BlobInput
from shared.core.settings import Settings
from shared.embedding.adaptation import Adaptation, fit
from shared.embedding.embedder import get_embedder
from shared.embedding.frontend import embed_input
from shared.gallery.shards import Voiceprint, voiceprint_id
from shared.gallery.store import Gallery, stored_models
from shared.ops.adapt import voiceprints
from shared.results import audit
from tests.helpers import HOST_ENV, SPLIT, start_azurite, voiceid

pytestmark = pytest.mark.e2e
READERS = 24  # each enrolled with both halves of their clip: two voiceprints a speaker


@pytest.fixture(scope="module")
def store(tmp_path_factory, kit):
    server = start_azurite(tmp_path_factory.mktemp("adapt-azurite"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gallery(store) -> tuple[VoiceId, Settings, str]:
    """24 readers, two enrolment files each, stored as the blob trigger stores them (audio, voiceprint, sha256)."""
    settings = Settings.from_env({"AzureWebJobsStorage": store.connection_string, **HOST_ENV})
    vid = VoiceId(settings)
    vid.storage.ensure()
    vps = []
    for reader in sorted(p.name for p in SPLIT.iterdir() if p.is_dir()):
        if len(vps) == 2 * READERS:
            break
        pair = []
        for half in ("a", "b"):
            blob, data = f"reader-{reader}/{half}.flac", (SPLIT / reader / f"{half}.flac").read_bytes()
            inp = BlobInput(contract.ENROLL, blob, '"x"', data)
            try:
                emb = embed_input(inp, settings, min_speech_s=settings.min_speech_enroll_s)
            except PermanentError:  # a half too short to enrol: the trigger would refuse it too
                break
            pair.append((blob, data, inp, emb))
        for blob, data, inp, emb in pair if len(pair) == 2 else ():
            vid.storage.write(contract.ENROLL, blob, data)
            vps.append(Voiceprint(voiceprint_id=voiceprint_id(contract.ENROLL, blob), key=speaker_key(f"reader-{reader}"),
                                  speaker=f"reader-{reader}", embedding=emb.vector, blob=f"{contract.ENROLL}/{blob}",
                                  sha256=inp.sha256, net_speech_s=emb.audio["net_speech_s"], band=emb.audio["band"]))
    model = get_embedder(settings).info
    Gallery(vid.storage, model, settings.shard_count).add_many(vps)
    return vid, settings, model.id


def test_adapt_evaluates_on_held_back_speakers_and_writes_the_back_end_only_when_it_is_better(gallery, store, tmp_path):
    vid, _, model_id = gallery
    out = tmp_path / "bank-wccn.npz"
    got = voiceid(store, "adapt", "--out", str(out), "--json", **HOST_ENV)
    assert got.returncode in (0, 1), got.stderr
    report = json.loads(got.stdout)
    assert (report["source"], report["speakers"], report["voiceprints"]) == (model_id, READERS, 2 * READERS)
    b, a = report["before"], report["after"]
    assert b["targets"] == a["targets"] == READERS and b["non_targets"] == a["non_targets"] > 0
    assert report["promoted"] == (got.returncode == 0) == out.is_file()
    if report["promoted"]:
        assert a["eer"] < b["eer"] and a["min_dcf"] <= b["min_dcf"]
        kept = Adaptation.load(out)
        assert kept.base_model == model_id and kept.info().id == report["adapted"]
        assert kept.provenance["evaluation"]["before"]["eer"] == b["eer"]  # the table travels with the model
    events = [e for e in audit.read(vid.storage) if e["action"] == "adapt"]
    assert events and events[-1]["outcome"] == ("promoted" if report["promoted"] else "not_promoted")
    assert "reader-" not in json.dumps(events)  # counts and ids, never a speaker


def test_adapt_refuses_a_gallery_too_small_to_judge_it_and_says_what_to_do(gallery, store, tmp_path):
    got = voiceid(store, "adapt", "--out", str(tmp_path / "x.npz"), "--min-speakers", str(READERS + 1), **HOST_ENV)
    assert got.returncode == 2 and "adapting needs at least" in got.stderr and "Enrol more files" in got.stderr
    assert not (tmp_path / "x.npz").exists()


def test_reembed_with_an_adaptation_builds_its_own_gallery_from_the_enrolment_audio(gallery, store, tmp_path):
    vid, settings, model_id = gallery
    vectors, keys = voiceprints(vid.storage, model_id, settings)
    learned = fit(vectors, keys, model_id, "wccn")
    path = tmp_path / "learned.npz"
    path.write_bytes(learned.to_bytes())
    got = voiceid(store, "reembed", "--adaptation", str(path), "--json", **HOST_ENV)
    assert got.returncode == 0, got.stderr
    report = json.loads(got.stdout)
    assert (report["source"], report["target"], report["reembedded"]) == (model_id, learned.info().id, 2 * READERS)
    assert set(stored_models(vid.storage)) == {model_id, learned.info().id}
    adapted, adapted_keys = voiceprints(vid.storage, learned.info().id, settings)
    assert sorted(adapted_keys) == sorted(keys)
    before = {k: [] for k in keys}
    for v, k in zip(vectors, keys):
        before[k].append(learned.apply(v))
    for v, k in zip(adapted, adapted_keys):  # the same audio through the same model and back-end
        assert max(float(v @ w) for w in before[k]) > 0.999, k
