"""``voiceid liveness train`` and ``voiceid liveness check`` on a small slice of the kit: the artefact and its use."""

from __future__ import annotations

import csv
import json

import pytest

from shared.liveness.model import LivenessModel
from tests.helpers import DATA, voiceid

PROTOCOL = DATA / "spoof" / "protocol.csv"


@pytest.fixture(scope="module")
def trained(kit, tmp_path_factory) -> tuple:
    rows = list(csv.DictReader(PROTOCOL.open()))
    live = [r for r in rows if r["label"] == "bonafide" and r["path"].startswith("librispeech-single/")][:10]
    shippable = [r for r in rows if r["generator"] in ("espeak/en", "tortoise")][::4][:10]
    internal = [r for r in rows if r["generator"] == "vits"][:3]  # "no licence file": must stay out
    folder = tmp_path_factory.mktemp("train")
    protocol = folder / "protocol.csv"
    with protocol.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(live + shippable + internal)
    out = folder / "liveness-test.npz"
    env = {"VOICEID_MODEL_CACHE": str(folder / "cache" / "models")}
    run = voiceid(None, "liveness", "train", "--protocol", str(protocol), "--root", str(DATA), "--out", str(out),
                  "--parts", "ecapa,ecapa_stats", "--name", "liveness-test", **env)
    assert run.returncode == 0, run.stderr
    return out, run, live, shippable, env


def test_the_artefact_holds_what_went_in_and_leaves_internal_clips_out(trained):
    out, run, live, shippable, _ = trained
    model = LivenessModel.read(out)
    assert model.parts == ("ecapa", "ecapa_stats") and model.name == "liveness-test"
    p = model.provenance
    assert (p["live_clips"], p["attack_clips"], p["left_out_for_licence"]) == (len(live), len(shippable), 3)
    assert set(p["attack_species"]) == {r["generator"] for r in shippable}
    assert p["speaker_model"].startswith("spkrec-ecapa-voxceleb@")
    assert model.calibration.live_scores.size == len(live)  # out-of-fold scores of every live clip
    assert out.stat().st_size < 200_000 and "3 clips left out for their licence" in run.stdout


def test_check_uses_the_artefact_and_calls_a_training_attack_an_attack(trained):
    out, _, live, shippable, env = trained
    attack_clip = DATA / shippable[0]["path"]
    run = voiceid(None, "liveness", "check", str(attack_clip), "--json", VOICEID_LIVENESS_MODEL=str(out),
                  VOICEID_LIVENESS_LIVE_SHARE="0.2", **env)
    assert run.returncode == 0, run.stderr
    [row] = json.loads(run.stdout)
    assert row["model"] == LivenessModel.read(out).id and row["decision"] == "attack", row


def test_a_protocol_without_attacks_is_refused_with_a_reason(kit, tmp_path):
    rows = [r for r in csv.DictReader(PROTOCOL.open()) if r["path"].startswith("librispeech-single/")][:3]
    protocol = tmp_path / "live-only.csv"
    with protocol.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    run = voiceid(None, "liveness", "train", "--protocol", str(protocol), "--root", str(DATA),
                  "--out", str(tmp_path / "x.npz"), VOICEID_MODEL_CACHE=str(tmp_path / "cache" / "models"))
    assert run.returncode != 0 and "both live (bonafide) and attack (spoof)" in run.stderr


def test_calibrate_on_live_callers_brings_their_refusals_to_the_target_share(kit, tmp_path):
    """``voiceid liveness calibrate``: the shipped back-end, calibrated on a channel's own live calls."""
    calls = sorted((DATA / "hyke-telephone").rglob("*.flac"))[::25][:6]
    out = tmp_path / "liveness-bank.npz"
    env = {"VOICEID_LIVENESS_LIVE_SHARE": "0.2", "VOICEID_MODEL_CACHE": str(tmp_path / "models")}
    too_few = voiceid(None, "liveness", "calibrate", str(calls[0]), "--out", str(out), **env)
    assert too_few.returncode != 0 and "needs at least 4" in too_few.stderr
    run = voiceid(None, "liveness", "calibrate", *map(str, calls), "--out", str(out), **env)
    assert run.returncode == 0, run.stderr
    model = LivenessModel.read(out)
    assert model.calibration.live_scores.size == len(calls)
    assert model.provenance["calibration"].startswith(f"deployment: {len(calls)} live clips")
    assert model.provenance["recalibrated_from"].startswith("liveness@")
    check = voiceid(None, "liveness", "check", *map(str, calls), "--json", VOICEID_LIVENESS_MODEL=str(out), **env)
    assert check.returncode == 0, check.stderr
    rows = json.loads(check.stdout)
    assert {r["model"] for r in rows} == {model.id}
    assert sum(r["decision"] == "attack" for r in rows) <= 0.2 * len(calls)  # its own calls: at most the share
