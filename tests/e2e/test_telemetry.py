"""Telemetry of a real identify: one trace from the blob trigger through every match worker to the fan-in.

The identify and its match jobs run in this process through the same entry points the host
calls (so an in-memory OpenTelemetry exporter sees them), against the session's Azurite, the
real model and kit speech; the speaker is enrolled through the running host. Then every span
and metric exported is scanned, as the secrets test scans logs, for the speaker's name, the
blob's path and the probe's embedding.
"""

from __future__ import annotations

import io
from datetime import datetime, timezone

import azure.functions as func
import numpy as np
import pytest
from azure.functions.queue import QueueMessage as FunctionQueueMessage
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.core import contract, telemetry
from shared.core.records import MatchJob
from shared.entrypoints import run_identify, run_match
from shared.localhost.functions import LocalContext, discover
from shared.storage import sealing
from tests.helpers import PROJECT_ROOT, SPLIT, forms

pytestmark = pytest.mark.e2e
SPEAKER = "Canary Quixote"
PROBE = "canary-telemetry-probe.flac"


@pytest.fixture(scope="module")
def exported():
    """In-memory exporters installed as this process's providers (nothing else in the suite installs any)."""
    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    trace.set_tracer_provider(provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    telemetry.reset()
    assert trace.get_tracer_provider() is provider, "another test installed a tracer provider first"
    return spans, reader


@pytest.fixture(scope="module")
def identified(enrolled, client, azurite, exported, monkeypatch_module):
    """Enrol the canary speaker through the host, then identify their other half in-process; the jobs' messages."""
    reader = sorted(p.name for p in SPLIT.iterdir() if p.is_dir())[48]
    doc = client.wait_result("enroll", f"{SPEAKER}/a.flac",
                             client.upload("enroll", f"{SPEAKER}/a.flac", SPLIT / reader / "a.flac"), timeout_s=180)
    assert doc["status"] == "ok", doc
    monkeypatch_module.setenv("AzureWebJobsStorage", azurite.connection_string)
    specs = {s.name: s for s in discover(PROJECT_ROOT)}
    data = (SPLIT / reader / "b.flac").read_bytes()
    stream = func.blob.InputStream(data=data, name=f"identify/{PROBE}", length=len(data), uri=f"http://x/{PROBE}",
                                   blob_properties={"ETag": '"0x8DTELEMETRY"', "Length": len(data)}, metadata={})
    messages = run_identify(stream, LocalContext(specs["identify_trigger"]))  # not uploaded: the host never sees it
    probe = MatchJob.from_json(messages[0]).probe
    got = client.storage.read(contract.MATCH_STATE, probe)
    vector = np.load(io.BytesIO(sealing.keyring().open(got[0], f"{contract.MATCH_STATE}/{probe}")))
    for text in messages:
        msg = FunctionQueueMessage(id="m", body=text.encode(), dequeue_count=1,
                                   insertion_time=datetime.now(timezone.utc))
        run_match(msg, LocalContext(specs["match_worker"]))
    result = client.storage.read_json(contract.RESULTS, contract.result_blob_name(contract.IDENTIFY, PROBE))
    return messages, vector, result


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_one_trace_runs_from_the_trigger_through_every_worker_to_the_fan_in(identified, exported):
    messages, _, result = identified
    assert result["decision"] == SPEAKER, result
    spans = exported[0].get_finished_spans()
    trigger = [s for s in spans if s.name == "identify_trigger"]
    assert len(trigger) == 1 and trigger[0].parent is None
    trace_id = trigger[0].context.trace_id
    mine = [s for s in spans if s.context.trace_id == trace_id]
    names = [s.name for s in mine]
    workers = [s for s in mine if s.name == "match_worker"]
    assert len(workers) == len(messages) >= 1 and names.count("score_shard") == len(messages)
    assert all(w.parent.span_id == trigger[0].context.span_id for w in workers)  # through the job messages
    assert {"front_end", "liveness", "watchlist"} <= set(names)
    fan_in = [s for s in mine if s.name == "fan_in"]
    assert len(fan_in) == 1 and fan_in[0].parent.span_id in {w.context.span_id for w in workers}
    ids = [s.attributes.get("faas.invocation_id") for s in [*trigger, *workers]]
    assert all(ids) and len(set(ids)) == len(ids)  # each invocation names itself
    assert fan_in[0].attributes["voiceid.outcome"] == "match"  # the result's outcome, on the span that wrote it


def _points(reader) -> dict[str, list]:
    out: dict[str, list] = {}
    for rm in reader.get_metrics_data().resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                out.setdefault(m.name, []).extend(m.data.data_points)
    return out


def test_the_metrics_count_the_decision_and_time_every_stage(identified, exported):
    points = _points(exported[1])
    decisions = {(dict(p.attributes)["voiceid.kind"], dict(p.attributes)["voiceid.outcome"]): p.value
                 for p in points["voiceid.decisions"]}
    assert decisions.get(("identify", "match"), 0) >= 1
    stages = {dict(p.attributes)["voiceid.stage"] for p in points["voiceid.stage.duration"]}
    assert {"decode", "vad", "embed", "match", "total"} <= stages
    assert sum(p.count for p in points["voiceid.queue.age"]) == len(identified[0])
    assert sum(p.count for p in points["voiceid.score.impostor"]) >= 1  # the drift signal
    fits = {dict(p.attributes)["voiceid.stage"] for p in points["voiceid.gallery.impostor_fit"]}
    assert fits == {"mean", "std"}


def test_no_name_path_or_embedding_leaves_in_telemetry(identified, exported):
    _, vector, _ = identified
    dump = "\n".join(s.to_json() for s in exported[0].get_finished_spans())
    dump += exported[1].get_metrics_data().to_json()
    canaries = {f for c in (SPEAKER, SPEAKER.casefold(), PROBE, f"identify/{PROBE}") for f in forms(c)}
    assert not [c for c in canaries if c in dump]  # the secrets test's scan: as is, URL-encoded, partial
    floats = {f"{v:.6f}" for v in vector[:8]} | {repr(float(v)) for v in vector[:8]}
    assert not [f for f in floats if f in dump]  # no part of the probe's embedding
    for s in exported[0].get_finished_spans():
        assert set(s.attributes) <= telemetry.ALLOWED, s.name
        assert all(isinstance(v, (str, int, float, bool)) for v in s.attributes.values())
