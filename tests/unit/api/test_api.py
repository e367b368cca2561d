"""Pure parts of the HTTP API: route templates, key lookup, upload names, the OpenAPI document."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest

from shared.api.http import ApiError
from shared.api.openapi import NAME_SCHEMA, document
from shared.api.speakers import summarize
from shared.api.uploads import result_url, stored_content_type, upload_filename
from shared.core.names import unprintable
from shared.localhost.functionkeys import new_key, presented_key
from shared.localhost.functions import FunctionSpec
from shared.localhost.http_listener import Route, order
from tests.helpers import PROJECT_ROOT


def route(name: str, template: str, methods=None, auth="function") -> Route:
    trigger = {"type": "httpTrigger", "name": "req", "route": template, "authLevel": auth}
    if methods:
        trigger["methods"] = methods
    return Route.of(FunctionSpec(name=name, trigger=trigger, outputs=(), main=None))


def test_route_templates_match_like_azure():
    catch_all = route("api", "{*route}")
    assert catch_all.match("speakers/Ann Lee") == {"route": "speakers/Ann Lee"}
    assert catch_all.match("") == {}
    assert catch_all.match("a\nb") == {"route": "a\nb"}  # decoded %0A is still a path
    items = route("items", "items/{id}/{part?}")
    assert items.match("items/7") == {"id": "7"}
    assert items.match("items/7/x") == {"id": "7", "part": "x"}
    assert items.match("items") is None and items.match("other/7") is None
    assert route("typed", "n/{id:int}").match("n/3") == {"id": "3"}


def test_literal_routes_win_over_the_catch_all():
    health, api = route("http_health", "health", ["get"], "anonymous"), route("http_api", "{*route}")
    assert [r.spec.name for r in order([api, health])] == ["http_health", "http_api"]
    assert health.allows("GET") and not health.allows("TRACE")
    assert api.allows("TRACE")  # no methods listed: every method reaches the function (it answers 405)


def test_presented_key_prefers_the_header():
    assert presented_key({"x-functions-key": "h"}, {"code": "q"}) == "h"
    assert presented_key({}, {"code": "q"}) == "q"
    assert presented_key({}, {"code": ""}) is None
    keys = {new_key() for _ in range(50)}
    assert len(keys) == 50 and all(re.fullmatch(r"[A-Za-z0-9_-]{54}", k) for k in keys)


def test_upload_filename():
    now = datetime(2026, 11, 24, 10, 15, tzinfo=timezone.utc)
    assert re.fullmatch(r"api-20261124T101500Z-[0-9a-f]{6}\.flac",
                        upload_filename({}, {"content-type": "audio/flac; x=1"}, now))
    assert upload_filename({}, {}, now).endswith(".bin")
    assert upload_filename({"filename": "call 1.wav"}, {}) == "call 1.wav"
    for bad in ("../x", "a/b", ".", "x\n", "", " lead", "ça.wav"):  # ASCII, as the OpenAPI pattern says
        with pytest.raises(ApiError) as err:
            upload_filename({"filename": bad}, {})
        assert err.value.response.status == 400


def test_result_url_carries_the_etag_and_quotes_the_name():
    url = result_url("http://h:1/api", "identify", "Ann Lee/a b.wav", '"0x1"')
    assert url == "http://h:1/api/results/identify/Ann%20Lee/a%20b.wav.json?etag=%220x1%22"


def test_summarize_counts_each_enrolment_once_across_models():
    e1 = {"voiceprint_id": "a", "speaker": "Ann", "net_speech_s": 4.0, "created_at": "2026-01-02"}
    e2 = {"voiceprint_id": "b", "speaker": "Ann", "net_speech_s": 6.5, "created_at": "2026-01-01"}
    doc = summarize([("m1", e1), ("m1", e2), ("m2", e1)])
    assert doc == {"speaker": "Ann", "voiceprints": 2, "net_speech_s": 10.5, "first_enrolled": "2026-01-01",
                   "last_enrolled": "2026-01-02", "models": ["m1", "m2"]}


def test_unprintable_names_are_found():
    assert unprintable("Ann Lee") is None and unprintable("Émile 100%") is None
    assert unprintable("a\x0fb") == "\x0f" and unprintable("x\x85") == "\x85" and unprintable("\ufffe") == "\ufffe"


def test_openapi_name_pattern_agrees_with_the_server():
    pattern = re.compile(NAME_SCHEMA["pattern"])
    for ok in ("Ann Lee", "1998", "Émile Zola 100%"):
        assert pattern.search(ok)
    for bad in (" ", "a/b", "a\x07", "\x85x"):
        assert not pattern.search(bad)


def test_docs_openapi_json_is_the_served_document():
    """docs/openapi.json is generated: `voiceid api openapi > docs/openapi.json`."""
    assert json.loads((PROJECT_ROOT / "docs" / "openapi.json").read_text()) == document()


def test_only_known_media_types_are_stored():
    assert stored_content_type({"content-type": "Audio/FLAC; rate=16000"}) == "audio/flac"
    assert stored_content_type({"content-type": "multipart/form-data"}) == "application/octet-stream"
    assert stored_content_type({}) == "application/octet-stream"


def test_the_http_api_loads_no_model():
    """The http_api function answers list and delete calls: importing its routes must not pull in torch."""
    import subprocess
    import sys

    code = "import sys, shared.api.routes; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False", done.stderr
