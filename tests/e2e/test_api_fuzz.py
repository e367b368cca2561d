"""Schemathesis against the OpenAPI document: no 5xx, and every answer as the document says.

Its own Azurite and host: the fuzzer deletes and enrols arbitrary names, and posts arbitrary
bytes as audio, which the pipeline must reject one by one without the host falling over.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shared.localhost.functionkeys import FunctionKeys
from shared.localhost.process import HostProcess
from shared.results import audit
from shared.storage.azure import get_storage
from tests.helpers import HOST_ENV, start_azurite

ST = Path(sys.executable).with_name("st")
CHECKS = "all"  # not_a_server_error plus conformance of status codes, content types, headers and bodies


@pytest.fixture(scope="module")
def fuzz_host(tmp_path_factory, kit):
    azurite = start_azurite(tmp_path_factory.mktemp("fuzz-azurite"))
    host = HostProcess(azurite.connection_string, tmp_path_factory.mktemp("fuzz-host") / "host.log",
                       env=HOST_ENV).start()
    yield host, get_storage(azurite.connection_string)
    host.stop()
    azurite.stop()


def test_schemathesis_finds_no_server_error(fuzz_host, tmp_path):
    host, storage = fuzz_host
    key = FunctionKeys(storage).function_keys("http_api")["default"]
    schema = tmp_path / "openapi.json"
    from shared.api.openapi import document

    schema.write_text(json.dumps(document()))
    run = subprocess.run([str(ST), "run", str(schema), "--url", host.api_url, "-H", f"x-functions-key: {key}",
                          "--checks", CHECKS, "--max-examples", "40", "--seed", "20261124", "--workers", "2",
                          "--generation-database", "none", "--no-color", "--request-timeout", "60",
                          # the name patterns (no '/', no control characters, 1-128 long) make Hypothesis discard
                          # many drafts; that is slow generation, not an API failure
                          "--suppress-health-check", "filter_too_much"],
                         capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and not re.search(r"(?<!\d)0 generated", run.stdout)  # not "1230 generated"
    assert host.alive(), "the host died under the fuzzer"
    assert "Traceback" not in host.log_text(), "an exception reached the host log"

    # everything the fuzzer managed to upload got a result: nothing lost, nothing retrying for ever
    uploads = [("enroll", b.name) for b in storage.list("enroll")] + [("identify", b.name)
                                                                      for b in storage.list("identify")]
    assert uploads, "the fuzzer stored no upload: the POST routes were never accepted"
    # ... or, for an enrolment of a name the fuzzer erased in the same second, was discarded with its audio
    deadline = time.time() + 300
    missing = uploads
    while missing and time.time() < deadline:
        discarded = {e["blob"] for e in audit.read(storage) if e["action"] == "discard"}
        missing = [(c, b) for c, b in missing
                   if storage.etag("results", f"{c}/{b}.json") is None and f"{c}/{b}" not in discarded]
        time.sleep(1)
    assert not missing, f"{len(missing)} uploads have no result after 5 minutes, e.g. {missing[:3]}"
    left = [b for b in discarded if storage.etag(*b.split("/", 1)) is not None]
    assert not left, f"discarded enrolments of erased names kept their audio: {left[:3]}"
