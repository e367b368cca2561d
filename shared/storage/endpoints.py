"""Is a local storage endpoint up? Answered at once, instead of after the SDK's retries."""

from __future__ import annotations

import socket
from urllib.parse import urlparse


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def local_endpoint_down(url: str) -> str | None:
    """``host:port`` of a local (127.0.0.1/localhost) endpoint nobody listens on, else None (remote or up).

    A call to a local Azurite that is not running would wait out the SDK's retries; this answers at once.
    """
    parsed = urlparse(url)
    if parsed.hostname in ("127.0.0.1", "localhost") and not port_open(parsed.port or 80, parsed.hostname):
        return f"{parsed.hostname}:{parsed.port}"
    return None
