"""``make demo``: the whole product on real speech, from a cold start to a results table.

Starts a fresh Azurite (data in .azurite/demo) and the local host, enrols speakers
(some by folder, one by a single file named after them), identifies held-back
clips, a never-enrolled speaker, a true claim and a false claim, prints the
results and stops what it started. Exit status 1 if any decision is wrong.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from shared.client.bulk import is_audio
from shared.client.voiceid import VoiceId, unique_probe_name
from shared.core import contract
from shared.core.paths import project_root, team_kit
from shared.core.settings import Settings
from shared.localhost.azurite import Azurite
from shared.localhost.process import HostProcess
from shared.results.table import format_table, result_row
from shared.scoring.calibration import threshold_for

DEMO_PORTS = (10010, 10011, 10012)  # not the defaults, so a developer's own Azurite is left alone
ENROL_CLIPS = 3
FOLDER_SPEAKERS = 4


def clips(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if is_audio(p))


def longest_first(files: list[Path]) -> list[Path]:
    """Enrol from the longest recordings: enrolment needs more net speech than a probe."""
    return sorted(files, key=lambda p: p.stat().st_size, reverse=True)


def plan(audio: Path, unknown: Path | None) -> tuple[list[tuple[str, str, Path]], list[tuple[str, Path, str]]]:
    """(container blob, expected, file) uploads: enrolments first, then probes with the expected answer."""
    speakers = [d for d in sorted(audio.iterdir()) if d.is_dir() and len(clips(d)) >= 3]
    if len(speakers) < 3:
        raise SystemExit(f"demo: {audio} needs at least 3 speaker folders with 3+ clips each")
    if unknown is None:  # keep the last speaker of AUDIO back as the never-enrolled one
        unknown_clip, speakers = clips(speakers[-1])[-1], speakers[:-1]
    else:
        unknown_clip = clips(next(d for d in sorted(unknown.iterdir()) if d.is_dir() and clips(d)))[0]
    enrolled = speakers[:FOLDER_SPEAKERS + 1]
    enrol: list[tuple[str, str, Path]] = []
    for i, d in enumerate(enrolled):
        files = longest_first(clips(d)[:-2])  # the last two clips are held back as probes
        if i < len(enrolled) - 1:  # by folder: enroll/<speaker>/<file>
            enrol += [(f"{d.name}/{f.name}", d.name, f) for f in files[:ENROL_CLIPS]]
        else:  # by single file named after the speaker: enroll/<speaker>.<ext>
            enrol.append((f"{d.name}{files[0].suffix}", d.name, files[0]))
    # Every other speaker of AUDIO is enrolled with one clip: a gallery calibrates itself from 10 speakers
    # and fails closed below that (docs/accuracy.md), so the demo seeds it as a deployment should.
    for d in speakers[len(enrolled):]:
        f = longest_first(clips(d)[:-2])[0]
        enrol.append((f"{d.name}/{f.name}", d.name, f))
    probes = [(f"{unique_probe_name(clips(d)[-1])}", clips(d)[-1], d.name) for d in enrolled]
    probes.append((unique_probe_name(unknown_clip), unknown_clip, "unknown"))
    a, b = enrolled[0], enrolled[1]
    probes.append((f"{a.name}/{unique_probe_name(clips(a)[-2])}", clips(a)[-2], "accept"))
    probes.append((f"{a.name}/{unique_probe_name(clips(b)[-2])}", clips(b)[-2], "reject"))
    return enrol, probes


def run_demo(audio: Path | None, unknown: Path | None) -> int:
    root = project_root()
    kit = (team_kit() or root.parent / "shared") / "data"
    audio = audio or kit / "librispeech-multi"
    if unknown is None and audio == kit / "librispeech-multi" and (kit / "librispeech-single").is_dir():
        unknown = kit / "librispeech-single"
    if not audio.is_dir():
        raise SystemExit(f"demo: no audio at {audio}; run 'make demo AUDIO=DIR' with a folder of speaker folders")
    enrol, probes = plan(audio, unknown)
    data = root / ".azurite" / "demo"
    shutil.rmtree(data, ignore_errors=True)
    started = time.time()
    azurite = Azurite(data, *DEMO_PORTS).start()
    host = HostProcess(azurite.connection_string, root / ".voiceid" / "demo-host.log")
    try:
        print(f"Azurite on 127.0.0.1:{DEMO_PORTS[0]}; starting the host (log: {host.log_path})", flush=True)
        host.start()
        client = VoiceId(Settings.from_env({"AzureWebJobsStorage": azurite.connection_string}))
        return _story(client, enrol, probes, started)
    finally:
        host.stop()
        azurite.stop()


def _story(client: VoiceId, enrol, probes, started: float) -> int:
    from shared.cli.connect import upload_and_wait

    print(f"enrolling {len({s for _, s, _ in enrol})} speakers from {len(enrol)} files", flush=True)
    docs = upload_and_wait(client, contract.ENROLL, [(b, f) for b, _, f in enrol], wait=True, timeout_s=300)
    print(f"identifying {len(probes)} probes", flush=True)
    docs += upload_and_wait(client, contract.IDENTIFY, [(b, f) for b, f, _ in probes], wait=True, timeout_s=300)
    expected = [s for _, s, _ in enrol] + [e for _, _, e in probes]
    rows, wrong = [], 0
    for doc, exp in zip(docs, expected):
        got = _answer(doc)
        wrong += got != exp
        _, _, _, _, speaker, score = result_row(doc)
        rows.append([doc["blob"], doc["kind"], doc["status"], got, speaker, score, exp, "yes" if got == exp else "NO"])
    print()
    print(format_table(("file", "kind", "status", "decision", "speaker", "score", "expected", "right"), rows))
    print(f"\n{len(rows) - wrong}/{len(rows)} right in {time.time() - started:.1f} s "
          f"(score threshold {threshold_for(client.settings.target_far):.1f} = target FAR {client.settings.target_far:g})")
    return 1 if wrong else 0


def _answer(doc: dict) -> str:
    if doc["status"] != "ok":
        return doc["status"]
    return doc.get("speaker") if doc["kind"] == "enroll" else doc.get("decision")


if __name__ == "__main__":
    sys.exit(run_demo(None, None))
