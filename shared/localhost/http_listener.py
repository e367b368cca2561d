"""HTTP triggers on the local host: the routes of every ``httpTrigger`` under ``/<routePrefix>``.

What Azure's front end does before a function runs, done here the same way: match the route
template (literal segments before parameters, a catch-all last), check the method, check the
key for ``authLevel: function`` (``x-functions-key`` header or ``code`` query; function or host
keys; ``admin`` takes the master key only) and answer 401 without running the function when it
is wrong; bound the body (413) and the requests in flight (429). The request line is logged
without its query string, so a ``code=`` key never reaches a log.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

import azure.functions as func

from shared.api.http import HTTP_BODY_LIMIT
from shared.core.hostconfig import HttpOptions
from shared.localhost.functionkeys import FunctionKeys, presented_key
from shared.localhost.functions import FunctionSpec
from shared.storage.base import Storage

log = logging.getLogger("voiceid.host.http")
SEGMENT = re.compile(r"^\{(\*?)([A-Za-z_]\w*)(\?)?(?::[^}]*)?\}$")


@dataclass(frozen=True)
class Route:
    """One function's route template, compiled."""

    spec: FunctionSpec
    pattern: re.Pattern
    literals: int
    catch_all: bool
    methods: frozenset[str]
    auth_level: str

    @classmethod
    def of(cls, spec: FunctionSpec) -> Route:
        template = spec.trigger.get("route") or spec.name
        parts, literals, catch_all = [], 0, False
        for seg in template.strip("/").split("/"):
            m = SEGMENT.match(seg)
            if not m:
                parts.append("/" + re.escape(seg))
                literals += 1
            elif m.group(1):
                parts.append(f"(?:/(?P<{m.group(2)}>.*))?")
                catch_all = True
            elif m.group(3):
                parts.append(f"(?:/(?P<{m.group(2)}>[^/]+))?")
            else:
                parts.append(f"/(?P<{m.group(2)}>[^/]+)")
        methods = frozenset(x.upper() for x in spec.trigger.get("methods") or ())  # none: any
        return cls(spec, re.compile("^" + "".join(parts) + "/?$", re.DOTALL), literals, catch_all, methods,
                   spec.trigger.get("authLevel", "function").lower())

    def allows(self, method: str) -> bool:
        return not self.methods or method in self.methods

    def match(self, path: str) -> dict[str, str] | None:
        m = self.pattern.match("/" + path.strip("/") if path.strip("/") else "")
        return None if m is None else {k: v for k, v in m.groupdict().items() if v is not None}


def order(routes: list[Route]) -> list[Route]:
    """Literal routes win over templated ones, and a catch-all is tried last (ASP.NET's precedence)."""
    return sorted(routes, key=lambda r: (r.catch_all, -r.literals))


