"""Adapters from Azure Functions trigger objects to the pipeline's records.

The function folders call these and nothing else, so ``__init__.py`` files stay
one line of work each, and the same code runs under Azure and the local host.
"""

from __future__ import annotations

import logging

import azure.functions as func

from .enroll import handle_enroll
from .errors import PermanentError
from .hostconfig import app_host_config
from .identify import handle_identify
from .matching import handle_match
from .names import split_trigger_name
from .pipeline import BlobInput
from .settings import Settings

log = logging.getLogger(__name__)


def blob_input(stream: func.InputStream) -> BlobInput:
    """The trigger's blob as a :class:`BlobInput` (``stream.name`` is ``container/blob``)."""
    container, blob = split_trigger_name(stream.name or "")
    props = stream.blob_properties or {}
    return BlobInput(container=container, blob=blob, etag=str(props.get("ETag", "")), data=stream.read())


def run_enroll(stream: func.InputStream) -> None:
    try:
        inp = blob_input(stream)
    except PermanentError as err:
        log.error("enroll trigger: cannot map blob %r: %s", stream.name, err.message)
        return
    handle_enroll(inp, Settings.from_env())


def run_identify(stream: func.InputStream) -> list[str]:
    try:
        inp = blob_input(stream)
    except PermanentError as err:
        log.error("identify trigger: cannot map blob %r: %s", stream.name, err.message)
        return []
    return handle_identify(inp, Settings.from_env())


def run_match(msg: func.QueueMessage) -> None:
    handle_match(msg.get_body(), msg.dequeue_count or 1, app_host_config().queues.max_dequeue_count,
                 Settings.from_env())
