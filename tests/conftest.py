"""Fixtures shared by every test folder (the team kit's real speech), and the backend report.

Helpers live in tests/helpers.py. Tests of an embedding backend carry ``@pytest.mark.backend(NAME)``;
the run ends with one line saying which backends were exercised and, for those that were not,
why (their skip reasons). ``VOICEID_REQUIRE_BACKENDS=ecapa,resemblyzer`` (CI sets it) fails the run
when one of those was not exercised, so a backend cannot drop out of CI unnoticed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shared.core.models import MODELS
from tests.helpers import DATA, MULTI, SINGLE

_backend_runs: dict[str, dict[str, list[str]]] = {}  # backend -> outcome -> skip reasons / test ids


@pytest.fixture(scope="session")
def kit() -> Path:
    """The team kit's speech; CI (VOICEID_REQUIRE_KIT=1) fails instead of skipping without it."""
    if not MULTI.is_dir() or not SINGLE.is_dir():
        reason = f"team kit speech not found at {DATA} (clone with ../shared beside the checkout)"
        if os.environ.get("VOICEID_REQUIRE_KIT"):
            pytest.fail(reason)
        pytest.skip(reason)
    return DATA


def pytest_runtest_logreport(report) -> None:
    marker = next((m for m in getattr(report, "_backend_markers", [])), None)
    if marker is None or (report.when != "call" and not report.skipped):
        return
    outcome = "skipped" if report.skipped else ("passed" if report.passed else "failed")
    detail = report.longrepr[2] if report.skipped and isinstance(report.longrepr, tuple) else report.nodeid
    _backend_runs.setdefault(marker, {}).setdefault(outcome, []).append(str(detail))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report._backend_markers = [m.args[0] for m in item.iter_markers("backend")]


def _unexercised() -> dict[str, str]:
    """Backends with no passing test, and why (their skip reasons, or 'no test ran')."""
    out = {}
    for name in MODELS:
        runs = _backend_runs.get(name, {})
        if not runs.get("passed"):
            out[name] = "; ".join(sorted(set(runs.get("skipped", [])))) or "no test of it ran"
    return out


def pytest_terminal_summary(terminalreporter) -> None:
    if not _backend_runs:
        return
    missing = _unexercised()
    done = [n for n in MODELS if n not in missing]
    terminalreporter.write_line(f"embedding backends exercised: {', '.join(done) or 'none'}")
    for name, why in missing.items():
        terminalreporter.write_line(f"embedding backend NOT exercised: {name}: {why}")


def pytest_sessionfinish(session, exitstatus) -> None:
    required = [b for b in os.environ.get("VOICEID_REQUIRE_BACKENDS", "").split(",") if b]
    missing = {b: why for b, why in _unexercised().items() if b in required}
    if missing and _backend_runs:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        for name, why in missing.items():
            print(f"\nVOICEID_REQUIRE_BACKENDS: backend {name} was not exercised ({why})")
