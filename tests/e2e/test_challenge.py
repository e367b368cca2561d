"""Text-prompted verification end to end: the host, the real models and real spoken digits (FSDD).

A caller enrolled from their own recordings reads a challenge's digits: accepted, with the digits
heard. Other digits, a re-used nonce, an expired one or one issued for another name fail with their
own codes, and the wrong digits count against the claim's lockout. The challenge comes from the CLI
(``voiceid challenge``) and from the HTTP API, whose route needs a function key.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, replace

import numpy as np
import pytest
import requests

from shared.core import contract
from shared.core.names import speaker_key
from shared.localhost.functionkeys import FunctionKeys
from shared.pipeline import challenge, lockout
from tests.helpers import spoken_digits, voiceid, write_wav

pytestmark = pytest.mark.e2e

READER, NAME = "jackson", "Digit Reader"
DIGITS = "407193"  # fixed here to be repeatable (issued ones are random); bench/challenge_digits.py measures many


@pytest.fixture(scope="module")
def reader(client, tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("digits")
    for take in (0, 1, 2, 3, 4, 6):  # every digit, six takes (not 5, the answer's): about 25 s of speech
        path = write_wav(folder / f"enrol-{take}.wav", spoken_digits(READER, "0123456789", take))
        doc = client.wait_result("enroll", f"{NAME}/enrol-{take}.wav",
                                 client.upload("enroll", f"{NAME}/enrol-{take}.wav", path), timeout_s=180)
        assert doc["status"] == "ok", doc
    return NAME


def fixed_challenge(client, name: str, digits: str = DIGITS, ttl_s: float = 120.0) -> str:
    """A challenge for ``name`` with known digits, stored exactly as ``challenge.issue`` stores one."""
    issued = replace(challenge.issue(client.storage, name, client.settings), digits=digits,
                     expires_at=time.time() + ttl_s)
    client.storage.write_json(contract.MATCH_STATE, challenge.blob_name(issued.nonce), asdict(issued))
    return issued.nonce


@pytest.fixture(scope="module")
def answer(tmp_path_factory) -> object:
    return write_wav(tmp_path_factory.mktemp("answer") / "answer.wav", spoken_digits(READER, DIGITS, 5))


def test_the_right_digits_in_the_right_voice_are_accepted(reader, client, answer):
    doc = client.verify(answer, claim=reader, challenge=fixed_challenge(client, reader))
    assert (doc["status"], doc["decision"]) == ("ok", "accept"), doc
    assert doc["challenge"]["match"] is True and doc["challenge"]["nonce"] in doc["blob"]
    assert doc["liveness"]["decision"] != "attack"
    assert DIGITS not in json.dumps(doc)  # the digits stay in the challenge's state, out of the 30-day result
    state = json.loads(client.storage.read(contract.MATCH_STATE,
                                           challenge.blob_name(doc["challenge"]["nonce"]))[0])
    assert state["digits"] == DIGITS and state["used_by"] == doc["request_id"] and state["heard"]


def test_other_digits_fail_and_count_against_the_claim(reader, client, answer):
    doc = client.verify(answer, claim=reader, challenge=fixed_challenge(client, reader, digits="555123"))
    assert (doc["status"], doc["error"]["code"]) == ("rejected", "challenge.mismatch"), doc
    assert doc["challenge"]["match"] is False and "555123" not in json.dumps(doc)
    state, _ = lockout._read(client.storage, speaker_key(reader))
    assert doc["request_id"] in state.failures


def test_a_nonce_works_once_in_time_and_for_its_name_only(reader, client, answer):
    nonce = fixed_challenge(client, reader)
    assert client.verify(answer, claim=reader, challenge=nonce)["status"] == "ok"
    again = client.verify(answer, claim=reader, challenge=nonce)
    assert (again["status"], again["error"]["code"]) == ("rejected", "challenge.used")
    late = client.verify(answer, claim=reader, challenge=fixed_challenge(client, reader, ttl_s=-1))
    assert late["error"]["code"] == "challenge.expired"
    other = client.verify(answer, claim="1688", challenge=fixed_challenge(client, reader))
    assert other["error"]["code"] == "challenge.wrong_speaker"
    unknown = client.verify(answer, claim=reader, challenge="f" * 32)
    assert unknown["error"]["code"] == "challenge.unknown"


def test_the_cli_and_the_api_issue_challenges_and_the_route_needs_a_key(reader, client, host, azurite):
    run = voiceid(azurite, "challenge", NAME, "--json")
    assert run.returncode == 0, run.stderr
    issued = json.loads(run.stdout)
    assert len(issued["digits"]) == client.settings.challenge_digits and issued["claim"] == NAME
    key = FunctionKeys(client.storage).function_keys("http_api")["default"]
    url = f"{host.api_url}/challenge/{NAME}"
    assert requests.post(url, timeout=30).status_code == 401
    got = requests.post(url, headers={"x-functions-key": key}, timeout=30)
    assert got.status_code == 201 and got.json()["nonce"] != issued["nonce"]
    assert np.all([c.isdigit() for c in got.json()["digits"]])
