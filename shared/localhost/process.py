"""Run the local host as a child process (for the demo and end-to-end tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from shared.core.paths import project_root
from shared.localhost.azurite import free_port
from shared.localhost.child import stop, wait_ready
from shared.localhost.host import READY_LINE


class HostProcess:
    """``voiceid host`` in a subprocess, logging to ``log_path``."""

    def __init__(self, connection_string: str, log_path: Path, env: dict[str, str] | None = None):
        self.env = {**os.environ, **(env or {}), "AzureWebJobsStorage": connection_string,
                    "PYTHONUNBUFFERED": "1"}
        if not (env or {}).get("VOICEID_HOST_HTTP_PORT"):  # beside `voiceid up` or another test host
            self.env["VOICEID_HOST_HTTP_PORT"] = str(free_port())
        self.http_port = int(self.env["VOICEID_HOST_HTTP_PORT"])
        self.log_path = Path(log_path)
        self.process: subprocess.Popen | None = None

    def start(self, timeout_s: float = 180.0) -> HostProcess:
        """Start the host and wait until it has loaded the model and listens."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            offset = self.log_path.stat().st_size
            self.process = subprocess.Popen([sys.executable, "-m", "shared.cli", "host"], cwd=project_root(),
                                            env=self.env, stdout=log, stderr=subprocess.STDOUT)
        wait_ready(self.process, lambda: READY_LINE in self.log_text(offset), what="the host",
                   log_path=self.log_path, timeout_s=timeout_s)
        return self

    @property
    def api_url(self) -> str:
        """Where this host serves the HTTP API (``/api`` on its port)."""
        return f"http://127.0.0.1:{self.http_port}/api"

    def log_text(self, offset: int = 0) -> str:
        with self.log_path.open("rb") as fh:
            fh.seek(offset)
            return fh.read().decode("utf-8", "replace")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """SIGTERM, then SIGKILL if it does not exit in time; returns the exit code."""
        return stop(self.process, timeout_s)
