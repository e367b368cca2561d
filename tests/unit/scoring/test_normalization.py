"""Normalisation, calibration and enrolment integrity on synthetic embeddings with known structure.

Random unit vectors in 192 dimensions are near-orthogonal, like different speakers;
a speaker's clips are their direction plus noise. A shared channel direction is added
to everything, as a telephone line adds its colour to every voice.
"""

import math

import numpy as np
import pytest

from shared.core.models import model_parts
from shared.gallery.cache import PreparedShard
from shared.gallery.shards import Shard
from shared.scoring.calibration import Calibration, identify_threshold, threshold_for
from shared.scoring.integrity import check
from shared.scoring.normalization import Cohort, l2, l2_parts, score
from shared.scoring.stats import (
    MIN_GALLERY_SPEAKERS,
    REFRESH_ALWAYS_BELOW,
    TRUSTED_FROM,
    GalleryStats,
    build,
    cold_start_margin,
    refresh_due,
)

DIM = 192


def world(n_speakers: int, seed: int = 0, channel: float = 0.8, noise: float = 0.9):
    rng = np.random.default_rng(seed)
    chan = l2(rng.normal(size=DIM))
    voices = l2(rng.normal(size=(n_speakers, DIM)))

    def clip(i: int) -> np.ndarray:
        return l2(voices[i] + channel * chan + noise * l2(rng.normal(size=DIM)) + 0.0).astype(np.float32)

    def stranger() -> np.ndarray:
        return l2(l2(rng.normal(size=DIM)) + channel * chan + noise * l2(rng.normal(size=DIM))).astype(np.float32)

    return clip, stranger


def gallery(n: int, seed: int = 0):
    clip, stranger = world(n, seed)
    keys = [f"s{i}" for i in range(n)]
    models = np.stack([clip(i) for i in range(n)])
    return keys, models, clip, stranger


def test_threshold_of_an_operating_point():
    assert threshold_for(0.01) == pytest.approx(2.0)
    assert threshold_for(0.001) == pytest.approx(3.0)
    with pytest.raises(ValueError):
        threshold_for(1.5)


def test_calibrated_score_is_minus_log10_of_the_tail():
    cal = Calibration(mean=1.0, std=2.0, pairs=10, source="gallery")
    assert cal.evidence(1.0) == pytest.approx(math.log10(2))  # half of the impostors score above the mean
    assert cal.evidence(1.0 + 2.0 * 2.3263479) == pytest.approx(2.0, abs=1e-4)  # the 99th percentile
    assert cal.evidence(40.0) > cal.evidence(10.0) > 0  # monotonic, and finite far in the tail
    assert math.isfinite(cal.evidence(1e3))


def test_fit_needs_two_scores():
    assert Calibration.fit(np.array([1.0]), "gallery").source == "nominal"
    fitted = Calibration.fit(np.array([1.0, 3.0]), "gallery")
    assert (fitted.mean, fitted.pairs) == (2.0, 2)


def test_fit_is_robust_to_a_few_genuine_pairs_among_impostors():
    rng = np.random.default_rng(3)
    impostor = rng.normal(0.0, 1.0, 400)
    clean = Calibration.fit(impostor, "gallery")
    assert clean.mean == pytest.approx(0.0, abs=0.15) and clean.std == pytest.approx(1.0, abs=0.15)
    poisoned = Calibration.fit(np.concatenate([impostor, [40.0, 40.0, 35.0, 38.0]]), "gallery")  # a duplicate identity
    assert poisoned.std == pytest.approx(clean.std, rel=0.05)
    assert poisoned.evidence(4.0) == pytest.approx(clean.evidence(4.0), rel=0.1)


def test_centering_removes_the_shared_channel_direction():
    keys, models, clip, _ = gallery(50)
    cohort = Cohort.from_models(keys, models)
    raw = models @ models.T
    centred = cohort.models @ cohort.models.T
    off = ~np.eye(len(keys), dtype=bool)
    assert raw[off].mean() > 0.2  # the channel makes every pair look alike
    assert abs(centred[off].mean()) < 0.05


def test_genuine_probes_outscore_impostors_and_the_threshold_means_what_it_says():
    keys, models, clip, stranger = gallery(60)
    stats = build(keys, models, "synthetic@0", fallback=([], np.zeros((0, DIM), np.float32)))
    assert stats.calibration.source == "gallery" and stats.calibration.pairs == 60 * 59
    genuine = [stats.score(clip(i), [keys[i]], models[[i]])[0].score for i in range(60)]
    impostor = [s.score for _ in range(50) for s in stats.score(stranger(), keys, models)]
    threshold = threshold_for(0.01)
    assert min(genuine) > np.percentile(impostor, 99)
    far = np.mean(np.array(impostor) >= threshold)
    assert 0.0025 <= far <= 0.03, far  # 1 % asked for, measured on 3,000 fresh impostor trials


