"""`voiceid watch` follows results live: a new identification shows up as one aligned line."""

from __future__ import annotations

import signal
import subprocess
import threading
import time

from tests.helpers import clips, voiceid


def test_watch_prints_each_new_result_as_it_appears(azurite, client, enrolled):
    proc = voiceid(azurite, "watch", "--prefix", "identify/", "--last", "0", "--interval", "0.3", wait=False)
    lines: list[str] = []
    errors: list[str] = []  # drained as well: a full stderr pipe would block the process and its Ctrl-C exit
    for stream, into in ((proc.stdout, lines), (proc.stderr, errors)):
        threading.Thread(target=lambda s=stream, out=into: out.extend(iter(s.readline, "")), daemon=True).start()
    try:
        deadline = time.time() + 60
        while len(lines) < 2 and time.time() < deadline:
            time.sleep(0.1)
        assert lines and lines[0].split() == ["time", "kind", "status", "decision", "speaker", "score", "file"], errors
        assert len(lines) == 2, "--last 0 shows no past result"
        doc = client.identify(clips("2033")[-1])
        verdict = client.verify(clips("1998")[-1], "1998")
        deadline = time.time() + 30
        while len(lines) < 4 and time.time() < deadline:
            time.sleep(0.1)
        new = lines[2:]
        assert len(new) == 2, new
        assert doc["blob"].split("/", 1)[1] in new[0] and "identify" in new[0] and "2033" in new[0]
        assert verdict["blob"].split("/", 1)[1] in new[1] and "verify" in new[1] and "accept" in new[1]
        header = lines[0]
        for line in new:  # live lines keep the header's columns
            assert line.index("identify" if "identify " in line else "verify") == header.index("kind")
            assert line[header.index("decision") - 2:header.index("decision")] == "  "
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError(f"watch did not stop within 30 s of Ctrl-C; stderr: {''.join(errors)[-2000:]}")
    assert code == 130, "".join(errors)
