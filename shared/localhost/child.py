"""Child processes the tools start (Azurite, the local host): wait until ready, stop politely."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def wait_ready(process: subprocess.Popen, ready: Callable[[], bool], *, what: str, log_path: Path,
               timeout_s: float) -> None:
    """Return once ``ready()``; raise with the log's path if the child dies or takes too long."""
    deadline = time.time() + timeout_s
    while not ready():
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}; see {log_path}")
        if time.time() > deadline:
            stop(process)
            raise TimeoutError(f"{what} was not ready within {timeout_s:.0f} s; see {log_path}")
        time.sleep(0.2)


def stop(process: subprocess.Popen | None, timeout_s: float = 30.0) -> int | None:
    """SIGTERM, then SIGKILL if it has not exited in time; returns the exit code."""
    if process is None:
        return None
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