def test_own_speaker_is_never_in_its_own_cohort():
    keys, models, clip, _ = gallery(20)
    stats = build(keys, models, "synthetic@0")
    probe = models[3]  # the enrolment itself: raw cosine 1 against s3
    with_own = score(probe, ["s3"], models[[3]], stats.cohort)[0]
    assert with_own.snorm > 5  # s3 is left out of both cohorts, so nothing explains the match away


def test_stats_round_trip_through_bytes():
    keys, models, _, _ = gallery(12)
    stats = build(keys, models, "synthetic@0")
    back = GalleryStats.from_bytes(stats.to_bytes())
    assert back.calibration == stats.calibration and back.speakers == 12 and back.params == stats.params
    assert np.allclose(back.cohort.models, stats.cohort.models) and back.cohort.keys == stats.cohort.keys


def test_fused_rows_keep_each_part_at_equal_weight():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(2, 192 + 256))
    a[:192] *= 50  # one part far longer than the other after centring
    ua, ub = l2_parts(a, (192, 256)), l2_parts(b, (192, 256))
    part_cosines = [float(l2(a[s]) @ l2(b[s])) for s in (slice(0, 192), slice(192, None))]
    assert math.isclose(float(np.linalg.norm(ua)), 1.0, rel_tol=1e-6)
    assert math.isclose(float(ua @ ub), np.mean(part_cosines), rel_tol=1e-6)
    assert np.allclose(l2_parts(a), l2(a))  # one model: plain normalisation


def test_fused_model_statistics_centre_each_part_and_keep_the_layout():
    parts = model_parts("fusion-ecapa-ge2e@73cb5b215015")
    assert parts == (192, 256) and model_parts("spkrec-ecapa-voxceleb@0575cb64845e") == ()
    rng = np.random.default_rng(4)
    keys, models = [f"s{i}" for i in range(12)], l2(rng.normal(size=(12, sum(parts)))).astype(np.float32)
    stats = build(keys, models, "fusion-ecapa-ge2e@73cb5b215015")
    assert stats.cohort.parts == parts
    assert np.allclose(np.linalg.norm(stats.cohort.models[:, :192], axis=1), 1 / math.sqrt(2), atol=1e-5)
    assert GalleryStats.from_bytes(stats.to_bytes()).cohort.parts == parts


def test_small_gallery_borrows_the_fallback_cohort():
    keys, models, _, _ = gallery(MIN_GALLERY_SPEAKERS - 1)
    extra_keys, extra, _, _ = gallery(30, seed=1)
    stats = build(keys, models, "synthetic@0", fallback=([f"cohort:{k}" for k in extra_keys], extra))
    assert stats.calibration.source == "gallery+cohort"
    assert stats.speakers == MIN_GALLERY_SPEAKERS - 1
    alone = build(keys, models, "synthetic@0", fallback=([], np.zeros((0, DIM), np.float32)))
    assert alone.calibration.source == "gallery"


ECAPA = "spkrec-ecapa-voxceleb@0575cb64845e"  # the default model ships measured cold-start margins


def test_cold_start_margins_shrink_as_the_gallery_grows_and_vanish_when_trusted():
    margins = [cold_start_margin(ECAPA, n) for n in range(TRUSTED_FROM + 2)]
    assert all(m > 0 for m in margins[:TRUSTED_FROM]) and margins[TRUSTED_FROM:] == [0.0, 0.0]
    assert margins == sorted(margins, reverse=True)  # 7 and 9 take the larger margin of 6 and 8
    assert cold_start_margin("unmeasured@0", 3) == 0.0


def test_a_cold_gallery_lowers_every_score_by_its_margin():
    keys, models, clip, _ = gallery(6)
    cold = build(keys, models, ECAPA)
    plain = build(keys, models, ECAPA, margins=False)
    assert cold.summary()["cold_start"] and cold.margin == cold_start_margin(ECAPA, 6) > 0
    probe = clip(2)
    got, ref = cold.score(probe, keys, models), plain.score(probe, keys, models)
    assert [a.score for a in got] == pytest.approx([b.score - cold.margin for b in ref])
    assert GalleryStats.from_bytes(cold.to_bytes()).margin == cold.margin
    warm = build(*gallery(TRUSTED_FROM)[:2], ECAPA)
    assert (warm.margin, warm.summary()["cold_start"]) == (0.0, False)


