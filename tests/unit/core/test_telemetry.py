"""Telemetry's pure parts: the attribute allow-list, outcomes, where it goes, the trace context in a job."""

from __future__ import annotations

from shared.core import telemetry
from shared.core.records import MatchJob
from shared.monitoring import destination


def test_only_allowed_plain_attributes_pass():
    got = telemetry.clean({"voiceid.kind": "verify", "speaker": "Ann Lee", "blob": "identify/Ann Lee/x.wav",
                           "voiceid.outcome": None, "voiceid.shard": 3, "voiceid.code": ["a", "b"],
                           "embedding": [0.1, 0.2]})
    assert got == {"voiceid.kind": "verify", "voiceid.shard": 3}


def test_outcomes_say_the_decision_never_the_name():
    assert telemetry.outcome_of({"kind": "identify", "status": "ok", "decision": "Ann Lee"}) == "match"
    assert telemetry.outcome_of({"kind": "identify", "status": "ok", "decision": "unknown"}) == "unknown"
    assert telemetry.outcome_of({"kind": "verify", "status": "ok", "decision": "reject"}) == "reject"
    assert telemetry.outcome_of({"kind": "enroll", "status": "rejected"}) == "rejected"


def test_the_destination_follows_the_environment():
    assert destination({}) == "off"
    assert destination({"VOICEID_TELEMETRY": "console"}) == "console"
    assert destination({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}) == "otlp"
    assert destination({"APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=x",
                        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}) == "azure-monitor"


def test_a_job_carries_its_trace_context_and_a_bad_body_has_none():
    job = MatchJob(request_id="r", kind="identify", blob="b.wav", etag="e", shard=0, shards=(0,), model_id="m@1",
                   probe="r/probe.npy", trace={"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"})
    assert MatchJob.trace_of(job.to_json()) == job.trace
    assert MatchJob.trace_of(b"not json") is None and MatchJob.trace_of('{"kind": "identify"}') is None


def test_the_azure_monitor_distro_configures_with_the_apps_identity_and_no_library_instrumentation():
    """In a child process (it installs global providers): the distro accepts the settings infra writes."""
    import os
    import subprocess
    import sys

    code = ("import os\nfrom shared import monitoring\nfrom shared.core.settings import Settings\n"
            "print(monitoring.configure(Settings.from_env()))\n"
            "print(type(monitoring._credential()).__name__)\nos._exit(0)\n")
    env = {**os.environ, "APPLICATIONINSIGHTS_CONNECTION_STRING":
           "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/",
           "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "ClientId=11111111-1111-1111-1111-111111111111;Authorization=AAD"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["azure-monitor", "ManagedIdentityCredential"]
    from shared.monitoring import INSTRUMENTATIONS_OFF

    assert {"azure_sdk", "requests", "urllib3"} <= set(INSTRUMENTATIONS_OFF)  # a blob URL names the speaker
