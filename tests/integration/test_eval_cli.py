"""``voiceid eval``: the harness end to end on real speech, with the real model and a fresh cache."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from shared.evaluation.trials import genders, read_trials
from tests.helpers import voiceid

SPEAKERS = ["1688", "1998", "2033", "2414", "3005", "533"]


def run_cli(*args: str, cache: Path) -> subprocess.CompletedProcess:
    return voiceid(None, "eval", *args, VOICEID_MODEL_CACHE=str(cache / "models"))


@pytest.fixture(scope="module")
def trial_file(kit, tmp_path_factory) -> Path:
    """Two enrol files per speaker (joined with ','), two test files each, every speaker against every model."""
    lines = []
    for test_spk in SPEAKERS:
        for test in sorted((kit / "librispeech-multi" / test_spk).glob("*.flac"))[-2:]:
            for enrol_spk in SPEAKERS:
                enrol = sorted((kit / "librispeech-multi" / enrol_spk).glob("*.flac"))[:2]
                rel = ",".join(str(p.relative_to(kit)) for p in enrol)
                lines.append(f"{int(test_spk == enrol_spk)} {rel} {test.relative_to(kit)}")
    path = tmp_path_factory.mktemp("trials") / "multi.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_eval_trials_scores_every_trial_in_order_and_reports(kit, trial_file, tmp_path):
    out = tmp_path / "multi.scores"
    first = run_cli("trials", str(trial_file), "--root", str(kit), "--out", str(out), cache=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    trials = read_trials(trial_file)
    lines = out.read_text().splitlines()
    assert len(lines) == len(trials) == 72
    for line, trial in zip(lines, trials):
        score, label, enrol, test, decision = line.split()
        assert (int(label), enrol, test) == (trial.label, ",".join(trial.enrol), trial.test)
        assert decision in ("0", "1")
    report = json.loads(Path(f"{out}.json").read_text())
    assert report["product"]["eer"] < 10  # six clean LibriSpeech readers: near-perfect separation
    assert report["calibration"]["speakers"] == len(SPEAKERS)
    assert set(report["per_gender"]) == {"F", "M"}
    assert Path(f"{out}.det.png").read_bytes()[:4] == b"\x89PNG"
    assert "EER" in first.stdout and "FAR" in first.stdout
    again = run_cli("trials", str(trial_file), "--root", str(kit), "--out", str(out), cache=tmp_path)
    assert again.returncode == 0 and out.read_text().splitlines() == lines  # cached: same scores


def test_eval_openset_reports_top1_and_own_decision(kit, tmp_path):
    spec = {"gallery": {s: [f"librispeech-multi/{s}/{sorted((kit / 'librispeech-multi' / s).glob('*.flac'))[0].name}"]
                        for s in SPEAKERS[:5]},
            "probes": [{"path": str(sorted((kit / "librispeech-multi" / s).glob("*.flac"))[-1].relative_to(kit)),
                        "speaker": s if s in SPEAKERS[:5] else None} for s in SPEAKERS]}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    report = tmp_path / "open.json"
    done = run_cli("openset", str(path), "--root", str(kit), "--report", str(report), cache=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    r = json.loads(report.read_text())
    assert (r["known_probes"], r["unknown_probes"]) == (5, 1)
    assert r["top1"] == 100.0
    assert "product's own decision" in done.stdout


def test_bad_trial_line_is_a_clear_error(kit, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("yes a.flac b.flac\n")
    done = run_cli("trials", str(bad), "--root", str(kit), "--out", str(tmp_path / "s"), cache=tmp_path)
    assert done.returncode == 2 and "expected 'label enrol test'" in done.stderr


def test_genders_come_from_the_kit(kit):
    g = genders(kit)
    assert g["1688"] in ("F", "M") and g["F_1298653986"] == "F"