def test_empty_gallery_is_nominal():
    stats = build([], np.zeros((0, DIM), np.float32), "synthetic@0", fallback=([], np.zeros((0, DIM), np.float32)))
    assert stats.calibration.source == "nominal" and stats.speakers == 0


def shard_of(keys, models, stats) -> PreparedShard:
    shard = Shard(matrix=models, entries=tuple({"key": k, "speaker": k.upper(), "voiceprint_id": k} for k in keys))
    return PreparedShard.build(shard, stats, None)


def test_integrity_flags_a_file_of_someone_else():
    keys, models, clip, _ = gallery(30)
    stats = build(keys, models, "synthetic@0")
    shards = [shard_of(keys, models, stats)]
    assert check(clip(4), "s4", shards, stats, 0.01)["status"] == "ok"
    wrong = check(clip(7), "s4", shards, stats, 0.01)
    assert wrong["status"] == "mismatch" and wrong["score"] < wrong["threshold"]
    assert wrong["possible_duplicates"][0]["speaker"] == "S7"


def test_integrity_flags_a_new_name_for_an_enrolled_voice():
    keys, models, clip, stranger = gallery(30)
    stats = build(keys, models, "synthetic@0")
    shards = [shard_of(keys, models, stats)]
    dup = check(clip(9), "newcomer", shards, stats, 0.01)
    assert dup["status"] == "new_speaker" and [d["speaker"] for d in dup["possible_duplicates"]] == ["S9"]
    assert check(stranger(), "newcomer", shards, stats, 0.01)["possible_duplicates"] == []


def test_integrity_scores_only_the_nearest_speakers_of_each_shard_and_still_finds_them():
    keys, models, clip, _ = gallery(300)
    stats = build(keys, models, "synthetic@0")
    shards = [shard_of(keys[i::3], models[i::3], stats) for i in range(3)]
    dup = check(clip(151), "newcomer", shards, stats, 0.01)  # s151 is in the third shard
    assert [d["speaker"] for d in dup["possible_duplicates"]] == ["S151"]
    wrong = check(clip(7), "s4", shards, stats, 0.01)  # s4 is far from the probe: scored all the same
    assert wrong["status"] == "mismatch" and wrong["score"] is not None


def test_statistics_are_rebuilt_while_small_or_when_they_trail():
    keys, models, _, _ = gallery(30)
    stats = build(keys, models, "synthetic@0", voiceprints=1000)
    now = stats.built_at
    assert refresh_due(stats, REFRESH_ALWAYS_BELOW - 1, 1001, 300, now)  # small gallery: always
    assert not refresh_due(stats, 500, 1001, 300, now + 10)  # one more voiceprint, fresh statistics: kept
    assert refresh_due(stats, 500, 1001, 300, now + 300)  # ... until the window has passed
    assert not refresh_due(stats, 500, 1000, 300, now + 3000)  # nothing new: nothing to do
    assert refresh_due(stats, 500, 1011, 300, now + 10)  # 1 % of the gallery missing: at once
    assert not refresh_due(stats, 500, 1010, 300, now + 10)  # 10 of 1,010 is just under 1 %
    old = GalleryStats.from_bytes(stats.to_bytes())
    assert (old.voiceprints, old.built_at) == (1000, stats.built_at)


def test_identify_threshold_grows_with_the_gallery():
    assert identify_threshold(0.01, 1) == pytest.approx(2.0)
    assert identify_threshold(0.01, 45) == pytest.approx(3.651, abs=1e-3)  # about -log10(0.01 / 45) = 3.653
    assert identify_threshold(0.01, 1000) > identify_threshold(0.01, 45)
    per_comparison = 10 ** -identify_threshold(0.01, 45)
    assert 1 - (1 - per_comparison) ** 45 == pytest.approx(0.01)  # an unknown caller clears it for anyone at 1 %


def test_impostor_pairs_name_the_speakers_behind_each_impostor_score():
    from shared.scoring.normalization import impostor_pairs, impostor_scores

    rng = np.random.default_rng(7)
    models = l2(rng.standard_normal((8, 32)))
    models[5] = models[2]  # one voice enrolled under two names: the pair that must score highest
    keys = [f"s{i}" for i in range(8)]
    cohort = Cohort.from_models(keys, models)
    scores, pairs = impostor_scores(keys, models, cohort), impostor_pairs(keys)
    assert len(pairs) == len(scores) == 8 * 7 and all(i != j for i, j in pairs)
    assert {pairs[int(k)] for k in np.argsort(-scores)[:2]} == {(2, 5), (5, 2)}
    assert len(impostor_pairs(keys, max_speakers=4)) == 4 * 3