class HttpListener:
    """A threaded HTTP server that turns requests into ``func.HttpRequest`` and calls ``main``."""

    def __init__(self, specs: list[FunctionSpec], storage: Storage, options: HttpOptions, port: int,
                 host_id: str, bind: str = "127.0.0.1"):
        self.routes = order([Route.of(s) for s in specs])
        self.options = options
        self.keys = FunctionKeys(storage, host_id)
        self.slots = threading.BoundedSemaphore(options.max_concurrent_requests)
        self.in_flight = 0
        self.lock = threading.Lock()
        self.port = port
        self.server = ThreadingHTTPServer((bind, port), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2},
                                       daemon=True, name="listen-http")

    def start(self) -> HttpListener:
        self.thread.start()
        return self

    def stop(self) -> None:
        """No new requests (the socket closes); requests in flight go on."""
        self.server.shutdown()
        self.server.server_close()

    def drain(self, deadline: float) -> int:
        while self.in_flight and time.time() < deadline:
            time.sleep(0.05)
        return self.in_flight

    def find(self, path: str, method: str) -> tuple[Route, dict[str, str]] | set[str]:
        """The route and its parameters; else the methods the path allows (empty: no route has the path)."""
        allowed: set[str] = set()
        for route in self.routes:
            params = route.match(path)
            if params is not None:
                if route.allows(method):
                    return route, params
                allowed |= route.methods
        return allowed

    def authorized(self, route: Route, headers: dict[str, str], query: dict[str, str]) -> bool:
        if route.auth_level == "anonymous":
            return True
        name = self.keys.authorize(route.spec.name, presented_key(headers, query))
        return name is not None and (route.auth_level != "admin" or name == "master")

    def serve(self, method: str, target: str, headers: dict[str, str], read_body) -> tuple[int, dict, bytes]:
        """One request -> (status, headers, body). ``read_body(limit)`` reads it (None when over the limit)."""
        url = urlsplit(target)
        prefix = "/" + self.options.route_prefix if self.options.route_prefix else ""
        path = unquote(url.path)
        if not (path == prefix or path.startswith(prefix + "/")):
            return 404, {}, b""
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        found = self.find(path[len(prefix):], method)
        if isinstance(found, set):
            return (405, {"Allow": ", ".join(sorted(found))}, b"") if found else (404, {}, b"")
        route, params = found
        if not self.authorized(route, headers, query):
            return 401, {}, b""
        body = read_body(HTTP_BODY_LIMIT)
        if body is None:
            return 413, {}, b""
        req = func.HttpRequest(method, f"http://{headers.get('host', f'127.0.0.1:{self.port}')}{target}",
                               headers=headers, params=query, route_params=params, body=body)
        with self.slots:
            answer = route.spec.main(**{route.spec.trigger["name"]: req})
        headers = dict(answer.headers)
        if answer.mimetype and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = answer.mimetype + (f"; charset={answer.charset}" if answer.charset else "")
        return answer.status_code, headers, answer.get_body() or b""


def _handler(listener: HttpListener) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "voiceid-localhost"

        def _any(self) -> None:
            started = time.monotonic()
            self._consumed = False
            with listener.lock:
                listener.in_flight += 1
                busy = listener.in_flight > listener.options.max_outstanding_requests
            try:
                status, headers, body = (429, {"Retry-After": "1"}, b"") if busy else self._serve()
            except Exception:
                log.exception("%s %s: the function failed", self.command, _route_name(self.path))
                status, headers, body = 500, {}, b""
            finally:
                with listener.lock:
                    listener.in_flight -= 1
            if not self._consumed and (self.headers.get("Content-Length", "0") != "0"
                                       or self.headers.get("Transfer-Encoding")):
                self.close_connection = True  # an unread body must not be taken for the next request
            self._reply(status, headers, body)
            log.info("%s %s -> %d (%.0f ms)", self.command, _route_name(self.path), status,
                     (time.monotonic() - started) * 1000)

        def _serve(self) -> tuple[int, dict, bytes]:
            headers = {k.lower(): v for k, v in self.headers.items()}
            return listener.serve(self.command, self.path, headers, self._read_body)

        def _read_body(self, limit: int) -> bytes | None:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                body = self._read_chunked(limit)
            else:
                raw = self.headers.get("Content-Length") or "0"
                length = int(raw) if raw.isdigit() else limit + 1  # unreadable length: refuse, never guess
                if length > limit:
                    return None
                body = self.rfile.read(length) if length > 0 else b""
            self._consumed = body is not None
            return body

        def _read_chunked(self, limit: int) -> bytes | None:
            data = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(data)
                if len(data) + size > limit:
                    return None
                data += self.rfile.read(size)
                self.rfile.readline()

        def _reply(self, status: int, headers: dict, body: bytes) -> None:
            self.send_response(status)
            for k, v in headers.items():
                if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
            pass  # _any logs each request without its query string (a code= key must never be logged)

        def __getattr__(self, name: str):
            if name.startswith("do_"):  # every method reaches the routes (else http.server answers 501)
                return self._any
            raise AttributeError(name)

    return Handler


def _route_name(target: str) -> str:
    """``/api/speakers/Ann%20Lee?code=...`` -> ``/api/speakers/…``: no query, no names in the log."""
    parts = urlsplit(target).path.split("/")
    return "/".join(parts[:3]) + ("/…" if len(parts) > 3 else "")
