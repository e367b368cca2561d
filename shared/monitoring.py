"""Where the telemetry of :mod:`shared.core.telemetry` goes, configured once per process.

- ``APPLICATIONINSIGHTS_CONNECTION_STRING`` set (infra/main.bicep sets it, with
  ``APPLICATIONINSIGHTS_AUTHENTICATION_STRING`` naming the app's managed identity): the Azure
  Monitor OpenTelemetry distro, which authenticates with that identity. Its library
  instrumentations are off (a storage call's URL names the speaker) and so is its log
  collection (the Functions host ships logs itself): only the product's own spans and metrics.
- else ``OTEL_EXPORTER_OTLP_ENDPOINT`` set: OTLP over HTTP to that collector (Jaeger, Grafana
  Alloy, an OpenTelemetry Collector), with the standard ``OTEL_*`` variables.
- else ``VOICEID_TELEMETRY=console``: spans and metrics printed to stderr (a laptop).
- else nothing: the OpenTelemetry API stays a no-op and costs nothing.

A gauge of the ``match-jobs`` queue's length (and its poison queue's) is registered with the
meter, read each export interval.
"""

from __future__ import annotations

import logging
import os
import threading

from opentelemetry import metrics, trace

from shared.core import contract, telemetry
from shared.core.settings import Settings

log = logging.getLogger(__name__)
_lock = threading.Lock()
_configured: str | None = None


def destination(env: dict[str, str] | None = None) -> str:
    """``azure-monitor``, ``otlp``, ``console`` or ``off``, from the environment."""
    env = os.environ if env is None else env
    if env.get("APPLICATIONINSIGHTS_CONNECTION_STRING"):
        return "azure-monitor"
    if env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return "otlp"
    return "console" if env.get("VOICEID_TELEMETRY", "").lower() == "console" else "off"


def _credential():
    """The managed identity ``APPLICATIONINSIGHTS_AUTHENTICATION_STRING`` names (``ClientId=...;Authorization=AAD``)."""
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    parts = dict(p.split("=", 1) for p in os.environ.get("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "").split(";")
                 if "=" in p)
    client_id = parts.get("ClientId") or os.environ.get("AZURE_CLIENT_ID")
    return ManagedIdentityCredential(client_id=client_id) if client_id else DefaultAzureCredential()


# The distro would trace every storage call, and a blob URL names the speaker: only the product's own spans go out.
INSTRUMENTATIONS_OFF = ("azure_sdk", "django", "fastapi", "flask", "httpx", "httpx2", "psycopg2", "requests", "urllib",
                        "urllib3")


def _azure_monitor() -> None:
    from azure.monitor.opentelemetry import configure_azure_monitor

    configure_azure_monitor(credential=_credential(), enable_live_metrics=False, disable_logging=True,
                            instrumentation_options={name: {"enabled": False} for name in INSTRUMENTATIONS_OFF})


def _sdk(span_exporter, metric_exporter) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "voiceid")})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(span_exporter))
    trace.set_tracer_provider(provider)
    metrics.set_meter_provider(MeterProvider(resource=resource,
                                             metric_readers=[PeriodicExportingMetricReader(metric_exporter)]))


def configure(settings: Settings) -> str:
    """Install the exporter the environment asks for (once per process); returns where telemetry goes."""
    global _configured
    with _lock:
        if _configured is not None:
            return _configured
        where = destination()
        try:
            if where == "azure-monitor":
                _azure_monitor()
            elif where == "otlp":
                from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
                    OTLPMetricExporter,
                )
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                    OTLPSpanExporter,
                )

                _sdk(OTLPSpanExporter(), OTLPMetricExporter())
            elif where == "console":
                from opentelemetry.sdk.metrics.export import ConsoleMetricExporter
                from opentelemetry.sdk.trace.export import ConsoleSpanExporter

                _sdk(ConsoleSpanExporter(), ConsoleMetricExporter())
        except Exception as exc:  # noqa: BLE001 - telemetry must never stop the pipeline
            log.error("telemetry to %s could not be configured (%s); running without it", where,
                      type(exc).__name__)
            where = "off"
        telemetry.reset()
        if where != "off":
            watch_queues(settings)
        _configured = where
        log.info("telemetry: %s", where)
        return where


def watch_queues(settings: Settings) -> None:
    """Observable gauges: the length of the match-jobs queue and of its poison queue, read at each export."""
    from opentelemetry.metrics import Observation

    from shared.storage.azure import get_storage

    def observe(_options):
        storage = get_storage(settings.storage_connection)
        for queue in (contract.MATCH_QUEUE, contract.MATCH_QUEUE + contract.POISON_SUFFIX):
            try:
                yield Observation(storage.queue_length(queue), telemetry.clean({"voiceid.queue": queue}))
            except Exception:  # noqa: BLE001 - storage down: no reading this interval
                continue

    metrics.get_meter(telemetry.NAME).create_observable_gauge(
        "voiceid.queue.depth", callbacks=[observe], unit="{message}", description="messages waiting on the queue")
