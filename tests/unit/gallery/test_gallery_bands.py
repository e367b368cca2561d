"""Bands through the gallery: stored with each voiceprint, fitted into the statistics, used by the match step."""

from __future__ import annotations

import base64

import numpy as np

from shared.core.models import ModelInfo
from shared.core.records import MatchJob
from shared.core.settings import Settings
from shared.gallery.cache import PreparedShard
from shared.gallery.shards import Voiceprint
from shared.gallery.store import Gallery
from shared.scoring.bands import MIN_BAND_SPEAKERS
from shared.scoring.probe import score_shard
from shared.storage.memory import MemoryStorage
from shared.storage.sealing import keyring
from tests.unit.scoring.test_bands import DIM, mixed_gallery

KEYS = keyring("k1:" + base64.b64encode(bytes(range(32))).decode())


def stored_gallery(per_band: int):
    rng, voice, keys, models, bands = mixed_gallery(per_band)
    storage = MemoryStorage()
    storage.ensure()
    gallery = Gallery(storage, ModelInfo("test", "000000000001", DIM), shard_count=1, keyring=KEYS)
    gallery.add_many([Voiceprint(voiceprint_id=f"vp-{k}", key=k, speaker=k, embedding=m, band=b, net_speech_s=8.0)
                      for k, m, b in zip(keys, models, bands)])
    return rng, voice, keys, bands, gallery


def job(claimed: str | None, band: str | None) -> MatchJob:
    return MatchJob(request_id="r1", kind="verify" if claimed else "identify", blob="x.flac", etag="e", shard=0,
                    shards=(0,), model_id="test@000000000001", probe="p", claimed=claimed,
                    audio={} if band is None else {"band": band})


def test_the_band_is_stored_with_each_voiceprint_and_the_statistics_fit_each_pair_class():
    _, _, keys, bands, gallery = stored_gallery(MIN_BAND_SPEAKERS)
    assert [e["band"] for e in gallery.load(0).entries] == bands
    stats = gallery.refresh_stats()
    assert set(stats.band_fits) == stats.band_trusted == {"narrow+narrow", "narrow+wide", "wide+wide"}
    assert gallery.load_stats().band_fits == stats.band_fits
    prepared = PreparedShard.build(gallery.load(0), stats, None)
    assert dict(zip(prepared.keys, prepared.bands)) == dict(zip(keys, bands))
    assert prepared.restats(stats, "e2").bands == prepared.bands


def test_a_verification_is_calibrated_with_the_fit_of_its_pair_of_bands():
    rng, voice, keys, bands, gallery = stored_gallery(MIN_BAND_SPEAKERS)
    stats = gallery.refresh_stats()
    prepared = PreparedShard.build(gallery.load(0), stats, None)
    settings = Settings.from_env({})
    narrow_speaker = next(k for k, b in zip(keys, bands) if b == "narrow")
    probe = voice(rng.standard_normal(DIM), "narrow")
    by_band = {}
    for band in ("narrow", "wide", None):
        partial = score_shard(job(narrow_speaker, band), probe, prepared, stats, settings)
        by_band[band] = partial.candidates[0].score
        fits = partial.calibration.get("band_fits", {})
        assert set(fits) == ({"narrow+narrow", "narrow+wide"} if band == "narrow" else
                             {"narrow+wide", "wide+wide"} if band == "wide" else set())
    snorm = stats.score(probe, [narrow_speaker], prepared.models[[prepared.index[narrow_speaker]]])[0].snorm
    for band, cls in (("narrow", "narrow+narrow"), ("wide", "narrow+wide")):
        assert by_band[band] == np.float64(stats.band_fits[cls].evidence(snorm) - stats.margin)
    assert by_band[None] == stats.calibration.evidence(snorm) - stats.margin  # an older job: the pooled fit


def test_voiceprints_stored_before_bands_were_kept_score_with_the_pooled_fit():
    rng, voice, keys, _, gallery = stored_gallery(MIN_BAND_SPEAKERS)
    shard = gallery.load(0)
    old = type(shard)(matrix=shard.matrix, entries=tuple({k: v for k, v in e.items() if k != "band"}
                                                         for e in shard.entries))
    stats = gallery.store_stats(*_models(old), voiceprints=len(old.entries))
    assert stats.band_fits == {}
    prepared = PreparedShard.build(old, stats, None)
    assert set(prepared.bands) == {""}
    partial = score_shard(job(keys[0], "narrow"), voice(rng.standard_normal(DIM), "narrow"), prepared, stats,
                          Settings.from_env({}))
    assert "band_fits" not in partial.calibration


def _models(shard):
    from shared.gallery.store import models_of

    return models_of([shard], DIM)
