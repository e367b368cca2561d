"""Discover function folders and invoke their ``main`` with Azure's binding objects."""

from __future__ import annotations

import base64
import importlib
import inspect
import json
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import azure.functions as func

from shared.storage.base import Storage


class Out(func.Out):
    """The value holder an output binding receives (as the Python worker passes it)."""

    def __init__(self) -> None:
        self._value: Any = None

    def set(self, val: Any) -> None:
        self._value = val

    def get(self) -> Any:
        return self._value


@dataclass(frozen=True)
class LocalTraceContext:
    """No upstream trace locally: the invocation's span starts a new trace (Azure's ``TraceContext`` shape)."""

    trace_parent: str = ""
    trace_state: str = ""
    attributes: tuple = ()


class LocalContext(func.Context):
    """What the Python worker passes as ``context``: a fresh invocation id per call, the function's name."""

    def __init__(self, spec: FunctionSpec):
        self._id, self._spec = str(uuid.uuid4()), spec

    invocation_id = property(lambda self: self._id)
    function_name = property(lambda self: self._spec.name)
    function_directory = property(lambda self: self._spec.name)
    trace_context = property(lambda self: LocalTraceContext())
    retry_context = property(lambda self: None)
    thread_local_storage = property(lambda self: threading.local())


@dataclass(frozen=True)
class FunctionSpec:
    """One function folder: its trigger, its output bindings and its ``main``."""

    name: str
    trigger: dict
    outputs: tuple[dict, ...]
    main: Any
    wants_context: bool = False  # main() takes ``context`` (func.Context), as the Python worker allows

    @property
    def function_id(self) -> str:
        """The id Azure uses in blob receipts and poison messages."""
        return f"Host.Functions.{self.name}"


def discover(app_root: Path) -> list[FunctionSpec]:
    """Every folder of ``app_root`` with a ``function.json``, imported and checked."""
    if str(app_root) not in sys.path:
        sys.path.insert(0, str(app_root))
    specs = []
    for fj in sorted(app_root.glob("*/function.json")):
        config = json.loads(fj.read_text())
        if config.get("disabled"):
            continue
        bindings = config["bindings"]
        triggers = [b for b in bindings if b["type"].endswith("Trigger")]
        if len(triggers) != 1:
            raise ValueError(f"{fj}: expected exactly one trigger binding, found {len(triggers)}")
        module = importlib.import_module(fj.parent.name)
        main = getattr(module, config.get("entryPoint", "main"))
        params = set(inspect.signature(main).parameters)
        names = {b["name"] for b in bindings if b["name"] != "$return"}  # $return is main()'s return value
        if params - {"context"} != names:
            raise ValueError(f"{fj}: main() parameters {sorted(params)} must equal binding names {sorted(names)} "
                             "(and may add context)")
        outputs = tuple(b for b in bindings if b.get("direction") == "out" and b["name"] != "$return")
        specs.append(FunctionSpec(name=fj.parent.name, trigger=triggers[0], outputs=outputs, main=main,
                                  wants_context="context" in params))
    return specs


def encode_message(text: str, encoding: str) -> str:
    """A queue message body as the Functions host writes it (``messageEncoding``)."""
    if encoding == "base64":
        return base64.b64encode(text.encode("utf-8")).decode("ascii")
    return text


def decode_message(content: str, encoding: str) -> bytes:
    if encoding == "base64":
        return base64.b64decode(content)
    return content.encode("utf-8")


class QueueWatcher:
    """Azure's ``SharedQueueWatcher``: a message sent by this host's output binding wakes the
    host's own listener on that queue at once, instead of after its empty-poll back-off
    (up to ``maxPollingInterval``). Messages from elsewhere still wait for the next poll."""

    def __init__(self) -> None:
        self._events: dict[str, threading.Event] = {}

    def event(self, queue: str) -> threading.Event:
        return self._events.setdefault(queue, threading.Event())

    def notify(self, queue: str) -> None:
        if queue in self._events:
            self._events[queue].set()

    def wake_all(self) -> None:
        for event in self._events.values():
            event.set()


def wait_until(done, deadline: float, poll_s: float = 0.1) -> bool:
    """Poll ``done()`` until it is true (True) or ``deadline`` (a ``time.time()``) passes (False)."""
    while time.time() < deadline:
        if done():
            return True
        time.sleep(poll_s)
    return bool(done())


def invoke(spec: FunctionSpec, trigger_value: Any, storage: Storage, encoding: str,
           watcher: QueueWatcher | None = None) -> None:
    """Call ``main``; only when it succeeds are its output bindings written (Azure's order)."""
    outs: dict[str, Any] = {b["name"]: Out() for b in spec.outputs}
    if spec.wants_context:
        outs["context"] = LocalContext(spec)
    spec.main(**{spec.trigger["name"]: trigger_value}, **outs)
    for binding in spec.outputs:
        value = outs[binding["name"]].get()
        if value is None:
            continue
        if binding["type"] != "queue":
            raise ValueError(f"{spec.name}: output binding type {binding['type']!r} is not supported locally")
        for item in value if isinstance(value, list) else [value]:
            text = item if isinstance(item, str) else item.decode("utf-8")
            storage.send(binding["queueName"], encode_message(text, encoding))
        if watcher is not None:
            watcher.notify(binding["queueName"])
