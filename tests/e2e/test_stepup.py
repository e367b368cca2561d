"""Step-up end to end on a host of its own: a grey-band verification asks for a challenge, and the challenge works.

The session's host runs the defaults, where an honest reader's score is rarely in the grey band. This module
starts a second Azurite and host whose accept point is out of reach (VOICEID_TARGET_FAR 1e-300, a threshold of 300)
and whose grey band starts at a 30 % false-accept rate, so every verification of an enrolled voice lands in the
band: the default VOICEID_CHALLENGE=risk must answer it with a challenge. The caller (FSDD's jackson, real spoken
digits) then reads the digits and is accepted; a replay of the first recording as the answer is refused and counts
against the lockout, while the step-ups themselves never do.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace

import pytest

from shared.cli.connect import upload_and_wait
from shared.client.voiceid import VoiceId
from shared.core import contract
from shared.core.names import speaker_key
from shared.core.settings import Settings
from shared.localhost.process import HostProcess
from shared.pipeline import challenge, lockout
from tests.helpers import (
    FILLERS,
    FOLDER_SPEAKERS,
    HOST_ENV,
    SPLIT,
    assert_valid,
    enrol_clips,
    spoken_digits,
    start_azurite,
    write_wav,
)

pytestmark = pytest.mark.e2e

READER, NAME = "jackson", "Grey Reader"
ENV = {**HOST_ENV, "VOICEID_TARGET_FAR": "1e-300", "VOICEID_CHALLENGE_GREY_FAR": "0.3",
       "VOICEID_HOST_HTTP_PORT": "0"}


@pytest.fixture(scope="module")
def grey(kit, tmp_path_factory) -> VoiceId:
    """A host of its own with the grey band over every honest score, and the reader enrolled on it."""
    folder = tmp_path_factory.mktemp("stepup")
    azurite = start_azurite(folder / "azurite")
    host = HostProcess(azurite.connection_string, folder / "host.log", env=ENV).start()
    try:
        client = VoiceId(Settings.from_env({"AzureWebJobsStorage": azurite.connection_string, **ENV}))
        pairs = [(f"{NAME}/enrol-{take}.wav", write_wav(folder / f"enrol-{take}.wav",
                                                        spoken_digits(READER, "0123456789", take)))
                 for take in (0, 1, 2, 3, 4, 6)]
        pairs += [(f"reader-{r}.flac", SPLIT / r / "a.flac") for r in FILLERS]  # the session gallery's own readers
        pairs += [(f"{s}.flac", enrol_clips(s, 1)[0]) for s in FOLDER_SPEAKERS]
        docs = upload_and_wait(client, "enroll", pairs, wait=True, timeout_s=300)
        assert [d["status"] for d in docs] == ["ok"] * len(pairs), docs
        yield client
    finally:
        host.stop()
        azurite.stop()


def fix_digits(client: VoiceId, nonce: str, digits: str = "407193") -> str:
    """Store the issued challenge again with known digits (its expiry, nonce and reasons unchanged)."""
    issued = challenge.pending(client.storage, nonce)
    client.storage.write_json(contract.MATCH_STATE, challenge.blob_name(nonce), asdict(replace(issued, digits=digits)))
    return digits


def first_recording(tmp_path):
    return write_wav(tmp_path / "call.wav", spoken_digits(READER, "9876543210", 7))


def test_a_grey_band_verification_asks_for_a_challenge_that_then_works(grey, tmp_path):
    doc = grey.verify(first_recording(tmp_path), claim=NAME)
    assert (doc["status"], doc["decision"]) == ("ok", "challenge"), doc
    step = doc["step_up"]
    assert "score.grey_band" in step["reasons"] and step["upload_as"].startswith(f"identify/{NAME}/challenge-")
    assert grey.settings.challenge == "risk" and 0.52 < doc["score"] < doc["threshold"]
    assert step["digits"].isdigit()  # added by the client while the challenge is open; not in the stored result
    digits = fix_digits(grey, step["nonce"])
    stored = grey.storage.read_json(contract.RESULTS, contract.result_blob_name(contract.IDENTIFY,
                                                                                 doc["blob"].split("/", 1)[1]))
    assert "digits" not in stored["step_up"] and digits not in json.dumps(stored)
    assert_valid(stored)
    assert lockout._read(grey.storage, speaker_key(NAME))[0].failures == {}  # a step-up is not a failure
    answer = write_wav(tmp_path / "answer.wav", spoken_digits(READER, digits, 5))
    done = grey.verify(answer, claim=NAME, challenge=step["nonce"])
    assert (done["status"], done["decision"]) == ("ok", "accept"), (done["score"], doc["score"], done["calibration"])
    assert done["challenge"]["match"] is True and done["challenge"]["reasons"] == step["reasons"]
    assert done["score"] >= 0.52 and done["step_up"] is None
    assert_valid(done)
    assert challenge.pending(grey.storage, step["nonce"]).heard is not None  # kept with the digits, for an hour


def test_a_replay_of_the_first_recording_fails_the_challenge_and_counts(grey, tmp_path):
    recording = first_recording(tmp_path)
    doc = grey.verify(recording, claim=NAME)
    assert doc["decision"] == "challenge", doc
    replayed = grey.verify(recording, claim=NAME, challenge=doc["step_up"]["nonce"])
    assert (replayed["status"], replayed["error"]["code"]) == ("rejected", "challenge.mismatch"), replayed
    assert replayed["challenge"]["match"] is False
    assert_valid(replayed)
    state, _ = lockout._read(grey.storage, speaker_key(NAME))
    assert replayed["request_id"] in state.failures  # the failed answer counts, the step-up does not
    assert doc["request_id"] in state.challenges and doc["request_id"] not in state.failures
