"""``voiceid eval liveness`` on a handful of the kit's live and attack clips: the scores file and the report."""

from __future__ import annotations

import csv
import json
import math

import pytest

from shared.audio.decode import decode
from shared.evaluation.liveness import Presentation, read_protocol
from shared.liveness.detector import AasistDetector
from tests.helpers import DATA, TEAM_KIT_MODELS, voiceid

PROTOCOL = DATA / "spoof" / "protocol.csv"


@pytest.fixture(scope="module")
def small_protocol(kit, tmp_path_factory) -> tuple:
    rows = list(csv.DictReader(PROTOCOL.open()))
    picked = [r for r in rows if r["label"] == "bonafide"][::300][:3] + [r for r in rows if r["label"] == "spoof"][::200][:3]
    path = tmp_path_factory.mktemp("liveness") / "protocol.csv"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["extra", "generator", "label", "path"])  # other order, extra column
        writer.writeheader()
        writer.writerows({"extra": "x", **{k: r[k] for k in ("generator", "label", "path")}} for r in picked)
    return path, picked


def test_the_scores_file_has_one_line_per_clip_in_order_and_a_report(small_protocol, tmp_path):
    protocol, picked = small_protocol
    out = tmp_path / "spoof.scores"
    args = ("eval", "liveness", str(protocol), "--root", str(DATA), "--out", str(out), "--detector", "AASIST")
    cache = {"VOICEID_MODEL_CACHE": str(tmp_path / "cache" / "models")}
    run = voiceid(None, *args, **cache)
    assert run.returncode == 0, run.stderr
    lines = [line.split() for line in out.read_text().splitlines()]
    assert [(label, gen, path) for _, label, gen, path, _ in lines] == \
        [(r["label"], r["generator"], r["path"]) for r in picked]
    assert {decision for *_, decision in lines} <= {"live", "attack", "inconclusive"}
    detector = AasistDetector(TEAM_KIT_MODELS / "aasist")
    first = decode((DATA / picked[0]["path"]).read_bytes(), max_seconds=600, timeout_s=60).samples
    assert float(lines[0][0]) == pytest.approx(detector.attack_score(first), abs=1e-4)  # the product's decoder
    assert all((float(s) >= 0) == (d == "attack") for s, *_, d in lines)  # the published model's threshold, 0
    report = json.loads(out.with_name("spoof.scores.json").read_text())
    assert (report["attacks"], report["live"]) == (3, 3)
    assert set(report["apcer"]) == {r["generator"] for r in picked if r["label"] == "spoof"}
    assert "EER" in run.stdout and "worst species" in run.stdout and "BPCER per live corpus" in run.stdout
    again = voiceid(None, *args, **cache)
    assert again.returncode == 0 and out.read_text().splitlines() == [" ".join(ln) for ln in lines]  # from the cache


def test_a_protocol_without_the_columns_says_which(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("file,label\na.flac,spoof\n")
    with pytest.raises(Exception, match="no column generator, path"):
        read_protocol(bad)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("path,label,generator\na.flac,fake,x\n")
    with pytest.raises(Exception, match="neither spoof nor bonafide"):
        read_protocol(wrong)
    assert Presentation("hyke-telephone/M_1/a.flac", "bonafide", "human").corpus == "hyke-telephone"
    assert Presentation("spoof/bonafide/x/a.flac", "bonafide", "human+channel").corpus == "spoof/human+channel"


def test_the_product_detector_is_the_default_and_decides_at_the_live_share(small_protocol, tmp_path):
    protocol, picked = small_protocol
    out = tmp_path / "product.scores"
    run = voiceid(None, "eval", "liveness", str(protocol), "--root", str(DATA), "--out", str(out),
                  VOICEID_MODEL_CACHE=str(tmp_path / "cache" / "models"), VOICEID_LIVENESS_LIVE_SHARE="0.05")
    assert run.returncode == 0, run.stderr
    report = json.loads(out.with_name("product.scores.json").read_text())
    assert report["detector"].startswith("liveness@")
    threshold = -math.log10(0.05)
    for score, *_, decision in (line.split() for line in out.read_text().splitlines()):
        assert (float(score) >= threshold) == (decision == "attack")  # the calibrated score and its threshold
        assert 0 <= float(score) <= 3.0


def test_a_protocol_of_live_speech_only_reports_bpcer_alone(small_protocol, tmp_path):
    """What a bank has when it checks its false refusals: its own live calls, no attacks. No EER, no traceback."""
    protocol, picked = small_protocol
    live_only = tmp_path / "live.csv"
    rows = list(csv.DictReader(protocol.open()))
    with live_only.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(r for r in rows if r["label"] == "bonafide")
    out = tmp_path / "live.scores"
    run = voiceid(None, "eval", "liveness", str(live_only), "--root", str(DATA), "--out", str(out),
                  VOICEID_MODEL_CACHE=str(tmp_path / "cache" / "models"))
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr and "live speech only: BPCER alone" in run.stdout
    report = json.loads(out.with_name("live.scores.json").read_text())
    assert (report["attacks"], report["live"], report["eer"], report["apcer_pooled"]) == (0, 3, None, None)
    decisions = [line.split()[-1] for line in out.read_text().splitlines()]
    assert report["bpcer"] == pytest.approx(100 * decisions.count("attack") / 3)
    assert "BPCER per live corpus" in run.stdout and not out.with_name("live.scores.det.png").exists()
