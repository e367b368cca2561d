"""Start and stop the Azurite storage emulator installed in the repo's node_modules/."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
from pathlib import Path

from shared.core.paths import find_project_root
from shared.localhost.child import stop, wait_ready
from shared.storage.endpoints import port_open

log = logging.getLogger(__name__)
# Azurite's well-known development account (public, documented by Microsoft; not a secret).
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def free_port() -> int:
    """A TCP port nobody listens on now (for tests and demo hosts that run beside others)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def connection_string(blob_port: int = 10000, queue_port: int = 10001, account: str = DEV_ACCOUNT,
                      key: str = DEV_KEY) -> str:
    """Connection string for an Azurite on 127.0.0.1 with these ports (and account)."""
    return (f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};"
            f"BlobEndpoint=http://127.0.0.1:{blob_port}/{account};"
            f"QueueEndpoint=http://127.0.0.1:{queue_port}/{account};")


def azurite_binary() -> str:
    root = find_project_root()
    local = root / "node_modules" / ".bin" / "azurite" if root is not None else None
    if local is not None and local.exists():
        return str(local)
    found = shutil.which("azurite")
    if found:
        return found
    raise FileNotFoundError("Azurite is not installed: run 'make install' (it runs 'npm ci' in the repo).")


class Azurite:
    """An Azurite process with its data under ``location``; reuses one already listening."""

    def __init__(self, location: Path, blob_port: int = 10000, queue_port: int = 10001, table_port: int = 10002,
                 account: tuple[str, str] = (DEV_ACCOUNT, DEV_KEY)):
        """``account``: (name, base64 key) of the one account it serves; the well-known dev account by default."""
        self.location = Path(location)
        self.ports = (blob_port, queue_port, table_port)
        self.account = account
        self.process: subprocess.Popen | None = None

    @property
    def connection_string(self) -> str:
        return connection_string(self.ports[0], self.ports[1], *self.account)

    def start(self, timeout_s: float = 30.0) -> Azurite:
        if port_open(self.ports[0]) and port_open(self.ports[1]):
            log.info("Azurite already listening on 127.0.0.1:%d; using it", self.ports[0])
            return self
        self.location.mkdir(parents=True, exist_ok=True)
        cmd = [azurite_binary(), "--silent", "--skipApiVersionCheck", "--loose", "--disableTelemetry",
               "--location", str(self.location),
               "--blobHost", "127.0.0.1", "--blobPort", str(self.ports[0]),
               "--queueHost", "127.0.0.1", "--queuePort", str(self.ports[1]),
               "--tableHost", "127.0.0.1", "--tablePort", str(self.ports[2])]
        log_path = self.location / "azurite.log"
        with log_path.open("ab") as log_file:  # the child keeps its own copy of the descriptor
            env = None if self.account[0] == DEV_ACCOUNT else {**os.environ, "AZURITE_ACCOUNTS": ":".join(self.account)}
            self.process = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
                                            env=env)
        wait_ready(self.process, lambda: port_open(self.ports[0]) and port_open(self.ports[1]), what="Azurite",
                   log_path=log_path, timeout_s=timeout_s)
        log.info("Azurite started (pid %d), data in %s", self.process.pid, self.location)
        return self

    def stop(self) -> None:
        """Stop Azurite if this object started it."""
        stop(self.process, timeout_s=10)
        self.process = None
