"""Fixtures shared by every test folder: the team kit's real speech."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shared.core.paths import PROJECT_ROOT

DATA = PROJECT_ROOT.parent / "shared" / "data"
MULTI = DATA / "librispeech-multi"
SINGLE = DATA / "librispeech-single"


def clips(speaker: str) -> list[Path]:
    return sorted((MULTI / speaker).glob("*.flac"))


def enrol_clips(speaker: str, count: int) -> list[Path]:
    """The ``count`` longest clips of a speaker, never the last two (tests hold those back as probes)."""
    return sorted(clips(speaker)[:-2], key=lambda p: p.stat().st_size, reverse=True)[:count]


@pytest.fixture(scope="session")
def kit() -> Path:
    """The team kit's speech; CI (VOICEID_REQUIRE_KIT=1) fails instead of skipping without it."""
    if not MULTI.is_dir() or not SINGLE.is_dir():
        reason = f"team kit speech not found at {DATA} (clone with ../shared beside the checkout)"
        if os.environ.get("VOICEID_REQUIRE_KIT"):
            pytest.fail(reason)
        pytest.skip(reason)
    return DATA
