"""End-to-end fixtures: a real Azurite, the real local host process, the real model, real speech.

Azurite and the host are started once per test session on free ports, so a
developer's own Azurite on 10000 is never touched. Speech comes from the team kit
in ../shared/data; without it these tests are skipped with that reason.
"""

from __future__ import annotations

import pytest

from shared.cli.connect import upload_and_wait
from shared.client.voiceid import VoiceId
from shared.core.settings import Settings
from shared.localhost.azurite import Azurite
from shared.localhost.process import HostProcess
from tests.helpers import (
    FILE_SPEAKER,
    FILLERS,
    FOLDER_SPEAKERS,
    HOST_ENV,
    SPLIT,
    enrol_clips,
    start_azurite,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def azurite(tmp_path_factory, kit) -> Azurite:
    server = start_azurite(tmp_path_factory.mktemp("azurite"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def host(azurite, tmp_path_factory) -> HostProcess:
    proc = HostProcess(azurite.connection_string, tmp_path_factory.mktemp("host") / "host.log", env=HOST_ENV).start()
    yield proc
    code = proc.stop()
    assert code == 0, f"host did not stop cleanly on SIGTERM (exit {code}); log: {proc.log_path}"


@pytest.fixture(scope="session")
def client(azurite, host) -> VoiceId:
    return VoiceId(Settings.from_env({"AzureWebJobsStorage": azurite.connection_string, **HOST_ENV}))


@pytest.fixture(scope="session")
def enrolled(client) -> dict[str, list[dict]]:
    """Three speakers enrolled by folder (3 clips each), one by a single file named after them, six fillers."""
    pairs = [(f"{s}/{f.name}", f) for s in FOLDER_SPEAKERS for f in enrol_clips(s, 3)]
    pairs.append((f"{FILE_SPEAKER}.flac", enrol_clips(FILE_SPEAKER, 1)[0]))
    pairs += [(f"reader-{r}.flac", SPLIT / r / "a.flac") for r in FILLERS]
    docs = upload_and_wait(client, "enroll", pairs, wait=True, timeout_s=300)
    by_speaker: dict[str, list[dict]] = {}
    for doc in docs:
        by_speaker.setdefault(doc.get("speaker") or doc["blob"], []).append(doc)
    return by_speaker
