"""`voiceid report` opened in a real headless Chromium: the page shows the numbers storage holds."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess

import pytest

from tests.helpers import MULTI, clips, voiceid

READERS = ("1688", "1998", "2033", "2414")


def chromium() -> str:
    found = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)),
                 None)
    if found is None:
        reason = "no Chromium for the browser test: apt-get install chromium (.ci/run does)"
        if os.environ.get("VOICEID_REQUIRE_KIT"):
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def voiceid_ok(azurite, *args: str) -> subprocess.CompletedProcess:
    run = voiceid(azurite, *args, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    return run


def rendered(browser: str, page, tmp_path) -> str:
    """The DOM after Chromium loaded and laid out the page (file://, no network)."""
    run = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                          f"--user-data-dir={tmp_path / 'chromium'}", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "<html" in run.stdout, run.stderr[-2000:]
    return run.stdout


def value(dom: str, key: str) -> str:
    m = re.search(rf'data-k="{re.escape(key)}"[^>]*>([^<]*)<', dom)
    assert m, f"{key} not on the page"
    return m.group(1).strip()


def row_count(dom: str, key: str) -> int:
    m = re.search(rf'<tr data-k="{re.escape(key)}">(.*?)</tr>', dom)
    assert m, f"no row {key}"
    return int(re.findall(r"<td[^>]*>([^<]*)</td>", m.group(1))[-1])


def test_report_page_shows_gallery_decisions_scores_and_the_det_curve(azurite, client, enrolled, tmp_path):
    browser = chromium()
    client.verify(clips("1998")[-1], "1998")
    client.verify(clips("2033")[-1], "1998")
    client.identify(clips("1688")[-1])
    trials = tmp_path / "trials.txt"
    lines = []
    for r in READERS:
        enrol = clips(r)[0].relative_to(MULTI.parent)
        lines += [f"1 {enrol} {c.relative_to(MULTI.parent)}" for c in clips(r)[-2:]]
        lines += [f"0 {enrol} {clips(o)[-1].relative_to(MULTI.parent)}" for o in READERS if o != r]
    trials.write_text("\n".join(lines) + "\n")
    ev = voiceid_ok(azurite, "eval", "trials", str(trials), "--root", str(MULTI.parent), "--out", str(tmp_path / "s"))
    assert "kept as the latest evaluation" in ev.stdout
    evaluation = json.loads((tmp_path / "s.json").read_text())

    page = tmp_path / "out" / "report.html"
    run = voiceid_ok(azurite, "report", "--out", str(page))
    assert "wrote" in run.stdout
    assert stat.S_IMODE(page.stat().st_mode) == 0o600  # it names speakers
    dom = rendered(browser, page, tmp_path)

    speakers = {}
    for row in client.speakers():
        speakers.setdefault(row["model_id"], set()).add(row["speaker"].casefold())
    assert int(value(dom, "speakers")) == max(len(s) for s in speakers.values())
    docs = [client.storage.read_json("results", i.name) for i in client.storage.list("results", "identify/")]
    verify = [d for d in docs if d and d.get("kind") == "verify" and d.get("status") == "ok"]
    assert row_count(dom, "decision:verify:accept") == sum(d["decision"] == "accept" for d in verify) >= 1
    assert row_count(dom, "decision:verify:reject") == sum(d["decision"] == "reject" for d in verify) >= 1
    assert int(value(dom, "window")) == len([d for d in docs if d])
    assert value(dom, "eval:eer") == f"{evaluation['product']['eer']:.2f}"
    assert value(dom, "eval:trials") == str(len(lines))
    assert value(dom, "eval:far") == f"{evaluation['product']['at_threshold']['far']:.2f}"
    assert dom.count("<svg") >= 3, "the two score histograms and the DET curve are drawn"
    assert "<script" not in dom and not re.search(r'(src|href)="https?:', dom), "the page loads nothing"
