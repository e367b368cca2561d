"""Adapters from Azure Functions trigger objects to the pipeline's records.

The function folders call these and nothing else, so ``__init__.py`` files stay
one line of work each, and the same code runs under Azure and the local host.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import azure.functions as func
from opentelemetry.trace import SpanKind

from shared.api.http import ApiRequest, ApiResponse
from shared.api.routes import handle, health
from shared.core import telemetry
from shared.core.errors import PermanentError
from shared.core.hostconfig import app_host_config
from shared.core.names import split_trigger_name
from shared.core.records import BlobInput, MatchJob
from shared.core.settings import Settings
from shared.monitoring import configure
from shared.pipeline.enroll import handle_enroll
from shared.pipeline.identify import handle_identify
from shared.pipeline.match import handle_match
from shared.pipeline.poison import handle_blob_poison
from shared.pipeline.watchlist import handle_watchlist
from shared.privacy.retention import sweep
from shared.storage.azure import get_storage

log = logging.getLogger(__name__)


def blob_input(stream: func.InputStream, settings: Settings) -> BlobInput:
    """The trigger's blob as a :class:`BlobInput` (``stream.name`` is ``container/blob``).

    A blob over the size limit is not read: the pipeline rejects it by its size alone.
    """
    container, blob = split_trigger_name(stream.name or "")
    props = stream.blob_properties or {}
    size = stream.length if stream.length is not None else -1
    data = b"" if size > settings.max_audio_bytes else stream.read()
    return BlobInput(container=container, blob=blob, etag=str(props.get("ETag", "")), data=data, size=size)


def _mapped(stream: func.InputStream, settings: Settings) -> BlobInput | None:
    """The blob as a record, or None (logged) when its name has no container to answer in."""
    try:
        return blob_input(stream, settings)
    except PermanentError as err:
        log.error("blob trigger: cannot map blob %r: %s", stream.name, err.message)
        return None


@contextlib.contextmanager
def invocation(context: func.Context | None, trigger: str, parent: dict | None = None) -> Iterator[Settings]:
    """The settings, inside the invocation's span: a child of ``parent`` (a match job's trace context), else of the
    trace the Functions host started (``context.trace_context``); the invocation id goes with it."""
    settings = Settings.from_env()
    configure(settings)
    if parent is None and context is not None and getattr(context, "trace_context", None) is not None:
        traceparent = context.trace_context.trace_parent
        parent = {"traceparent": traceparent} if traceparent else None
    name = getattr(context, "function_name", None) or trigger
    with telemetry.span(name, parent=parent, kind=SpanKind.CONSUMER,
                        **{"faas.invocation_id": getattr(context, "invocation_id", None), "faas.name": name,
                           "faas.trigger": trigger}):
        yield settings


def run_enroll(stream: func.InputStream, context: func.Context | None = None) -> None:
    with invocation(context, "blob") as settings:
        inp = _mapped(stream, settings)
        if inp is not None:
            handle_enroll(inp, settings)


def run_watchlist(stream: func.InputStream, context: func.Context | None = None) -> None:
    with invocation(context, "blob") as settings:
        inp = _mapped(stream, settings)
        if inp is not None:
            handle_watchlist(inp, settings)


def run_identify(stream: func.InputStream, context: func.Context | None = None) -> list[str]:
    with invocation(context, "blob") as settings:
        inp = _mapped(stream, settings)
        return [] if inp is None else handle_identify(inp, settings)


def run_match(msg: func.QueueMessage, context: func.Context | None = None) -> None:
    body = msg.get_body()
    with invocation(context, "queue", parent=MatchJob.trace_of(body)) as settings:
        inserted = msg.insertion_time
        telemetry.queue_waited(inserted.timestamp() if inserted else None, "match-jobs")
        handle_match(body, msg.dequeue_count or 1, app_host_config().queues.max_dequeue_count, settings)


def run_retention(timer: func.TimerRequest) -> None:
    if timer.past_due:
        log.info("retention sweep is past due; running now")
    settings = Settings.from_env()
    sweep(get_storage(settings.storage_connection), settings)


def run_blob_poison(msg: func.QueueMessage) -> None:
    handle_blob_poison(msg.get_body(), get_storage(Settings.from_env().storage_connection))


def api_request(req: func.HttpRequest) -> ApiRequest:
    """Azure's request as an :class:`ApiRequest`; result URLs are built on the URL the client used."""
    from urllib.parse import urlsplit

    url = urlsplit(req.url)
    prefix = app_host_config().http.route_prefix
    return ApiRequest(method=req.method.upper(), route=(req.route_params or {}).get("route", ""),
                      base_url=f"{url.scheme}://{url.netloc}" + (f"/{prefix}" if prefix else ""),
                      params=dict(req.params), headers={k.lower(): v for k, v in req.headers.items()},
                      body=req.get_body() or b"")


def http_response(answer: ApiResponse) -> func.HttpResponse:
    return func.HttpResponse(answer.body(), status_code=answer.status, headers=answer.headers,
                             mimetype="application/json", charset="utf-8")


def run_http_api(req: func.HttpRequest) -> func.HttpResponse:
    settings = Settings.from_env()
    return http_response(handle(api_request(req), get_storage(settings.storage_connection), settings))


def run_health(req: func.HttpRequest) -> func.HttpResponse:
    settings = Settings.from_env()
    return http_response(health(get_storage(settings.storage_connection), settings))
