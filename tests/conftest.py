"""Fixtures shared by every test folder: the team kit's real speech (helpers live in tests/helpers.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import DATA, MULTI, SINGLE


@pytest.fixture(scope="session")
def kit() -> Path:
    """The team kit's speech; CI (VOICEID_REQUIRE_KIT=1) fails instead of skipping without it."""
    if not MULTI.is_dir() or not SINGLE.is_dir():
        reason = f"team kit speech not found at {DATA} (clone with ../shared beside the checkout)"
        if os.environ.get("VOICEID_REQUIRE_KIT"):
            pytest.fail(reason)
        pytest.skip(reason)
    return DATA
