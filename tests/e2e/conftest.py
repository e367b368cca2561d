"""End-to-end fixtures: a real Azurite, the real local host process, the real model, real speech.

Azurite and the host are started once per test session on free ports, so a
developer's own Azurite on 10000 is never touched. Speech comes from the team kit
in ../shared/data; without it these tests are skipped with that reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shared.storage import sealing
from shared.localhost.azurite import Azurite, free_port
from shared.client.voiceid import VoiceId
from shared.gallery.shards import Voiceprint, voiceprint_id
from shared.localhost.process import HostProcess
from shared.core.names import speaker_key
from shared.core.records import BlobInput
from shared.embedding.frontend import embed_input
from shared.core.settings import Settings
from tests.conftest import DATA, enrol_clips

pytestmark = pytest.mark.e2e
# The test host's limits are lowered so that the limit tests upload small files. Voiceprints are sealed
# as in production, with a key made for this session (never a key written in the repository); the test
# process holds it too, so that in-process galleries and the hosts these tests start open the same blobs.
os.environ.setdefault(sealing.ENV, sealing.new_key_entry("e2e-session"))
HOST_ENV = {"VOICEID_MAX_AUDIO_BYTES": "4000000", "VOICEID_MAX_AUDIO_SECONDS": "120",
            sealing.ENV: os.environ[sealing.ENV]}


def start_azurite(where: Path, **kwargs) -> Azurite:
    """An Azurite of a test's own, on free ports (``kwargs``: e.g. ``account=(name, key)``)."""
    return Azurite(where, free_port(), free_port(), free_port(), **kwargs).start()


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


FOLDER_SPEAKERS = ("1688", "1998", "2033")
FILE_SPEAKER = "2414"
# Six more readers (one file each) bring the gallery to the 10 speakers from which it calibrates itself;
# below that the product fails closed with a measured cold-start margin (docs/accuracy.md).
SPLIT = DATA / "librispeech-split"
FILLERS = tuple(sorted(p.name for p in SPLIT.iterdir() if p.is_dir())[20:26]) if SPLIT.is_dir() else ()


@pytest.fixture(scope="session")
def enrolled(client) -> dict[str, list[dict]]:
    """Three speakers enrolled by folder (3 clips each), one by a single file named after them, six fillers."""
    from shared.cli.connect import upload_and_wait

    pairs = [(f"{s}/{f.name}", f) for s in FOLDER_SPEAKERS for f in enrol_clips(s, 3)]
    pairs.append((f"{FILE_SPEAKER}.flac", enrol_clips(FILE_SPEAKER, 1)[0]))
    pairs += [(f"reader-{r}.flac", SPLIT / r / "a.flac") for r in FILLERS]
    docs = upload_and_wait(client, "enroll", pairs, wait=True, timeout_s=300)
    by_speaker: dict[str, list[dict]] = {}
    for doc in docs:
        by_speaker.setdefault(doc.get("speaker") or doc["blob"], []).append(doc)
    return by_speaker


GALLERY_SPEAKERS = ("1688", "1998", "2033", "2414", "3005")


def eleven_voiceprints(settings: Settings) -> list[Voiceprint]:
    """One real voiceprint each of five kit speakers and the six fillers: enough speakers (ten) for the gallery
    to calibrate itself, embedded in-process so a test can write them straight into a gallery (no host needed)."""
    paths = [(s, enrol_clips(s, 1)[0]) for s in GALLERY_SPEAKERS] + [(f"reader-{r}", SPLIT / r / "a.flac")
                                                                      for r in FILLERS]
    vps = []
    for speaker, path in paths:
        emb = embed_input(BlobInput("enroll", f"{speaker}/{path.name}", '"x"', path.read_bytes()), settings,
                          min_speech_s=settings.min_speech_enroll_s)
        vps.append(Voiceprint(voiceprint_id=voiceprint_id("enroll", f"{speaker}/{path.name}"),
                              key=speaker_key(speaker), speaker=speaker, embedding=emb.vector))
    return vps
