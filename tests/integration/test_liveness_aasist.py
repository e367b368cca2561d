"""The project's AASIST is the published model: it reproduces the original implementation's scores on kit clips."""

from __future__ import annotations

import csv
from math import gcd

import numpy as np
import pytest
import torch

from shared.liveness import aasist
from tests.helpers import DATA, TEAM_KIT_MODELS

WEIGHTS = TEAM_KIT_MODELS / "aasist"
REFERENCE = DATA / "spoof" / "aasist_reference.tsv"


def reference_input(path) -> np.ndarray:
    """The clip as the authors feed it: soundfile float32, channels averaged, resample_poly to 16 kHz."""
    import soundfile
    from scipy.signal import resample_poly

    samples, rate = soundfile.read(path, dtype="float32")
    if samples.ndim > 1:
        samples = samples.mean(axis=1)
    if rate != aasist.SAMPLE_RATE:
        g = gcd(rate, aasist.SAMPLE_RATE)
        samples = resample_poly(samples, aasist.SAMPLE_RATE // g, rate // g).astype(np.float32)
    return samples


@pytest.fixture(scope="module")
def reference(kit) -> list[dict]:
    if not REFERENCE.is_file() or not (WEIGHTS / "AASIST.pth").is_file():
        pytest.fail(f"the team kit has no AASIST weights or reference scores ({WEIGHTS}, {REFERENCE})")
    return list(csv.DictReader(REFERENCE.open(), delimiter="\t"))


@pytest.mark.parametrize("name", ["AASIST", "AASIST-L"])
def test_the_published_weights_reproduce_the_reference_scores(reference, name):
    model = aasist.load(WEIGHTS / f"{name}.pth", WEIGHTS / f"{name}.conf")
    rows = [r for r in reference if r["model"] == name]
    assert len(rows) >= 20
    got = np.array([aasist.score(model, reference_input(DATA / r["path"])) for r in rows])
    want = np.array([float(r["score"]) for r in rows])
    assert np.max(np.abs(got - want)) <= 1e-3, list(zip([r["path"] for r in rows], got - want))
    assert len({round(float(s), 2) for s in got}) > len(rows) // 2  # real, varied outputs, not a constant


def test_loading_is_strict(kit, tmp_path):
    state = torch.load(WEIGHTS / "AASIST.pth", map_location="cpu", weights_only=True)
    state.pop("out_layer.bias")
    torch.save(state, tmp_path / "short.pth")
    with pytest.raises(RuntimeError, match="out_layer.bias"):
        aasist.load(tmp_path / "short.pth", WEIGHTS / "AASIST.conf")
    with pytest.raises(RuntimeError, match="size mismatch"):
        aasist.load(WEIGHTS / "AASIST-L.pth", WEIGHTS / "AASIST.conf")  # the other network's shapes


def test_short_clips_are_tiled_and_long_ones_cropped():
    clip = np.arange(10, dtype=np.float32)
    assert np.array_equal(aasist.crop(clip, 25), np.concatenate([clip, clip, clip[:5]]))
    assert len(aasist.crop(np.zeros(100_000, np.float32))) == aasist.INPUT_SAMPLES
    bank = aasist.sinc_filters(70, 128)
    assert bank.shape == (70, 129) and torch.allclose(bank, bank.flip(1))  # odd length, symmetric: linear phase


def test_the_asvspoof5_baseline_reproduces_its_reference_scores(kit):
    """The ASVspoof 5 baseline AASIST (the detector study's candidate) loads strictly into the same network."""
    folder = TEAM_KIT_MODELS / "aasist-asvspoof5"
    rows = list(csv.DictReader((folder / "reference.tsv").open(), delimiter="\t"))
    assert len(rows) >= 20
    model = aasist.load(folder / "AASIST-ASVspoof5.pth", folder / "AASIST-ASVspoof5.conf")
    got = np.array([aasist.score(model, reference_input(DATA / r["path"])) for r in rows])
    want = np.array([float(r["score"]) for r in rows])
    assert np.max(np.abs(got - want)) <= 1e-3, list(zip([r["path"] for r in rows], got - want))
    assert len({round(float(s), 2) for s in got}) > len(rows) // 2
