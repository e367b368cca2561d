"""Traces and metrics through the OpenTelemetry API: what the pipeline reports, never who was speaking.

The pipeline calls this module only; which exporter (if any) receives the data is configured
once per process by :mod:`shared.monitoring` (Azure Monitor, OTLP, the console, or nothing: the
API then does nothing at all). Every input is one trace: the blob trigger's span is the root,
its context travels in each match job (``MatchJob.trace``, W3C ``traceparent``), so the match
workers' spans and the fan-in's are its children, whichever process runs them.

**No personal data**: span and metric attributes pass through :func:`clean`, an allow-list of
keys whose values are codes, kinds, counts and ids (request id, invocation id, model id);
speaker names, blob paths and embeddings have no key to travel under. ``tests/e2e/test_telemetry.py``
scans everything exported for the speaker's name, the blob's path and the embedding.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping

from opentelemetry import metrics, propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

NAME = "voiceid"
ALLOWED = frozenset({
    "voiceid.kind", "voiceid.outcome", "voiceid.status", "voiceid.code", "voiceid.stage", "voiceid.policy",
    "voiceid.model", "voiceid.band", "voiceid.request_id", "voiceid.shard", "voiceid.shards", "voiceid.queue",
    "voiceid.watchlist_hits", "voiceid.speakers", "faas.invocation_id", "faas.name", "faas.trigger",
})
STAGES = ("decode", "vad", "embed", "liveness", "match", "total")


def clean(attributes: Mapping[str, object]) -> dict[str, object]:
    """Only allowed keys with plain values (str, int, float, bool); anything else is dropped, never exported."""
    return {k: v for k, v in attributes.items()
            if k in ALLOWED and v is not None and isinstance(v, (str, int, float, bool))}


def tracer() -> trace.Tracer:
    return trace.get_tracer(NAME)


class _Instruments:
    """The product's metric instruments, made once per meter provider (``reset`` after configuring a new one)."""

    def __init__(self) -> None:
        meter = metrics.get_meter(NAME)
        self.decisions = meter.create_counter("voiceid.decisions", unit="{result}",
                                              description="result documents by kind and outcome")
        self.attacks = meter.create_counter("voiceid.liveness.attacks", unit="{input}",
                                            description="inputs the liveness check called an attack")
        self.unusable = meter.create_counter("voiceid.failures_to_acquire", unit="{input}",
                                             description="inputs refused by the audio gates (audio.* codes)")
        self.watchlist = meter.create_counter("voiceid.watchlist.matches", unit="{input}",
                                              description="inputs that matched a fraud watchlist case")
        self.latency = meter.create_histogram("voiceid.stage.duration", unit="ms",
                                              description="time per pipeline stage (decode, vad, embed, ...)")
        self.queue_age = meter.create_histogram("voiceid.queue.age", unit="s",
                                                description="how long a match job waited on its queue")
        self.impostor = meter.create_histogram("voiceid.score.impostor", unit="1",
                                               description="calibrated score of the best non-matching speaker: "
                                                           "its mean and spread drift when the channel changes")
        self.calibration = meter.create_histogram("voiceid.gallery.impostor_fit", unit="1",
                                                  description="the gallery statistics' impostor mean and spread "
                                                              "(voiceid.stage = mean or std) a result was scored with")


_instruments: _Instruments | None = None


def instruments() -> _Instruments:
    global _instruments
    if _instruments is None:
        _instruments = _Instruments()
    return _instruments


def reset() -> None:
    """Forget the instruments (after :mod:`shared.monitoring` installs a new meter provider)."""
    global _instruments
    _instruments = None


def carrier() -> dict[str, str]:
    """The current trace context as W3C headers (``traceparent``), to put in a queue message."""
    out: dict[str, str] = {}
    propagate.inject(out)
    return out


@contextlib.contextmanager
def span(name: str, parent: Mapping[str, str] | None = None, kind: SpanKind = SpanKind.INTERNAL,
         **attributes: object) -> Iterator[Span]:
    """A span named ``name`` (child of ``parent``'s context when given, else of the current one); a raised
    error marks it failed with its type only (the message may name a speaker). ``kind`` CONSUMER for a
    function invocation: Application Insights lists those as requests, the inner spans as dependencies."""
    context = propagate.extract(dict(parent)) if parent else None
    with tracer().start_as_current_span(name, context=context, kind=kind, attributes=clean(attributes),
                                        record_exception=False, set_status_on_exception=False) as current:
        try:
            yield current
        except BaseException as exc:
            current.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            current.set_attribute("voiceid.code", getattr(exc, "code", type(exc).__name__))
            raise


def annotate(**attributes: object) -> None:
    """Add allowed attributes to the current span."""
    trace.get_current_span().set_attributes(clean(attributes))


def outcome_of(doc: Mapping) -> str:
    """A result's outcome for metrics: the verify decision, ``match``/``unknown`` for identify, else the status."""
    if doc.get("status") != "ok":
        return doc.get("status", "error")
    if doc["kind"] == "verify":
        return doc.get("decision") or "reject"
    if doc["kind"] == "identify":
        return "unknown" if doc.get("decision") == "unknown" else "match"
    return "ok"


def _impostor_score(doc: Mapping) -> float | None:
    """The best score of a speaker the result did not decide for: an impostor's, for the drift signal."""
    if doc["kind"] == "identify":
        others = [c["score"] for c in doc.get("candidates") or [] if c.get("speaker") != doc.get("decision")]
        return max(others) if others else None
    if doc["kind"] == "verify" and doc.get("decision") == "reject" and doc.get("score") is not None:
        return float(doc["score"])
    return None


def result_written(doc: Mapping) -> None:
    """Count one result document: decision, attack, failure to acquire, watchlist match, stage times, drift."""
    got = instruments()
    kind, error = doc["kind"], doc.get("error") or {}
    base = {"voiceid.kind": kind}
    got.decisions.add(1, clean({**base, "voiceid.outcome": outcome_of(doc), "voiceid.code": error.get("code")}))
    if (doc.get("liveness") or {}).get("decision") == "attack":
        got.attacks.add(1, clean({**base, "voiceid.policy": doc["liveness"].get("policy")}))
    if str(error.get("code", "")).startswith("audio."):
        got.unusable.add(1, clean({**base, "voiceid.code": error["code"]}))
    if doc.get("watchlist"):
        got.watchlist.add(1, clean(base))
    for stage in STAGES:
        value = (doc.get("timings_ms") or {}).get(stage)
        if isinstance(value, (int, float)):
            got.latency.record(float(value), clean({**base, "voiceid.stage": stage}))
    impostor = _impostor_score(doc)
    if impostor is not None:
        got.impostor.record(impostor, clean({**base, "voiceid.model": doc.get("model_id"),
                                             "voiceid.band": (doc.get("audio") or {}).get("band")}))
    fit = doc.get("calibration") or {}
    for part in ("mean", "std"):
        if isinstance(fit.get(part), (int, float)):
            got.calibration.record(float(fit[part]), clean({"voiceid.model": doc.get("model_id"),
                                                            "voiceid.stage": part}))
    annotate(**{"voiceid.outcome": outcome_of(doc), "voiceid.status": doc.get("status"),
                "voiceid.code": error.get("code"), "voiceid.watchlist_hits": len(doc.get("watchlist") or [])})


def queue_waited(inserted_at: float | None, queue: str) -> None:
    """A queue message's age when its worker started (``inserted_at``: Unix time)."""
    if inserted_at:
        instruments().queue_age.record(max(0.0, time.time() - inserted_at), clean({"voiceid.queue": queue}))
