"""The HTTP API over real HTTP: the session host's 127.0.0.1 port, its Azurite, the real model on real speech."""

from __future__ import annotations

import time

import pytest
import requests

from shared.localhost.functionkeys import FunctionKeys
from shared.results import audit
from tests.helpers import clips, enrol_clips

API_SPEAKER = "API Reader 3080"


@pytest.fixture(scope="module")
def api(host, client, enrolled) -> str:
    return host.api_url


@pytest.fixture(scope="module")
def key(client) -> str:
    return FunctionKeys(client.storage).function_keys("http_api")["default"]


def call(method: str, url: str, key: str | None, **kwargs) -> requests.Response:
    headers = {**kwargs.pop("headers", {}), **({"x-functions-key": key} if key else {})}
    return requests.request(method, url, headers=headers, timeout=60, **kwargs)


def poll(url: str, key: str, timeout_s: float = 120) -> dict:
    """GET the result URL until 200, as a client does; every answer before must be 202 (pending)."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        r = call("GET", url, key)
        if r.status_code == 200:
            return r.json()
        assert r.status_code == 202, (r.status_code, r.text)
        assert r.json()["status"] == "pending" and r.headers["Retry-After"]
        time.sleep(0.3)
    raise AssertionError(f"no result at {url} after {timeout_s} s")


def post_audio(api: str, route: str, key: str, path, **params) -> requests.Response:
    return call("POST", f"{api}/{route}", key, params=params, data=path.read_bytes(),
                headers={"Content-Type": "audio/flac"})


def test_health_needs_no_key_and_every_other_route_does(api, key, host):
    health = requests.get(f"{api}/health", timeout=30)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert health.headers["Content-Type"].startswith("application/json")
    for method, route in (("GET", "speakers"), ("GET", "speakers/1998"), ("DELETE", "speakers/1998"),
                          ("POST", "identify"), ("POST", "enroll/x"), ("GET", "results/identify/a.json"),
                          ("GET", "openapi.json"), ("POST", "challenge/1998")):
        assert call(method, f"{api}/{route}", None).status_code == 401, route
        assert call(method, f"{api}/{route}", "wrong-" + key).status_code == 401, route
    assert requests.get(f"{api}/speakers", params={"code": key}, timeout=30).status_code == 200
    master = FunctionKeys(host_storage(host)).host_keys()["master"]
    assert call("GET", f"{api}/speakers", master).status_code == 200
    assert key not in host.log_text(), "a function key reached the host log"


def host_storage(host):
    from shared.storage.azure import get_storage

    return get_storage(host.env["AzureWebJobsStorage"])


def test_speakers_are_paged_and_never_show_embeddings(api, key, enrolled):
    first = call("GET", f"{api}/speakers", key, params={"limit": 3}).json()
    assert len(first["speakers"]) == 3 and first["total"] >= 10
    seen, page = [], first
    while True:
        seen += [s["key"] for s in page["speakers"]]
        if page["next"] is None:
            break
        page = call("GET", page["next"], key).json()
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == first["total"]
    one = call("GET", f"{api}/speakers/1998", key)
    assert one.status_code == 200
    doc = one.json()
    assert doc["speaker"] == "1998" and doc["voiceprints"] == 3 and len(doc["enrolments"]) == 3
    assert doc["net_speech_s"] == pytest.approx(sum(e["net_speech_s"] for e in doc["enrolments"]), abs=0.05)
    assert doc["first_enrolled"] <= doc["last_enrolled"]
    assert all(e["blob"].startswith("enroll/1998/") for e in doc["enrolments"])
    text = one.text
    assert "embedding" not in text and "matrix" not in text and text.count(".") < 60  # counts and dates, no vectors
    missing = call("GET", f"{api}/speakers/nobody%20here", key)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "speaker.not_enrolled"
    assert call("GET", f"{api}/speakers", key, params={"limit": 0}).status_code == 400


def test_enrol_identify_verify_and_erase_through_the_api(api, key, client):
    accepted = [post_audio(api, f"enroll/{API_SPEAKER}", key, clip) for clip in enrol_clips("3080", 2)]
    for r in accepted:
        assert r.status_code == 202, r.text
        assert r.headers["Location"] == r.json()["result"]
        assert r.json()["blob"].startswith(f"enroll/{API_SPEAKER}/api-")
    docs = [poll(r.json()["result"], key) for r in accepted]
    assert [d["status"] for d in docs] == ["ok", "ok"] and docs[0]["speaker"] == API_SPEAKER
    detail = call("GET", f"{api}/speakers/{API_SPEAKER.lower()}", key).json()
    assert detail["speaker"] == API_SPEAKER and detail["voiceprints"] == 2

    probe = clips("1998")[-1]
    who = post_audio(api, "identify", key, probe)
    assert who.status_code == 202 and who.json()["kind"] == "identify"
    result = poll(who.json()["result"], key)
    assert result["kind"] == "identify" and result["decision"] == "1998", result
    claim = post_audio(api, "identify", key, probe, claim="1998", filename="claim check.flac")
    assert claim.json()["blob"] == "identify/1998/claim check.flac"
    assert poll(claim.json()["result"], key)["decision"] == "accept"

    gone = call("DELETE", f"{api}/speakers/{API_SPEAKER}", key)
    assert gone.status_code == 200 and gone.json()["found"] is True
    assert gone.json()["removed"]["voiceprints"] == 2 and gone.json()["removed"]["enroll_blobs"] == 2
    assert call("GET", f"{api}/speakers/{API_SPEAKER}", key).status_code == 404
    assert call("GET", accepted[0].json()["result"], key).status_code == 404  # its result went with it
    again = call("DELETE", f"{api}/speakers/{API_SPEAKER}", key)
    assert again.status_code == 200 and again.json()["found"] is False
    deletes = [e for e in audit.read(client.storage) if e["action"] == "delete" and e.get("speaker") == API_SPEAKER]
    assert [e["actor"] for e in deletes] == ["http-api", "http-api"]


def test_bad_requests_get_clear_json_errors(api, key, client):
    empty = call("POST", f"{api}/identify", key, data=b"")
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "audio.empty"
    limit = client.settings.max_audio_bytes
    big = call("POST", f"{api}/enroll/Big", key, data=b"\0" * (limit + 1))
    assert big.status_code == 413 and big.json()["error"]["hint"]
    reserved = call("POST", f"{api}/enroll/unknown", key, data=b"RIFF")
    assert reserved.status_code == 400 and reserved.json()["error"]["code"] == "name.reserved"
    control = call("POST", f"{api}/enroll/a%07b", key, data=b"RIFF")
    assert control.status_code == 400 and control.json()["error"]["code"] == "name.invalid"
    bad_name = call("POST", f"{api}/identify", key, params={"filename": "../x"}, data=b"RIFF")
    assert bad_name.status_code == 400
    wrong = call("PUT", f"{api}/speakers", key)
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "GET"
    assert call("GET", f"{api}/nothing/here", key).status_code == 404
    assert call("GET", f"{api}/results/gallery/x.json", key).status_code == 404
    assert call("GET", f"{api}/results/identify/never-uploaded.wav.json", key).status_code == 404


def test_junk_through_the_api_gets_a_rejected_result(api, key):
    r = call("POST", f"{api}/identify", key, data=b"this is not audio at all" * 100,
             headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 202
    doc = poll(r.json()["result"], key)
    assert doc["status"] == "rejected" and doc["error"]["code"].startswith("audio.")


def test_openapi_document_is_served_and_matches_docs(api, key):
    import json

    from tests.helpers import PROJECT_ROOT

    served = call("GET", f"{api}/openapi.json", key).json()
    assert served == json.loads((PROJECT_ROOT / "docs" / "openapi.json").read_text())
    assert set(served["paths"]) == {"/health", "/speakers", "/speakers/{name}", "/enroll/{name}", "/identify",
                                    "/results/{path}", "/openapi.json", "/challenge/{name}", "/watchlist",
                                    "/watchlist/{case}", "/reviews", "/reviews/{id}/{answer}"}
