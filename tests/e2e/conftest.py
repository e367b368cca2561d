"""End-to-end fixtures: a real Azurite, the real local host process, the real model, real speech.

Azurite and the host are started once per test session on free ports, so a
developer's own Azurite on 10000 is never touched. Speech comes from the team kit
in ../shared/data; without it these tests are skipped with that reason.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from shared.azurite import Azurite
from shared.client import VoiceId
from shared.localhost.process import HostProcess
from shared.settings import PROJECT_ROOT, Settings

DATA = PROJECT_ROOT.parent / "shared" / "data"
MULTI = DATA / "librispeech-multi"
SINGLE = DATA / "librispeech-single"

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clips(speaker: str) -> list[Path]:
    return sorted((MULTI / speaker).glob("*.flac"))


@pytest.fixture(scope="session")
def kit() -> Path:
    if not MULTI.is_dir() or not SINGLE.is_dir():
        reason = f"team kit speech not found at {DATA} (clone with ../shared beside the checkout)"
        if os.environ.get("VOICEID_REQUIRE_KIT"):  # CI: end-to-end tests must run, never silently skip
            pytest.fail(reason)
        pytest.skip(reason)
    return DATA


@pytest.fixture(scope="session")
def azurite(tmp_path_factory, kit) -> Azurite:
    server = Azurite(tmp_path_factory.mktemp("azurite"), free_port(), free_port(), free_port()).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def host(azurite, tmp_path_factory) -> HostProcess:
    proc = HostProcess(azurite.connection_string, tmp_path_factory.mktemp("host") / "host.log").start()
    yield proc
    code = proc.stop()
    assert code == 0, f"host did not stop cleanly on SIGTERM (exit {code}); log: {proc.log_path}"


@pytest.fixture(scope="session")
def client(azurite, host) -> VoiceId:
    return VoiceId(Settings.from_env({"AzureWebJobsStorage": azurite.connection_string}))


FOLDER_SPEAKERS = ("1688", "1998", "2033")
FILE_SPEAKER = "2414"


@pytest.fixture(scope="session")
def enrolled(client) -> dict[str, list[dict]]:
    """Three speakers enrolled by folder (3 clips each) and one by a single file named after them."""
    from shared.cli import upload_and_wait

    pairs = [(f"{s}/{f.name}", f) for s in FOLDER_SPEAKERS for f in clips(s)[:3]]
    pairs.append((f"{FILE_SPEAKER}.flac", clips(FILE_SPEAKER)[0]))
    docs = upload_and_wait(client, "enroll", pairs, wait=True, timeout_s=300)
    by_speaker: dict[str, list[dict]] = {}
    for doc in docs:
        by_speaker.setdefault(doc.get("speaker") or doc["blob"], []).append(doc)
    return by_speaker
