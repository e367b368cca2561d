"""SpeechBrain speaker encoders (ECAPA-TDNN and x-vector) through ``EncoderClassifier``.

The source is a Hugging Face hub id or a local folder holding the same files; a local
folder is loaded with ``pretrained_path`` pointing at itself, so nothing is fetched.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shared.core.errors import TransientError
from shared.core.settings import Settings, resolve_model_source
from shared.embedding.embedder import Embedder, weights_version


class SpeechBrainEmbedder(Embedder):
    """ECAPA (``VOICEID_MODEL=ecapa``) or x-vector (``xvector``): one loader, one call."""

    def __init__(self, settings: Settings):
        super().__init__(settings)
        from speechbrain.inference.speaker import EncoderClassifier

        source = resolve_model_source(settings)
        local = Path(source).expanduser()
        name = local.name if local.is_dir() else source.rstrip("/").split("/")[-1]
        savedir = Path(settings.model_cache).expanduser() / name
        kwargs: dict = {"source": str(local) if local.is_dir() else source, "savedir": str(savedir),
                        "run_opts": {"device": self.device}}
        if local.is_dir():
            kwargs["overrides"] = {"pretrained_path": str(local)}
        try:
            self._model = EncoderClassifier.from_hparams(**kwargs)
        except (OSError, ValueError) as exc:  # hub unreachable, folder incomplete
            raise TransientError(
                f"cannot load the speaker model from {source!r}: {exc}",
                code="model.unavailable",
                hint="Set VOICEID_MODEL_SOURCE to a local model folder or a reachable hub id.",
            ) from exc
        self._model.eval()
        self._loaded(name, weights_version((local if local.is_dir() else savedir) / "embedding_model.ckpt"))

    def embed_whole(self, samples: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            wav = torch.from_numpy(np.ascontiguousarray(samples)).unsqueeze(0).to(self.device)
            emb = self._model.encode_batch(wav, torch.ones(1, device=self.device))
        return emb.squeeze().float().cpu().numpy()

    def embed_whole_with_taps(self, samples: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """ECAPA's taps: ``ecapa`` (the unit embedding of this window), ``ecapa_stats`` (its attentive pooled statistics) and ``logmel`` (mean, std of its input).

        Read with forward hooks on the same call, so they are exactly what the embedding was made from.
        x-vector has no attentive pooling and returns no taps.
        """
        pooling = getattr(self._model.mods.embedding_model, "asp", None)
        if pooling is None:
            return self.embed_whole(samples), {}
        seen: dict = {}
        hooks = [pooling.register_forward_hook(lambda m, i, o: seen.__setitem__("asp", o)),
                 self._model.mods.compute_features.register_forward_hook(lambda m, i, o: seen.__setitem__("fbank", o))]
        try:
            vec = self.embed_whole(samples)
        finally:
            for hook in hooks:
                hook.remove()
        fbank = seen["fbank"][0].float().cpu().numpy()
        return vec, {"ecapa": vec / max(float(np.linalg.norm(vec)), 1e-12), "ecapa_stats": seen["asp"].squeeze().float().cpu().numpy(),
                     "logmel": np.concatenate([fbank.mean(axis=0), fbank.std(axis=0)])}
