"""Challenges on the in-memory storage: once, in time, for one name; the API route and the upload name."""

from __future__ import annotations

import re

import pytest

from shared.api.http import ApiRequest
from shared.api.routes import handle
from shared.core.errors import PermanentError
from shared.core.settings import Settings
from shared.pipeline import challenge
from tests.helpers import memory_storage

SETTINGS = Settings(challenge_digits=6, challenge_ttl_s=120)


def test_a_challenge_is_random_digits_bound_to_a_name_with_an_expiry():
    storage = memory_storage()
    issued = challenge.issue(storage, "Ann Lee", SETTINGS, now=1000.0)
    assert re.fullmatch(r"[0-9]{6}", issued.digits) and re.fullmatch(r"[0-9a-f]{32}", issued.nonce)
    assert issued.expires_at == 1120.0 and "Ann" not in str(storage.read(*_where(issued))[0])  # no name at rest
    public = issued.public("Ann Lee")
    assert public["upload_as"] == f"identify/Ann Lee/challenge-{issued.nonce}.wav"
    assert challenge.nonce_of(public["upload_as"].rsplit("/", 1)[1]) == issued.nonce
    assert len({challenge.issue(storage, "Ann Lee", SETTINGS).digits for _ in range(30)}) > 20  # not a fixed string


def _where(issued):
    return "match-state", challenge.blob_name(issued.nonce)


def test_it_works_once_in_time_for_its_name_and_a_redelivery_may_take_it_again():
    storage = memory_storage()
    issued = challenge.issue(storage, "Ann Lee", SETTINGS, now=1000.0)
    taken = challenge.take(storage, issued.nonce, "ann lee", "req-1", now=1010.0)  # the name's key, any case
    assert taken.used_by == "req-1" and taken.digits == issued.digits
    assert challenge.take(storage, issued.nonce, "Ann Lee", "req-1", now=1011.0).used_by == "req-1"
    cases = [(issued.nonce, "Ann Lee", "req-2", 1012.0, "challenge.used"),
             (issued.nonce, "Bob", "req-3", 1012.0, "challenge.wrong_speaker"),
             ("0" * 32, "Ann Lee", "req-4", 1012.0, "challenge.unknown")]
    late = challenge.issue(storage, "Ann Lee", SETTINGS, now=1000.0)
    cases.append((late.nonce, "Ann Lee", "req-5", 1120.5, "challenge.expired"))
    for nonce, name, request, now, code in cases:
        with pytest.raises(PermanentError) as caught:
            challenge.take(storage, nonce, name, request, now=now)
        assert caught.value.code == code and caught.value.hint


def test_only_file_names_that_start_with_a_nonce_name_one():
    nonce = "0123456789abcdef0123456789abcdef"
    assert challenge.nonce_of(f"challenge-{nonce}.wav") == nonce
    assert challenge.nonce_of(f"challenge-{nonce}-api-20261202T000000Z-abc123.flac") == nonce
    assert challenge.nonce_of(f"my-challenge-{nonce}.wav") is None
    assert challenge.nonce_of("challenge-0123.wav") is None and challenge.nonce_of("call.wav") is None


def test_the_api_issues_one_and_an_identify_post_names_the_upload_after_it():
    storage = memory_storage()
    base = "http://127.0.0.1:7071/api"
    answer = handle(ApiRequest("POST", "challenge/Ann Lee", base), storage, SETTINGS)
    assert answer.status == 201 and answer.headers["Cache-Control"] == "no-store"
    nonce = answer.doc["nonce"]
    assert answer.doc["post"] == f"{base}/identify?claim=Ann+Lee&challenge={nonce}"
    post = handle(ApiRequest("POST", "identify", base, params={"claim": "Ann Lee", "challenge": nonce},
                             body=b"RIFF...."), storage, SETTINGS)
    assert post.status == 202 and post.doc["blob"].startswith(f"identify/Ann Lee/challenge-{nonce}-api-")
    bad = handle(ApiRequest("POST", "identify", base, params={"claim": "Ann Lee", "challenge": "x1"}, body=b"x"),
                 storage, SETTINGS)
    assert bad.status == 400 and bad.doc["error"]["code"] == "challenge.invalid"
    search = handle(ApiRequest("POST", "identify", base, params={"challenge": nonce}, body=b"x"), storage, SETTINGS)
    assert search.status == 202 and "challenge" not in search.doc["blob"]  # 1:N: no claim to bind it to
    assert handle(ApiRequest("GET", "challenge/Ann Lee", base), storage, SETTINGS).status == 405
