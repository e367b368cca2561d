"""Channel-aware calibration: a fit per pair of bands where the gallery has the speakers for it."""

from __future__ import annotations

import numpy as np

from shared.scoring.bands import MIN_BAND_SPEAKERS, pair_class, speaker_bands
from shared.scoring.calibration import threshold_for
from shared.scoring.normalization import MIN_PER_GROUP, pair_sample
from shared.scoring.stats import GalleryStats, build

DIM = 48


def channel_world(seed: int = 0):
    """Speakers as random directions; each channel adds its own offset, so same-channel strangers look alike."""
    rng = np.random.default_rng(seed)
    offsets = {"narrow": 0.75 * rng.standard_normal(DIM), "wide": 0.75 * rng.standard_normal(DIM)}

    def voice(identity: np.ndarray, band: str) -> np.ndarray:
        v = identity + offsets[band] + 0.35 * rng.standard_normal(DIM)
        return (v / np.linalg.norm(v)).astype(np.float32)

    return rng, voice


def mixed_gallery(per_band: int, seed: int = 0):
    rng, voice = channel_world(seed)
    ids = rng.standard_normal((2 * per_band, DIM))
    bands = ["narrow" if i % 2 == 0 else "wide" for i in range(2 * per_band)]
    keys = [f"s{i:03d}" for i in range(2 * per_band)]
    models = np.stack([voice(ids[i], b) for i, b in enumerate(bands)])
    return rng, voice, keys, models, bands


def impostor_far(stats: GalleryStats, rng, voice, keys, models, bands, caller: str, n: int = 150) -> dict[bool, float]:
    """FAR at the 1 % point of fresh strangers calling on ``caller``'s band, vs same- and other-band enrolments."""
    threshold = threshold_for(0.01)
    hits = {True: [], False: []}
    for _ in range(n):
        probe = voice(rng.standard_normal(DIM), caller)
        for s, band in zip(stats.score(probe, keys, models, caller, bands), bands):
            hits[band == caller].append(s.score >= threshold)
    return {same: float(np.mean(v)) for same, v in hits.items()}


def test_a_speaker_takes_the_band_with_more_speech_and_unknown_voiceprints_do_not_vote():
    got = speaker_bands([("a", "narrow", 10.0), ("a", "wide", 4.0), ("b", "", 30.0), ("b", "wide", 2.0),
                         ("c", "", 5.0)])
    assert got == {"a": "narrow", "b": "wide", "c": ""}
    assert pair_class("wide", "narrow") == pair_class("narrow", "wide") == "narrow+wide"
    assert pair_class("", "wide") == ""


def test_one_fit_of_a_mixed_gallery_never_accepts_across_bands_and_a_fit_per_class_brings_both_to_target():
    rng, voice, keys, models, bands = mixed_gallery(per_band=MIN_BAND_SPEAKERS + 10)
    pooled = build(keys, models, "test@1", margins=False)  # no bands: one fit, as before
    aware = build(keys, models, "test@1", bands=bands, margins=False)
    assert pooled.band_fits == {} and set(aware.band_fits) == {"narrow+narrow", "narrow+wide", "wide+wide"}
    assert aware.band_trusted == set(aware.band_fits)
    assert aware.band_fits["narrow+narrow"].mean > aware.calibration.mean > aware.band_fits["narrow+wide"].mean
    before = impostor_far(pooled, rng, voice, keys, models, bands, "narrow")
    after = impostor_far(aware, rng, voice, keys, models, bands, "narrow")
    assert before[False] < 0.001  # one fit of the mixture: a caller on the other band is never accepted
    assert 0.0025 <= after[True] <= 0.025 and 0.0025 <= after[False] <= 0.025  # both near the 1 % promised


def test_a_class_without_enough_speakers_on_either_side_only_ever_makes_a_score_stricter():
    _, _, keys, models, bands = mixed_gallery(per_band=MIN_BAND_SPEAKERS + 2)
    few = bands[:]
    narrow = [i for i, b in enumerate(few) if b == "narrow"]
    for i in narrow[MIN_BAND_SPEAKERS - 1:]:
        few[i] = "wide"  # narrow: one speaker short of the minimum
    stats = build(keys, models, "test@1", bands=few, margins=False)
    assert set(stats.band_fits) == {"narrow+narrow", "narrow+wide", "wide+wide"}
    assert stats.band_trusted == {"wide+wide"}
    assert stats.band_speakers == {"narrow": MIN_BAND_SPEAKERS - 1, "wide": len(keys) - MIN_BAND_SPEAKERS + 1}
    looser = 0
    for snorm in np.linspace(-2, 8, 41):
        pooled = stats.calibration.evidence(snorm)
        assert stats.evidence(snorm, "wide", "wide") == (stats.band_fits["wide+wide"].evidence(snorm), "wide+wide")
        assert stats.evidence(snorm, "", "wide") == (pooled, "")
        for cls in ("narrow+narrow", "narrow+wide"):
            value, used = stats.evidence(snorm, *cls.split("+"))
            own = stats.band_fits[cls].evidence(snorm)
            assert value == min(pooled, own) and used == (cls if own < pooled else "")
            looser += own > pooled
    assert looser  # there are scores where the sparse fit would have been looser, and it was not used


def test_a_class_with_too_few_speakers_for_any_fit_uses_the_pooled_one():
    _, _, keys, models, bands = mixed_gallery(per_band=MIN_BAND_SPEAKERS)
    few = ["wide" if i > 3 else b for i, b in enumerate(bands)]  # two narrow speakers left
    stats = build(keys, models, "test@1", bands=few, margins=False)
    assert set(stats.band_fits) == {"wide+wide"}
    assert stats.evidence(3.0, "narrow", "narrow") == (stats.calibration.evidence(3.0), "")


def test_a_gallery_of_one_band_scores_exactly_as_without_bands():
    rng, voice, keys, models, _ = mixed_gallery(per_band=25)
    plain = build(keys, models, "test@1", margins=False)
    one_band = build(keys, models, "test@1", bands=["wide"] * len(keys), margins=False)
    probe = voice(rng.standard_normal(DIM), "narrow")
    a = [s.score for s in plain.score(probe, keys, models)]
    b = [s.score for s in one_band.score(probe, keys, models, "narrow", ["wide"] * len(keys))]
    assert np.allclose(a, b)


def test_band_fits_survive_the_stored_statistics():
    _, _, keys, models, bands = mixed_gallery(per_band=MIN_BAND_SPEAKERS)
    stats = build(keys, models, "test@1", bands=bands, margins=False)
    again = GalleryStats.from_bytes(stats.to_bytes())
    assert again.band_fits == stats.band_fits and again.band_speakers == stats.band_speakers
    assert again.band_trusted == stats.band_trusted == set(stats.band_fits)
    summary = again.summary("narrow")
    assert set(summary["band_fits"]) == {"narrow+narrow", "narrow+wide"} and summary["bands"] == stats.band_speakers


def test_a_large_gallery_samples_enough_speakers_of_a_small_band():
    keys = [f"k{i:05d}" for i in range(2000)]
    groups = ["narrow" if i % 40 == 0 else "wide" for i in range(2000)]  # 50 narrow speakers in 2,000
    pick = pair_sample(keys, 200, groups)
    assert len(pick) == 200 and sum(groups[i] == "narrow" for i in pick) >= MIN_PER_GROUP
    assert pair_sample(keys, 200) == pair_sample(keys, 200)  # stable
