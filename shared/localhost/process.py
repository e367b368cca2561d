"""Run the local host as a child process (for the demo and end-to-end tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..settings import PROJECT_ROOT
from .host import READY_LINE


class HostProcess:
    """``voiceid host`` in a subprocess, logging to ``log_path``."""

    def __init__(self, connection_string: str, log_path: Path, env: dict[str, str] | None = None):
        self.env = {**os.environ, **(env or {}), "AzureWebJobsStorage": connection_string,
                    "PYTHONUNBUFFERED": "1"}
        self.log_path = Path(log_path)
        self.process: subprocess.Popen | None = None

    def start(self, timeout_s: float = 180.0) -> HostProcess:
        """Start the host and wait until it has loaded the model and listens."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        offset = self.log_path.stat().st_size
        self.process = subprocess.Popen([sys.executable, "-m", "shared.cli", "host"], cwd=PROJECT_ROOT,
                                        env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.time() + timeout_s
        while READY_LINE not in self.log_text(offset):
            if self.process.poll() is not None:
                raise RuntimeError(f"the host exited with {self.process.returncode}; see {self.log_path}")
            if time.time() > deadline:
                self.stop()
                raise TimeoutError(f"the host was not ready within {timeout_s:.0f} s; see {self.log_path}")
            time.sleep(0.2)
        return self

    def log_text(self, offset: int = 0) -> str:
        with self.log_path.open("rb") as fh:
            fh.seek(offset)
            return fh.read().decode("utf-8", "replace")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """SIGTERM, then SIGKILL if it does not exit in time; returns the exit code."""
        if not self.process:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode
