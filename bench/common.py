"""Helpers the benchmark scripts share: the team kit's trials, the product's front end, the machine."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from shared.audio.decode import decode
from shared.audio.vad import Speech, detect_speech
from shared.core.paths import (
    PACKAGE_PARENT as PROJECT_ROOT,  # bench runs from a checkout
)
from shared.core.settings import Settings

KIT = PROJECT_ROOT.parent / "shared" / "data"
TRIALS = KIT / "trials"


@dataclass(frozen=True)
class Clip:
    samples: np.ndarray
    speech: Speech


def kit_files(corpora: tuple[str, ...] = ("librispeech-multi", "hyke-telephone"), each: int = 20) -> list[Path]:
    """The first ``each`` clips (sorted) of every corpus, interleaved: read speech and phone audio alike."""
    pools = [sorted((KIT / c).glob("*/*.flac"))[:each] for c in corpora]
    return [p for group in zip(*pools) for p in group]


def decoded(path: Path) -> np.ndarray:
    """A kit file's 16 kHz samples through the product's decoder (no VAD)."""
    return decode(path.read_bytes(), max_seconds=600, timeout_s=120).samples


def load_clip(path: Path) -> Clip:
    """A kit file through the product's decoder and VAD."""
    samples = decoded(path)
    return Clip(samples=samples, speech=detect_speech(samples))


def read_trials(name: str) -> list[tuple[bool, str, str]]:
    """``trials/<name>.txt`` as (target?, enrol path, test path), paths relative to the kit."""
    rows = []
    for line in (TRIALS / f"{name}.txt").read_text().splitlines():
        if line.strip():
            label, enrol, test = line.split()
            rows.append((label == "1", enrol, test))
    return rows


def model_settings(model: str, **changes) -> Settings:
    """The environment's settings with ``VOICEID_MODEL=model``: the configured source for the configured model,
    each other model's own default source."""
    env = Settings.from_env()
    return replace(env, model=model, model_source=env.model_source if model == env.model else "", **changes)


def write_results(path: Path, target_far: float, results: dict) -> None:
    """A benchmark's ``--json`` file: the machine, the operating point and the results."""
    path.write_text(json.dumps({"machine": machine(), "target_far": target_far, "results": results}, indent=2))


def machine() -> str:
    """One line describing where a benchmark ran."""
    cpu = "unknown CPU"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        cpu = next(ln.split(":", 1)[1].strip() for ln in out.splitlines() if ln.startswith("Model name"))
    except (OSError, StopIteration):
        pass
    import torch

    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads)")
